// See Trainer.h.

#include "runtime/train/Trainer.h"

#include "runtime/model/Checkpoint.h"
#include "runtime/model/Safetensors.h"
#include "runtime/model/TrainingLog.h"
#include "runtime/train/RunFiles.h"
#include "runtime/train/Session.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

namespace off::train {
namespace {

using Clock = std::chrono::steady_clock;

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// The plan's input tensor `name`: i32 of exactly `shape`, which the model's
/// B, T (and K) give: the batch loader writes that many token ids into it,
/// so any other size would be written past its end.
uint32_t inputTensor(const Session &session, PlanProgram &program, const std::string &name,
                     const std::vector<int64_t> &shape) {
  for (int64_t dim : shape)
    if (dim <= 0) {
      const plan::Model &m = session.plan().model();
      throw TrainError(session.planPath() + ": the plan's model has grad-accum " +
                       std::to_string(m.grad_accum()) + ", batch " + std::to_string(m.batch()) +
                       " and sequence " + std::to_string(m.seq()) +
                       "; each must be positive (input '" + name + "' would be " +
                       shapeText(shape) + ")");
    }
  uint32_t id = program.get(name);
  const plan::Tensor &tensor = program.tensor(id);
  std::vector<int64_t> actual(tensor.shape().begin(), tensor.shape().end());
  if (tensor.role() != plan::INPUT || tensor.dtype() != plan::I32 || actual != shape)
    throw TrainError(session.planPath() + ": input '" + name + "' must be an i32 input of " +
                     "shape " + shapeText(shape) + " (from the plan's model), but it is " +
                     plan::Role_Name(tensor.role()) + " " + plan::DType_Name(tensor.dtype()) +
                     " " + shapeText(actual));
  return id;
}

uint32_t scalarOutput(const Session &session, PlanProgram &program, const std::string &name) {
  uint32_t id = program.get(name);
  const plan::Tensor &tensor = program.tensor(id);
  if (tensor.dtype() != plan::F32 || tensor.size_bytes() != sizeof(float))
    throw TrainError(session.planPath() + ": output '" + name + "' must be one f32");
  return id;
}

/// The AdamW hyper-parameters the plan states (what the log reports and a
/// resumed run keeps): each must be a number the fp32 optimizer can use
/// (torch's ranges; eps > 0 so that a zero second moment cannot divide by
/// zero). The adam_step kernels' own attributes are checked when bound.
void checkPlanHyper(const Session &session) {
  const plan::Hyper &h = session.plan().hyper();
  auto finite32 = [](double v) { return std::isfinite(float(v)); };
  auto refuse = [&](const char *name, double value, const char *need) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    throw TrainError(session.planPath() + ": the plan's AdamW " + name + " is " + text +
                     "; it must be " + need);
  };
  if (!finite32(h.lr()) || !(float(h.lr()) > 0))
    refuse("lr", h.lr(), "a positive number finite in fp32");
  if (!finite32(h.eps()) || !(float(h.eps()) > 0))
    refuse("eps", h.eps(), "a positive number finite in fp32");
  if (!(h.beta1() >= 0 && h.beta1() < 1))
    refuse("beta1", h.beta1(), "in [0, 1)");
  if (!(h.beta2() >= 0 && h.beta2() < 1))
    refuse("beta2", h.beta2(), "in [0, 1)");
  if (!finite32(h.weight_decay()) || !(h.weight_decay() >= 0))
    refuse("weight_decay", h.weight_decay(), "a non-negative number finite in fp32");
  if (!finite32(h.max_grad_norm()) || !(h.max_grad_norm() >= 0))
    refuse("max_grad_norm", h.max_grad_norm(), "non-negative and finite in fp32 (0: no clipping)");
}

model::BatchLoader openData(const Session &session, const std::string &path,
                            model::TokenFileFormat format) {
  const plan::Model &m = session.plan().model();
  return model::BatchLoader(model::TokenFile::open(path, format), m.batch(), m.seq(),
                            uint64_t(m.vocab_size()));
}

/// --init as a file to check up front; a directory (a Hugging Face model or
/// a checkpoint step) is checked by SafetensorsSet::open instead.
std::string initFileToCheck(const std::string &initPath) {
  std::error_code error;
  return std::filesystem::is_directory(initPath, error) ? std::string() : initPath;
}

/// --init PATH; else the weights the plan names (an ONNX export's), unless
/// --seed was given; else the seed. Returns where they came from, for the
/// first progress line.
std::string initWeights(Session &session, const std::string &initPath, uint64_t seed,
                        bool seedGiven) {
  if (!initPath.empty()) {
    session.initFromFile(initPath);
    return "weights from " + initPath;
  }
  if (!seedGiven && session.hasPlanWeights()) {
    std::vector<std::string> files = session.initFromPlanWeights();
    std::string list;
    for (const std::string &file : files)
      list += (list.empty() ? "" : ", ") + file;
    return "weights from the export (" + list + ")";
  }
  session.initFromSeed(seed);
  return "weights from seed " + std::to_string(seed);
}

/// Saves the gradients handed to the optimizer in the first step run.
class GradCapture {
public:
  /// Called before adam_step kernels, which may run on several streams at once.
  void add(const std::string &name, const float *data, size_t count) {
    std::lock_guard lock(mutex_);
    grads_[name].assign(data, data + count);
  }
  void write(const std::string &path, const Session &session) const {
    std::vector<model::TensorToWrite> tensors;
    for (const model::ExpectedTensor &param : session.trainableParams()) {
      auto it = grads_.find(param.name);
      if (it == grads_.end())
        continue; // a param the step does not train
      tensors.push_back({param.name, DType::F32, param.shape, it->second.data()});
    }
    model::writeSafetensors(path, tensors, {{"content", "gradients of the first step, "
                                                        "summed over micro-batches, unclipped"}});
  }

private:
  std::mutex mutex_;
  std::map<std::string, std::vector<float>> grads_;
};

} // namespace

