// See Trainer.h.

#include "runtime/train/Trainer.h"

#include "runtime/common/Float16.h"
#include "runtime/common/Parallel.h"
#include "runtime/model/Checkpoint.h"
#include "runtime/model/Safetensors.h"
#include "runtime/model/TrainingLog.h"
#include "runtime/train/RunFiles.h"
#include "runtime/train/Session.h"
#include "runtime/train/StopSignals.h"
#include "runtime/train/TierReport.h"
#include "runtime/train/UpdateGuard.h"

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
  /// A bf16 gradient (bf16-mixed plans) is saved as its exact f32 value.
  void add(const std::string &name, DType dtype, const void *data, size_t count) {
    std::lock_guard lock(mutex_);
    std::vector<float> &grad = grads_[name];
    grad.resize(count);
    convertToFloat32(dtype, data, count, grad.data());
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

/// --profile's JSON: milliseconds and calls per op over `steps` steps.
void writeProfile(const std::string &path, const KernelProfile &profile, uint64_t steps) {
  model::Json ops = model::Json::object();
  for (const auto &[op, entry] : profile.entries())
    ops[op] = {{"ms", entry.seconds * 1e3}, {"calls", entry.calls}};
  model::Json json = {{"steps", steps}, {"ops", ops}};
  std::string text = json.dump(1) + "\n";
  std::FILE *file = std::fopen(path.c_str(), "w");
  if (!file || std::fwrite(text.data(), 1, text.size(), file) != text.size() ||
      std::fclose(file) != 0)
    throw TrainError(path + ": cannot write the profile");
}

} // namespace

