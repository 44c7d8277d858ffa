// See Session.h.

#include "runtime/train/Session.h"

#include "runtime/common/Float16.h"
#include "runtime/common/Parallel.h"
#include "runtime/model/Safetensors.h"
#include "runtime/model/WeightInit.h"
#include "runtime/model/WeightRef.h"
#include "runtime/plan/PlanVocabulary.h"


#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

namespace off::train {
namespace {

model::ExpectedTensor expectedOf(const plan::Tensor &tensor) {
  return {tensor.hf_name().empty() ? tensor.name() : tensor.hf_name(),
          model::Shape(tensor.shape().begin(), tensor.shape().end()), DType::F32};
}

/// The plan says how each parameter starts (the compiler knows what it feeds).
model::InitKind initKind(const plan::Tensor &param) {
  switch (param.init()) {
  case plan::INIT_NORMAL: return model::InitKind::Normal;
  case plan::INIT_ONES: return model::InitKind::Ones;
  case plan::INIT_ZEROS: return model::InitKind::Zeros;
  default: // validatePlan refuses a PARAM without one
    throw TrainError("parameter '" + param.name() + "' has no init kind in the plan");
  }
}

} // namespace

plan::Plan loadPlanFile(const std::string &path) {
  std::string error;
  std::optional<plan::Plan> plan = plan::readPlanFile(path, error);
  if (!plan)
    throw TrainError(error);
  return std::move(*plan);
}

std::string planHash(const plan::Plan &plan) {
  std::string bytes; // the payload of the plan.bin offc writes for it
  plan::serializePlan(plan, bytes);
  char text[32];
  std::snprintf(text, sizeof text, "%08x-%zu", plan::crc32(bytes.data(), bytes.size()),
                bytes.size());
  return text;
}

Session::Session(const SessionOptions &options) {
  if (!options.backend)
    throw std::invalid_argument("Session needs a backend");
  if (options.threads)
    setDefaultThreadCount(options.threads);
  // Started now, so that a thread limit stops the run here with its reason
  // rather than inside the first kernel.
  defaultThreadPool();
  plan::Plan plan = loadPlanFile(options.planPath);
  const std::string &entry = plan.model().entry();
  if (!options.expectedEntry.empty() && entry != options.expectedEntry)
    throw TrainError(options.planPath + ": this plan runs '" +
                     (entry.empty() ? std::string("?") : entry) + "', not '" +
                     options.expectedEntry + "' (compile it " +
                     (options.expectedEntry == "forward" ? "with" : "without") +
                     " `offc compile --forward`)");
  PlanProgramOptions programOptions;
  programOptions.executor.checkResidency = options.checkResidency;
  programOptions.executor.hostMemory.allowUnpinned = options.allowUnpinned;
  programOptions.nvme.directories = options.nvmeDirectories;
  program_ = std::make_unique<PlanProgram>(*options.backend, std::move(plan), options.planPath,
                                           programOptions);
  for (uint32_t id : program_->withRole(plan::PARAM)) {
    const plan::Tensor &tensor = program_->tensor(id);
    if (!tensor.copy_of().empty()) { // derived from its master, not loaded or saved
      copies_.emplace_back(id, program_->get(tensor.copy_of()));
      continue;
    }
    if (tensor.dtype() != plan::F32)
      throw TrainError(options.planPath + ": parameter '" + tensor.name() +
                       "' is not f32 (this runtime trains fp32 master weights)");
    paramIds_.push_back(id);
    params_.push_back(expectedOf(tensor));
    if (tensor.trainable())
      trainable_.push_back(params_.back());
  }
}

void Session::initFromSeed(uint64_t seed) {
  std::vector<model::InitTarget> targets;
  for (size_t i = 0; i < params_.size(); ++i) {
    model::InitTarget target;
    target.name = params_[i].name;
    target.shape = params_[i].shape;
    target.kind = initKind(program_->tensor(paramId(i)));
    target.data = program_->dataAs<float>(paramId(i));
    targets.push_back(std::move(target));
  }
  model::initWeights(targets, seed, plan().model().initializer_range());
  refreshComputeCopies();
}

void Session::refreshComputeCopies() {
  for (auto [copy, master] : copies_) {
    const float *from = program_->dataAs<float>(master);
    auto *to = reinterpret_cast<uint16_t *>(program_->data(copy));
    size_t count = program_->tensor(master).size_bytes() / sizeof(float);
    switch (program_->tensor(copy).dtype()) {
    case plan::BF16:
      for (size_t i = 0; i < count; ++i)
        to[i] = floatToBf16(from[i]);
      break;
    case plan::F32:
      std::memcpy(to, from, count * sizeof(float));
      break;
    default:
      throw TrainError(planPath() + ": compute copy '" + program_->tensor(copy).name() +
                       "' has a dtype this runtime cannot fill (bf16 or f32 only)");
    }
  }
}

std::vector<std::string> Session::initFromPlanWeights() {
  std::map<std::string, const plan::WeightSource *> sources;
  for (const plan::WeightSource &source : plan().model().weights())
    if (!sources.emplace(source.param(), &source).second)
      throw TrainError(planPath() + ": the plan names two weight sources for '" +
                       source.param() + "'");
  const std::filesystem::path planDir = std::filesystem::path(planPath()).parent_path();
  std::vector<std::string> files;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto found = sources.find(params_[i].name);
    if (found == sources.end())
      throw TrainError(planPath() + ": the plan names no weight source for parameter '" +
                       params_[i].name + "' (give --init FILE or --seed S)");
    const plan::WeightSource &source = *found->second;
    std::optional<DType> dtype = plan::toDType(source.dtype());
    if (!dtype)
      throw TrainError(planPath() + ": weight source of '" + source.param() +
                       "' has an unknown dtype");
    model::WeightRef ref;
    ref.name = source.param();
    std::filesystem::path path(source.path());
    ref.path = path.is_absolute() ? path.string() : (planDir / path).string();
    ref.offset = source.offset();
    ref.dtype = *dtype;
    ref.storedShape.assign(source.stored_shape().begin(), source.stored_shape().end());
    ref.transposed = source.transposed();
    ref.fileSize = source.file_size();
    ref.checksum = source.checksum();
    model::readWeightRef(ref, program_->dataAs<float>(paramId(i)),
                         model::elementCount(params_[i].shape));
    if (std::find(files.begin(), files.end(), ref.path) == files.end())
      files.push_back(ref.path);
  }
  checkFiniteParams(files.empty() ? planPath() : files.front());
  refreshComputeCopies();
  return files;
}