TrainResult train(const TrainOptions &options) {
  const std::vector<std::string> inputs = {options.planPath, options.dataPath,
                                           initFileToCheck(options.initPath)};
  checkInputFiles(inputs);
  checkOutputFiles({options.logPath, options.saveGradsPath}, inputs);
  Session session({options.backend, options.planPath, "train_step", options.threads,
                   options.checkResidency, options.nvmeDirectories,
                   options.allowUnpinned});
  PlanProgram &program = session.program();
  if (program.nvme() && !options.quiet)
    std::fprintf(stderr, "offrt train: %s\n", program.nvme()->describe().c_str());
  const plan::Model &m = session.plan().model();
  const int64_t K = m.grad_accum(), B = m.batch(), T = m.seq();
  uint32_t ids = inputTensor(session, program, "input_ids", {K, B, T});
  uint32_t targets = inputTensor(session, program, "targets", {K, B, T});
  checkPlanHyper(session);
  uint32_t lossId = scalarOutput(session, program, "loss");
  uint32_t normId = scalarOutput(session, program, "grad_norm");
  model::BatchLoader loader = openData(session, options.dataPath, options.dataFormat);
  const std::string hash = planHash(session.plan());

  model::TrainerState state;
  state.rng.seed = options.seed;
  state.planHash = hash;
  state.planFormatVersion = plan::kFormatVersion;
  // The config goes into every checkpoint: a broken one is found now, not
  // at the first save after hours of training.
  if (!options.saveDir.empty())
    model::parseJsonObject(session.configJson(), session.planPath(), "the model's config");
  std::optional<double> checkpointLr; // the lr the resumed run was trained with
  std::string resumedFrom;
  std::string weightsFrom;
  if (!options.resumeDir.empty()) {
    model::Checkpoint checkpoint = model::Checkpoint::open(options.resumeDir);
    resumedFrom = checkpoint.dir();
    const model::Json &extra = checkpoint.state().extra;
    const model::Json *batch = jsonMember(extra, "batch");
    const model::Json *seq = jsonMember(extra, "seq");
    if (batch && seq && (jsonInt64(*batch) != B || jsonInt64(*seq) != T))
      throw TrainError(checkpoint.dir() + ": saved by a run with batch " + batch->dump() +
                       " x seq " + seq->dump() + "; this plan has " +
                       std::to_string(B) + " x " + std::to_string(T) +
                       ", so its data position would mean other tokens");
    if (const model::Json *lr = jsonMember(extra, "lr"); lr && lr->is_number())
      checkpointLr = lr->get<double>();
    session.restore(checkpoint);
    state = checkpoint.state();
    if (state.planHash != hash)
      std::fprintf(stderr, "offrt train: note: %s was written with another plan (%s); "
                   "continuing with %s\n", checkpoint.dir().c_str(), state.planHash.c_str(),
                   hash.c_str());
    state.planHash = hash;
    std::fprintf(stderr, "offrt train: resumed from %s at step %llu\n", checkpoint.dir().c_str(),
                 (unsigned long long)state.step);
    weightsFrom = "weights from " + checkpoint.dir();
  } else {
    weightsFrom = initWeights(session, options.initPath, options.seed, options.seedGiven);
    session.zeroOptimizerState();
  }
  state.extra = {{"batch", int64_t(B)}, {"seq", int64_t(T)}, {"grad_accum", int64_t(K)}};

  std::unique_ptr<SaveDirLock> saveDirLock;
  if (!options.saveDir.empty()) {
    saveDirLock = std::make_unique<SaveDirLock>(
        SaveDirOptions{options.saveDir, session.checkpointBytes(), resumedFrom,
                       options.overwrite});
    if (saveDirLock->removed() && !options.quiet)
      std::fprintf(stderr, "offrt train: --overwrite: removed %zu checkpoint(s) of an earlier "
                   "run from %s\n", saveDirLock->removed(), options.saveDir.c_str());
  } else if (!options.quiet) {
    std::fprintf(stderr, "offrt train: note: no --save-dir: the trained weights will not be "
                 "saved\n");
  }

  uint64_t lastStep = options.steps;
  if (lastStep == 0) // one pass over the data
    lastStep = std::max<uint64_t>(1, loader.windowsPerEpoch() / uint64_t(K));
  if (state.step >= lastStep)
    throw TrainError("nothing to do: the run is at step " + std::to_string(state.step) +
                     " and --steps is " + std::to_string(lastStep));
  std::unique_ptr<ThreadPool> optimizerPool;
  for (const plan::Stream &stream : session.plan().streams())
    if (stream.kind() == plan::HOST_OPTIMIZER && !optimizerPool)
      optimizerPool = std::make_unique<ThreadPool>(std::max(1u, options.optimizerThreads));
  program.step().optimizerPool = optimizerPool.get();
  // A resumed run keeps the lr it was trained with unless --lr says
  // otherwise: the same command minus --lr must continue bit for bit.
  const std::optional<double> lrOverride = options.lr ? options.lr : checkpointLr;
  double lr = lrOverride.value_or(session.plan().hyper().lr());
  program.step().lr = lrOverride;
  state.extra["lr"] = lr;

  std::unique_ptr<model::JsonlLogWriter> log;
  if (!options.logPath.empty())
    log = std::make_unique<model::JsonlLogWriter>(options.logPath, !options.resumeDir.empty());
  GradCapture capture;
  if (!options.saveGradsPath.empty()) // the gradient each adam_step is about to read
    program.setBeforeKernel([&](const plan::Kernel &kernel) {
      if (kernel.op() == "adam_step" && kernel.inputs_size() >= 2)
        capture.add(program.tensor(kernel.inputs(0)).name(),
                    program.dataAs<float>(kernel.inputs(1)),
                    program.tensor(kernel.inputs(1)).size_bytes() / sizeof(float));
    });
  model::ProgressPrinter progress(state.step + 1, lastStep, stderr,
                                  std::max<uint64_t>(1, options.progressEvery));
  if (!options.quiet)
    std::fprintf(stderr, "offrt train: %s: %lld x %lld tokens x %lld micro-batch(es) per step, "
                 "steps %llu..%llu, lr %g, %s\n", options.planPath.c_str(), (long long)B,
                 (long long)T, (long long)K, (unsigned long long)(state.step + 1),
                 (unsigned long long)lastStep, lr,
                 weightsFrom.c_str());

  TrainResult result;
  auto save = [&] {
    result.lastCheckpoint = model::saveCheckpoint(
        options.saveDir, session.checkpointContents(state),
        {options.keepLast, options.maxShardBytes});
    if (!options.quiet)
      std::fprintf(stderr, "offrt train: saved %s\n", result.lastCheckpoint.c_str());
  };
  const auto runStart = Clock::now();
  const int64_t tokensPerMicroBatch = B * T;
  const uint64_t firstStep = state.step;
  while (state.step < lastStep) {
    const auto stepStart = Clock::now();
    int32_t *idData = program.dataAs<int32_t>(ids);
    int32_t *targetData = program.dataAs<int32_t>(targets);
    for (int64_t k = 0; k < K; ++k)
      loader.load(state.microBatch + uint64_t(k), idData + k * tokensPerMicroBatch,
                  targetData + k * tokensPerMicroBatch);
    program.step().optimizerStep = int64_t(state.optimizerStep) + 1;
    program.run();
    if (!options.saveGradsPath.empty() && state.step == firstStep) {
      capture.write(options.saveGradsPath, session);
      program.setBeforeKernel(nullptr);
    }
    state.microBatch += uint64_t(K);
    state.optimizerStep += 1;
    state.step += 1;
    double loss = *program.dataAs<float>(lossId);
    double gradNorm = *program.dataAs<float>(normId);
    result.losses.push_back(loss);
    double seconds = std::chrono::duration<double>(Clock::now() - stepStart).count();
    double tokensPerSecond = double(K * tokensPerMicroBatch) / seconds;
    if (log)
      log->write({state.step, loss, gradNorm, lr, tokensPerSecond, seconds * 1e3});
    if (!options.quiet)
      progress.report(state.step, loss, tokensPerSecond,
                      std::chrono::duration<double>(Clock::now() - runStart).count());
    if (!std::isfinite(loss))
      throw TrainError("the loss is " + std::to_string(loss) + " at step " +
                       std::to_string(state.step) + "; stopping (the last checkpoint is " +
                       (!result.lastCheckpoint.empty() ? result.lastCheckpoint
                        : !resumedFrom.empty()         ? resumedFrom
                                                       : std::string("none")) + ")");
    if (!options.saveDir.empty() && options.saveEvery && state.step % options.saveEvery == 0)
      save();
  }
  if (!options.saveDir.empty() && (!options.saveEvery || state.step % options.saveEvery != 0))
    save();
  result.lastStep = state.step;
  return result;
}