namespace {

/// What a resumed run takes from its checkpoint's trainer state besides the
/// tensors and counters: the run's settings, unless the command line gives
/// them anew.
struct ResumedSettings {
  std::optional<double> lr;
  uint64_t steps = 0;
  std::optional<LrSchedule> schedule;
  uint64_t skippedSteps = 0, skippedInARow = 0;
};

ResumedSettings resumedSettings(const model::Checkpoint &checkpoint, int64_t B, int64_t T) {
  ResumedSettings settings;
  const model::Json &extra = checkpoint.state().extra;
  const std::string statePath = checkpoint.dir() + "/trainer_state.json";
  auto count = [&](const model::Json *value, const char *name) -> uint64_t {
    std::optional<uint64_t> parsed = value ? jsonUint64(*value) : std::nullopt;
    if (!parsed)
      throw TrainError(statePath + ": \"extra." + name + "\" is not a non-negative integer");
    return *parsed;
  };
  const model::Json *batch = jsonMember(extra, "batch");
  const model::Json *seq = jsonMember(extra, "seq");
  if (batch && seq && (jsonInt64(*batch) != B || jsonInt64(*seq) != T))
    throw TrainError(checkpoint.dir() + ": saved by a run with batch " + batch->dump() +
                     " x seq " + seq->dump() + "; this plan has " + std::to_string(B) + " x " +
                     std::to_string(T) + ", so its data position would mean other tokens");
  if (const model::Json *lr = jsonMember(extra, "lr"); lr && lr->is_number())
    settings.lr = lr->get<double>();
  if (const model::Json *steps = jsonMember(extra, "steps"))
    settings.steps = count(steps, "steps");
  if (const model::Json *schedule = jsonMember(extra, "lr_schedule")) {
    const model::Json *kind = jsonMember(*schedule, "kind");
    std::optional<LrScheduleKind> parsed =
        kind && kind->is_string() ? parseLrScheduleKind(kind->get<std::string>()) : std::nullopt;
    if (!parsed)
      throw TrainError(statePath + ": \"extra.lr_schedule.kind\" is not constant, linear or "
                       "cosine");
    LrSchedule value;
    value.kind = *parsed;
    if (const model::Json *warmup = jsonMember(*schedule, "warmup_steps"))
      value.warmupSteps = count(warmup, "lr_schedule.warmup_steps");
    if (const model::Json *minLr = jsonMember(*schedule, "min_lr"); minLr && minLr->is_number())
      value.minLr = minLr->get<double>();
    settings.schedule = value;
  }
  if (const model::Json *skipped = jsonMember(extra, "skipped_steps"))
    settings.skippedSteps = count(skipped, "skipped_steps");
  if (const model::Json *row = jsonMember(extra, "skipped_in_a_row"))
    settings.skippedInARow = count(row, "skipped_in_a_row");
  const model::TrainerState &state = checkpoint.state();
  if (settings.skippedSteps && settings.skippedSteps != state.step - state.optimizerStep)
    throw TrainError(statePath + ": \"extra.skipped_steps\" " +
                     std::to_string(settings.skippedSteps) + " disagrees with \"step\" " +
                     std::to_string(state.step) + " - \"optimizer_step\" " +
                     std::to_string(state.optimizerStep));
  return settings;
}

model::Json scheduleJson(const LrSchedule &schedule) {
  model::Json json = {{"kind", lrScheduleName(schedule.kind)},
                      {"warmup_steps", schedule.warmupSteps}};
  if (schedule.minLr)
    json["min_lr"] = *schedule.minLr;
  return json;
}

std::string formatNumber(double value) {
  if (std::isnan(value))
    return "nan";
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

/// Loads micro-batches first, first + 1, ... into the K slots of the plan's
/// ids and targets: in place where the host can address them, else staged
/// and copied (a GPU's memory).
void loadMicroBatches(PlanProgram &program, const model::BatchLoader &loader, uint64_t first,
                      int64_t K, uint32_t ids, uint32_t targets) {
  const int64_t perMicroBatch = loader.batch() * loader.seq();
  const bool inPlace = program.hostAddressable(ids) && program.hostAddressable(targets);
  std::vector<int32_t> idStage, targetStage;
  if (!inPlace) {
    idStage.resize(size_t(K * perMicroBatch));
    targetStage.resize(size_t(K * perMicroBatch));
  }
  int32_t *idData = inPlace ? program.dataAs<int32_t>(ids) : idStage.data();
  int32_t *targetData = inPlace ? program.dataAs<int32_t>(targets) : targetStage.data();
  for (int64_t k = 0; k < K; ++k)
    loader.load(first + uint64_t(k), idData + k * perMicroBatch,
                targetData + k * perMicroBatch);
  if (!inPlace) {
    program.write(ids, 0, idStage.data(), idStage.size() * sizeof(int32_t));
    program.write(targets, 0, targetStage.data(), targetStage.size() * sizeof(int32_t));
  }
}

/// A f32 scalar result of the last run (loss, gradient norm).
double readScalar(const PlanProgram &program, uint32_t id) {
  float value;
  program.read(id, 0, &value, sizeof value);
  return double(value);
}

/// The mean loss of the train plan over `batches` micro-batches of the
/// held-out file (from its start), K per run, with every update skipped.
EvalResult evaluate(PlanProgram &program, UpdateGuard &guard, const model::BatchLoader &loader,
                    uint64_t batches, int64_t K, uint32_t ids, uint32_t targets, uint32_t loss) {
  const int64_t perMicroBatch = loader.batch() * loader.seq();
  double sum = 0;
  const uint64_t runs = batches / uint64_t(K);
  for (uint64_t run = 0; run < runs; ++run) {
    loadMicroBatches(program, loader, run * uint64_t(K), K, ids, targets);
    guard.beginRun(/*evaluating=*/true);
    program.run();
    sum += readScalar(program, loss);
  }
  EvalResult result;
  result.loss = sum / double(runs);
  result.tokens = batches * uint64_t(perMicroBatch);
  return result;
}

} // namespace

TrainResult train(const TrainOptions &options) {
  // From the start: a signal while loading stops the run before its first step.
  StopSignals signals("offrt train");
  const std::vector<std::string> inputs = {options.planPath, options.dataPath,
                                           initFileToCheck(options.initPath),
                                           options.evalDataPath};
  checkInputFiles(inputs);
  checkOutputFiles({options.logPath, options.saveGradsPath, options.profilePath, options.reportPath},
                   inputs);
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
  std::optional<model::BatchLoader> evalLoader;
  uint64_t evalBatches = options.evalBatches;
  if (!options.evalDataPath.empty()) {
    evalLoader.emplace(openData(session, options.evalDataPath, options.dataFormat));
    if (evalBatches % uint64_t(K) != 0)
      throw TrainError("--eval-batches " + std::to_string(evalBatches) +
                       " is not a multiple of the plan's " + std::to_string(K) +
                       " micro-batches per step");
    if (evalBatches == 0) // one pass over the held-out file, whole steps
      evalBatches = std::max<uint64_t>(1, evalLoader->windowsPerEpoch() / uint64_t(K)) *
                    uint64_t(K);
  }
  const std::string hash = planHash(session.plan());

  model::TrainerState state;
  state.rng.seed = options.seed;
  state.planHash = hash;
  state.planFormatVersion = plan::kFormatVersion;
  // The config goes into every checkpoint: a broken one is found now, not
  // at the first save after hours of training.
  if (!options.saveDir.empty() && !session.configJson().empty())
    model::parseJsonObject(session.configJson(), session.planPath(), "the model's config");
  ResumedSettings resumed;
  std::string resumedFrom;
  std::string weightsFrom;
  if (!options.resumeDir.empty()) {
    model::Checkpoint checkpoint = model::Checkpoint::open(options.resumeDir);
    resumedFrom = checkpoint.dir();
    resumed = resumedSettings(checkpoint, B, T);
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

  std::unique_ptr<SaveDirLock> saveDirLock;
  if (!options.saveDir.empty()) {
    saveDirLock = std::make_unique<SaveDirLock>(
        SaveDirOptions{options.saveDir, session.checkpointBytes(), resumedFrom,
                       options.overwrite});
    if (saveDirLock->removed() && !options.quiet)
      std::fprintf(stderr, "offrt train: --overwrite: removed %zu checkpoint(s) of an earlier "
                   "run from %s\n", saveDirLock->removed(), options.saveDir.c_str());
    if (std::string note = session.checkpointNote(); !note.empty() && !options.quiet)
      std::fprintf(stderr, "offrt train: note: the checkpoints will not load with "
                   "from_pretrained (their README.txt says why)\n");
  } else if (!options.quiet) {
    std::fprintf(stderr, "offrt train: note: no --save-dir: the trained weights will not be "
                 "saved\n");
  }

  // The run's target: --steps, else the resumed run's, else one pass.
  uint64_t lastStep = options.steps ? options.steps : resumed.steps;
  if (lastStep == 0)
    lastStep = std::max<uint64_t>(1, loader.windowsPerEpoch() / uint64_t(K));
  if (state.step >= lastStep)
    throw TrainError("nothing to do: the run is at step " + std::to_string(state.step) +
                     " and its target is step " + std::to_string(lastStep) +
                     (options.steps ? " (--steps)" : " (stored in the checkpoint; give a "
                                                     "larger --steps to go on)"));
  // The host optimizer's threads: one beside the CPU backend's compute
  // threads (they share the cores), every compute thread's core where the
  // compute runs on a GPU (the cores would otherwise idle while the GPU
  // waits for AdamW: 6x slower steps on the H200 with one thread).
  std::unique_ptr<ThreadPool> optimizerPool;
  const unsigned optimizerThreads =
      options.optimizerThreads ? options.optimizerThreads
      : program.executor().backend().computesOnHost() ? 1u
                                          : defaultThreadCount();
  for (const plan::Stream &stream : session.plan().streams())
    if (stream.kind() == plan::HOST_OPTIMIZER && !optimizerPool)
      optimizerPool = std::make_unique<ThreadPool>(std::max(1u, optimizerThreads));
  program.step().optimizerPool = optimizerPool.get();
  // A resumed run keeps the lr and schedule it was trained with unless the
  // command line says otherwise: the same command minus those options must
  // continue bit for bit.
  const std::optional<double> lrOverride = options.lr ? options.lr : resumed.lr;
  const double lr = lrOverride.value_or(session.plan().hyper().lr());
  const LrSchedule schedule = options.schedule ? *options.schedule
                                               : resumed.schedule.value_or(LrSchedule{});
  if (std::string problem = schedule.problem(lr); !problem.empty())
    throw TrainError(problem);
  const bool scheduled = schedule.kind != LrScheduleKind::Constant || schedule.warmupSteps;
  program.step().lr = lrOverride;
  state.extra = {{"batch", int64_t(B)},
                 {"seq", int64_t(T)},
                 {"grad_accum", int64_t(K)},
                 {"lr", lr},
                 {"steps", lastStep},
                 {"lr_schedule", scheduleJson(schedule)}};
  uint64_t skippedTotal = resumed.skippedSteps, skippedInARow = resumed.skippedInARow;

  std::unique_ptr<model::JsonlLogWriter> log;
  if (!options.logPath.empty()) {
    if (!options.resumeDir.empty()) // the steps after the checkpoint are run (and logged) again
      model::truncateLogAfterStep(options.logPath, state.step);
    log = std::make_unique<model::JsonlLogWriter>(options.logPath, !options.resumeDir.empty());
  }
  GradCapture capture;
  UpdateGuard guard(program, lossId, normId);
  if (!options.saveGradsPath.empty()) // the gradient each adam_step is about to read
    guard.setCapture([&](const plan::Kernel &kernel, uint32_t stream) {
      if (kernel.inputs_size() >= 2) {
        const plan::Tensor &grad = program.tensor(kernel.inputs(1));
        DType dtype = grad.dtype() == plan::BF16 ? DType::BF16 : DType::F32;
        std::vector<std::byte> bytes(grad.size_bytes());
        program.readAt(stream, kernel.inputs(1), bytes.data());
        capture.add(program.tensor(kernel.inputs(0)).name(), dtype, bytes.data(),
                    grad.size_bytes() / dtypeSize(dtype));
      }
    });
  model::ProgressPrinter progress(state.step + 1, lastStep, stderr, options.progressEvery);
  if (!options.quiet)
    std::fprintf(stderr, "offrt train: %s: %lld x %lld tokens x %lld micro-batch(es) per step, "
                 "steps %llu..%llu, lr %g%s, %s\n", options.planPath.c_str(), (long long)B,
                 (long long)T, (long long)K, (unsigned long long)(state.step + 1),
                 (unsigned long long)lastStep, lr,
                 scheduled ? (" (" + schedule.describe() + ")").c_str() : "",
                 weightsFrom.c_str());

  TrainResult result;
  auto lastGood = [&] {
    return !result.lastCheckpoint.empty() ? result.lastCheckpoint
           : !resumedFrom.empty()         ? resumedFrom
                                          : std::string("none");
  };
  uint64_t savedStep = state.step; // the state last saved (or resumed from)
  auto save = [&] {
    // A checkpoint never holds non-finite weights.
    if (std::string problem = session.nonFiniteParam(); !problem.empty())
      throw TrainError("not saving step " + std::to_string(state.step) + ": " + problem +
                       "; stopping (the last checkpoint is " + lastGood() + ")");
    state.extra["skipped_steps"] = skippedTotal;
    state.extra["skipped_in_a_row"] = skippedInARow;
    result.lastCheckpoint = model::saveCheckpoint(
        options.saveDir, session.checkpointContents(state),
        {options.keepLast, options.maxShardBytes});
    savedStep = state.step;
    if (!options.quiet)
      std::fprintf(stderr, "offrt train: saved %s\n", result.lastCheckpoint.c_str());
  };
  auto runEval = [&] {
    EvalResult eval = evaluate(program, guard, *evalLoader, evalBatches, K, ids, targets, lossId);
    eval.step = state.step;
    result.evals.push_back(eval);
    if (log)
      log->write(model::EvalLog{eval.step, eval.loss, eval.tokens});
    if (!options.quiet)
      std::fprintf(stderr, "eval at step %llu | loss %.4f | ppl %.2f | %llu tokens\n",
                   (unsigned long long)eval.step, eval.loss, std::exp(eval.loss),
                   (unsigned long long)eval.tokens);
  };
  const auto runStart = Clock::now();
  const int64_t tokensPerMicroBatch = B * T;
  const uint64_t firstStep = state.step + 1;
  KernelProfile profile;
  while (state.step < lastStep && !signals.requested()) {
    const auto stepStart = Clock::now();
    loadMicroBatches(program, loader, state.microBatch, K, ids, targets);
    const uint64_t step = state.step + 1;
    const double stepLr = scheduled ? schedule.lrAt(step, lastStep, lr) : lr;
    if (scheduled)
      program.step().lr = stepLr;
    program.step().optimizerStep = int64_t(state.optimizerStep) + 1;
    guard.beginRun(/*evaluating=*/false);
    if (!options.profilePath.empty() && state.step == firstStep)
      program.setProfile(&profile); // from the second step on: the first warms up
    program.run();
    if (!options.saveGradsPath.empty() && step == firstStep) {
      capture.write(options.saveGradsPath, session);
      guard.setCapture(nullptr);
    }
    const double loss = readScalar(program, lossId);
    const double gradNorm = readScalar(program, normId);
    if (!guard.partialAt().empty())
      throw TrainError("step " + std::to_string(step) + ": the gradient of '" +
                       guard.partialAt() + "' is not finite, but parameters before it were "
                       "already updated (this plan overlaps AdamW with the backward: offc "
                       "compile --optimizer-stream --clip 0); stopping without saving (the "
                       "last checkpoint is " + lastGood() + ")");
    const bool applied = guard.applied();
    state.microBatch += uint64_t(K);
    state.step = step;
    if (applied) {
      state.optimizerStep += 1;
      skippedInARow = 0;
    } else {
      ++skippedTotal;
      ++skippedInARow;
      ++result.skippedSteps;
    }
    result.losses.push_back(loss);
    const double seconds = std::chrono::duration<double>(Clock::now() - stepStart).count();
    const uint64_t tokens = uint64_t(K * tokensPerMicroBatch);
    if (log)
      log->write({step, loss, gradNorm, stepLr, double(tokens) / seconds, seconds * 1e3,
                  !applied});
    std::string note;
    if (!applied)
      note = "skipped: loss " + formatNumber(loss) + ", grad norm " + formatNumber(gradNorm) +
             " (" + std::to_string(skippedInARow) + " in a row, " +
             std::to_string(skippedTotal) + " in all)";
    if (!options.quiet)
      progress.step(step, loss, tokens, seconds,
                    std::chrono::duration<double>(Clock::now() - runStart).count(), note);
    if (!applied && skippedInARow > options.maxSkippedSteps)
      throw TrainError("steps " + std::to_string(step - skippedInARow + 1) + ".." +
                       std::to_string(step) + " had a non-finite loss or gradient norm (loss " +
                       formatNumber(loss) + ", grad norm " + formatNumber(gradNorm) +
                       ") and were skipped, more than --max-skipped-steps " +
                       std::to_string(options.maxSkippedSteps) + " in a row; stopping "
                       "(the weights were not updated by them; the last checkpoint is " +
                       lastGood() + ")");
    if (evalLoader && ((options.evalEvery && step % options.evalEvery == 0) || step == lastStep))
      runEval();
    if (!options.saveDir.empty() && options.saveEvery && step % options.saveEvery == 0)
      save();
  }
  program.setProfile(nullptr);
  if (!options.profilePath.empty())
    writeProfile(options.profilePath, profile, state.step - firstStep);
  if (!options.reportPath.empty())
    writeTierReport(options.reportPath, measureTiers(program, *options.backend));
  result.lastStep = state.step;
  if (int signal = signals.requested(); signal && state.step < lastStep) {
    result.stoppedBySignal = signal;
    std::string what = StopSignals::name(signal);
    if (state.step < firstStep) {
      std::fprintf(stderr, "offrt train: stopped by %s before the first step; nothing to save\n",
                   what.c_str());
    } else if (options.saveDir.empty()) {
      std::fprintf(stderr, "offrt train: stopped by %s after step %llu; no --save-dir, so "
                   "nothing was saved\n", what.c_str(), (unsigned long long)state.step);
    } else {
      if (savedStep != state.step)
        save();
      std::fprintf(stderr, "offrt train: stopped by %s after step %llu; checkpoint %s "
                   "(continue with --resume %s)\n", what.c_str(),
                   (unsigned long long)state.step, result.lastCheckpoint.c_str(),
                   options.saveDir.c_str());
    }
    return result;
  }
  if (!options.saveDir.empty() && savedStep != state.step)
    save();
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
  std::vector<int32_t> idData(size_t(m.batch() * m.seq())), targets(idData.size());
  loader.load(options.microBatch, idData.data(), targets.data());
  program.write(ids, 0, idData.data(), idData.size() * sizeof(int32_t));
  program.run();
  const plan::Tensor &idsTensor = program.tensor(ids);
  std::vector<float> logitData(logitsTensor.size_bytes() / sizeof(float));
  program.read(logits, 0, logitData.data(), logitsTensor.size_bytes());
  model::writeSafetensors(
      options.outputPath,
      {{"logits", DType::F32,
        model::Shape(logitsTensor.shape().begin(), logitsTensor.shape().end()),
        logitData.data()},
       {"input_ids", DType::I32,
        model::Shape(idsTensor.shape().begin(), idsTensor.shape().end()), idData.data()}},
      {{"plan", options.planPath}, {"micro_batch", std::to_string(options.microBatch)}});
  return options.outputPath + " (logits f32 " +
         shapeText(std::vector<int64_t>(logitsTensor.shape().begin(), logitsTensor.shape().end())) +
         ", input_ids i32 " +
         shapeText(std::vector<int64_t>(idsTensor.shape().begin(), idsTensor.shape().end())) +
         ", micro-batch " + std::to_string(options.microBatch) + " of " + options.dataPath +
         "; " + weightsFrom + ")";
}

} // namespace off::train
