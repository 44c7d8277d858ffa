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
#include <memory>
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

enum class Access { Read, Write, ReadWrite };

/// Runs `use(bytes)` on tensor `id`'s bytes: its own memory where the host
/// can address it; otherwise (the NVMe tier, a GPU's memory) a staging copy
/// of that one tensor, read from its tier first unless `access` is Write and
/// written back after unless it is Read. One tensor at a time, so loading
/// and saving never hold a second copy of the whole model.
template <typename Use>
void withHostBytes(PlanProgram &program, uint32_t id, Access access, Use &&use) {
  if (program.hostAddressable(id)) {
    use(program.data(id));
    return;
  }
  std::unique_ptr<std::byte[]> staging(new std::byte[program.tensor(id).size_bytes()]);
  if (access != Access::Write)
    program.read(id, staging.get());
  use(staging.get());
  if (access != Access::Read)
    program.write(id, staging.get());
}

/// A checkpoint entry for tensor `id`: its memory, or a reader from its tier.
model::TensorToWrite checkpointEntry(PlanProgram &program, uint32_t id, std::string name,
                                     model::Shape shape) {
  model::TensorToWrite entry{std::move(name), DType::F32, std::move(shape), nullptr, {}};
  if (program.hostAddressable(id))
    entry.data = program.data(id);
  else
    entry.read = [&program, id](uint64_t offset, void *dst, uint64_t bytes) {
      program.read(id, offset, dst, bytes);
    };
  return entry;
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
  for (size_t i = 0; i < params_.size(); ++i) {
    model::InitTarget target;
    target.name = params_[i].name;
    target.shape = params_[i].shape;
    target.kind = initKind(program_->tensor(paramId(i)));
    withHostBytes(*program_, paramId(i), Access::Write, [&](std::byte *bytes) {
      target.data = reinterpret_cast<float *>(bytes);
      model::initWeights({target}, seed, plan().model().initializer_range());
    });
  }
  refreshComputeCopies();
}

void Session::refreshComputeCopies() {
  for (auto [copy, master] : copies_) {
    const plan::DType dtype = program_->tensor(copy).dtype();
    if (dtype != plan::BF16 && dtype != plan::F32)
      throw TrainError(planPath() + ": compute copy '" + program_->tensor(copy).name() +
                       "' has a dtype this runtime cannot fill (bf16 or f32 only)");
    size_t count = program_->tensor(master).size_bytes() / sizeof(float);
    withHostBytes(*program_, master, Access::Read, [&](std::byte *masterBytes) {
      withHostBytes(*program_, copy, Access::Write, [&](std::byte *copyBytes) {
        const auto *from = reinterpret_cast<const float *>(masterBytes);
        if (dtype == plan::F32) {
          std::memcpy(copyBytes, from, count * sizeof(float));
          return;
        }
        auto *to = reinterpret_cast<uint16_t *>(copyBytes);
        for (size_t i = 0; i < count; ++i)
          to[i] = floatToBf16(from[i]);
      });
    });
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
    withHostBytes(*program_, paramId(i), Access::Write, [&](std::byte *bytes) {
      model::readWeightRef(ref, reinterpret_cast<float *>(bytes),
                           model::elementCount(params_[i].shape));
    });
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
    withHostBytes(*program_, paramId(i), Access::Write, [&](std::byte *bytes) {
      file.readFloat32(params_[i].name, reinterpret_cast<float *>(bytes),
                       model::elementCount(params_[i].shape));
    });
  checkFiniteParams(path);
  refreshComputeCopies();
}

std::string Session::nonFiniteParam() const {
  std::string problem;
  for (size_t i = 0; i < params_.size() && problem.empty(); ++i) {
    uint64_t count = model::elementCount(params_[i].shape);
    withHostBytes(*program_, paramId(i), Access::Read, [&](std::byte *bytes) {
      const auto *data = reinterpret_cast<const float *>(bytes);
      for (uint64_t k = 0; k < count; ++k)
        if (!std::isfinite(data[k])) {
          problem = "tensor '" + params_[i].name + "' holds " +
                    (std::isnan(data[k]) ? "NaN" : data[k] > 0 ? "+inf" : "-inf") +
                    " at element " + std::to_string(k) + " (of " + std::to_string(count) + ")";
          return;
        }
    });
  }
  return problem;
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
    withHostBytes(*program_, id, Access::Write, [&](std::byte *bytes) {
      std::memset(bytes, 0, program_->tensor(id).size_bytes());
    });
}

model::CheckpointContents
Session::checkpointContents(const model::TrainerState &state) const {
  model::CheckpointContents contents;
  for (size_t i = 0; i < params_.size(); ++i)
    contents.model.push_back(
        checkpointEntry(*program_, paramId(i), params_[i].name, params_[i].shape));
  for (const model::ExpectedTensor &moment : model::optimizerStateTensors(trainable_))
    contents.optimizer.push_back(
        checkpointEntry(*program_, program_->get(moment.name), moment.name, moment.shape));
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
    withHostBytes(*program_, paramId(i), Access::Write, [&](std::byte *bytes) {
      checkpoint.model().copyTo(params_[i].name, DType::F32, bytes,
                                program_->tensor(paramId(i)).size_bytes());
    });
  for (const model::ExpectedTensor &moment : model::optimizerStateTensors(trainable_)) {
    uint32_t id = program_->get(moment.name);
    withHostBytes(*program_, id, Access::Write, [&](std::byte *bytes) {
      checkpoint.optimizer().copyTo(moment.name, DType::F32, bytes,
                                    program_->tensor(id).size_bytes());
    });
  }
  checkFiniteParams(checkpoint.model().source());
  refreshComputeCopies();
}

} // namespace off::train