std::string forward(const ForwardOptions &options) {
  const std::vector<std::string> inputs = {options.planPath, options.dataPath,
                                           initFileToCheck(options.initPath)};
  checkInputFiles(inputs);
  checkOutputFiles({options.outputPath}, inputs);
  Session session({options.backend, options.planPath, "forward", options.threads,
                   options.checkResidency, options.nvmeDirectories,
                   options.allowUnpinned});
  PlanProgram &program = session.program();
  const plan::Model &model = session.plan().model();
  uint32_t ids = inputTensor(session, program, "input_ids", {model.batch(), model.seq()});
  uint32_t logits = program.get("logits");
  const plan::Tensor &logitsTensor = program.tensor(logits);
  if (logitsTensor.dtype() != plan::F32)
    throw TrainError(session.planPath() + ": output 'logits' must be f32");
  model::BatchLoader loader = openData(session, options.dataPath, options.dataFormat);
  std::string weightsFrom =
      initWeights(session, options.initPath, options.seed, options.seedGiven);
  const plan::Model &m = session.plan().model();
  std::vector<int32_t> targets(size_t(m.batch() * m.seq()));
  loader.load(options.microBatch, program.dataAs<int32_t>(ids), targets.data());
  program.run();
  const plan::Tensor &idsTensor = program.tensor(ids);
  model::writeSafetensors(
      options.outputPath,
      {{"logits", DType::F32,
        model::Shape(logitsTensor.shape().begin(), logitsTensor.shape().end()),
        program.data(logits)},
       {"input_ids", DType::I32,
        model::Shape(idsTensor.shape().begin(), idsTensor.shape().end()), program.data(ids)}},
      {{"plan", options.planPath}, {"micro_batch", std::to_string(options.microBatch)}});
  return options.outputPath + " (logits f32 " +
         shapeText(std::vector<int64_t>(logitsTensor.shape().begin(), logitsTensor.shape().end())) +
         ", input_ids i32 " +
         shapeText(std::vector<int64_t>(idsTensor.shape().begin(), idsTensor.shape().end())) +
         ", micro-batch " + std::to_string(options.microBatch) + " of " + options.dataPath +
         "; " + weightsFrom + ")";
}

} // namespace off::train