void Session::initFromFile(const std::string &path) {
  // A file, an HF index, or a directory (HF model or our checkpoint).
  model::SafetensorsSet file = model::SafetensorsSet::open(path);
  model::TensorCheckOptions check;
  check.allowExtra = true;
  check.allowFloatConversion = true;
  model::checkTensors(file, params_, check);
  for (size_t i = 0; i < params_.size(); ++i)
    file.readFloat32(params_[i].name, program_->dataAs<float>(paramId(i)),
                     model::elementCount(params_[i].shape));
  checkFiniteParams(path);
  refreshComputeCopies();
}

std::string Session::nonFiniteParam() const {
  for (size_t i = 0; i < params_.size(); ++i) {
    const float *data = program_->dataAs<float>(paramId(i));
    uint64_t count = model::elementCount(params_[i].shape);
    for (uint64_t k = 0; k < count; ++k)
      if (!std::isfinite(data[k]))
        return "tensor '" + params_[i].name + "' holds " +
               (std::isnan(data[k]) ? "NaN" : data[k] > 0 ? "+inf" : "-inf") + " at element " +
               std::to_string(k) + " (of " + std::to_string(count) + ")";
  }
  return "";
}

void Session::checkFiniteParams(const std::string &source) const {
  if (std::string problem = nonFiniteParam(); !problem.empty())
    throw TrainError(source + ": " + problem +
                     "; training from non-finite weights gives a non-finite loss");
}

namespace {
/// Why the plan has no Hugging Face config.
std::string missingConfigReason(const plan::Model &model) {
  return model.config_unavailable().empty()
             ? std::string("the plan records no Hugging Face config (compiled by an offc that "
                           "did not derive one?)")
             : "no Hugging Face Llama config describes the model: " + model.config_unavailable();
}
} // namespace

std::string Session::configJson() const { return plan().model().config_json(); }

std::string Session::checkpointNote() const {
  if (!plan().model().config_json().empty())
    return "";
  return "This checkpoint does not load with transformers' from_pretrained: " +
         missingConfigReason(plan().model()) +
         ".\nSo it has no config.json. model.safetensors holds the weights under the model's "
         "parameter names, optimizer.safetensors the AdamW moments, trainer_state.json the "
         "step and data position: offrt train --resume and --init read them.\n";
}

uint64_t Session::checkpointBytes() const {
  uint64_t bytes = 64 * 1024 + configJson().size(); // headers, trainer state, config
  for (const model::ExpectedTensor &param : params_)
    bytes += 4 * model::elementCount(param.shape) + 256;
  for (const model::ExpectedTensor &param : trainable_)
    bytes += 8 * model::elementCount(param.shape) + 512;
  return bytes;
}

void Session::zeroOptimizerState() {
  for (uint32_t id : program_->withRole(plan::OPTIMIZER_STATE))
    std::memset(program_->data(id), 0, program_->tensor(id).size_bytes());
}

model::CheckpointContents
Session::checkpointContents(const model::TrainerState &state) const {
  model::CheckpointContents contents;
  for (size_t i = 0; i < params_.size(); ++i)
    contents.model.push_back({params_[i].name, DType::F32, params_[i].shape,
                              program_->data(paramId(i))});
  for (const model::ExpectedTensor &moment : model::optimizerStateTensors(trainable_)) {
    uint32_t id = program_->get(moment.name);
    contents.optimizer.push_back(
        {moment.name, DType::F32, moment.shape, program_->data(id)});
  }
  contents.configJson = configJson();
  contents.readme = checkpointNote();
  contents.state = state;
  return contents;
}

void Session::restore(const model::Checkpoint &checkpoint) {
  std::vector<std::string> problems = model::findTensorMismatches(checkpoint.model(), params_);
  for (std::string &line : model::findTensorMismatches(
           checkpoint.optimizer(), model::optimizerStateTensors(trainable_)))
    problems.push_back(std::move(line));
  if (checkpoint.state().planFormatVersion != plan::kFormatVersion)
    problems.push_back(checkpoint.dir() + ": written by plan format version " +
                       std::to_string(checkpoint.state().planFormatVersion) +
                       ", this offrt reads version " + std::to_string(plan::kFormatVersion));
  if (!problems.empty())
    model::throwProblems(problems);
  for (size_t i = 0; i < params_.size(); ++i)
    checkpoint.model().copyTo(params_[i].name, DType::F32,
                              program_->data(paramId(i)),
                              program_->tensor(paramId(i)).size_bytes());
  for (const model::ExpectedTensor &moment : model::optimizerStateTensors(trainable_)) {
    uint32_t id = program_->get(moment.name);
    checkpoint.optimizer().copyTo(moment.name, DType::F32, program_->data(id),
                                  program_->tensor(id).size_bytes());
  }
  checkFiniteParams(checkpoint.model().source());
  refreshComputeCopies();
}

} // namespace off::train
