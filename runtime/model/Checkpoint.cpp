#include "runtime/model/Checkpoint.h"

#include "runtime/model/FileIo.h"
#include "runtime/model/ModelError.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <system_error>

namespace off::model {

namespace fs = std::filesystem;

namespace {

constexpr const char *kOptimizerFile = "optimizer.safetensors";
constexpr const char *kConfigFile = "config.json";
constexpr const char *kStateFile = "trainer_state.json";
constexpr const char *kLatestFile = "latest";
constexpr const char *kStateFormat = "offload-trainer-state";

// Removes a directory tree, ignoring errors: only used to clean up after a
// failure or a replaced checkpoint, where the primary outcome is decided.
void removeTreeQuietly(const fs::path &path) {
  std::error_code ignored;
  fs::remove_all(path, ignored);
}

// Atomically swaps two directories (renameat2 RENAME_EXCHANGE); false where
// the file system does not support it.
bool exchangePaths(const fs::path &a, const fs::path &b) {
#ifdef RENAME_EXCHANGE
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
#else
  (void)a;
  (void)b;
  return false;
#endif
}

void renameOrThrow(const fs::path &from, const fs::path &to) {
  if (std::rename(from.c_str(), to.c_str()) != 0)
    throwSystemError(to.string(), "cannot rename " + from.string() + " into place", errno);
}

// step number of "step-N", or nullopt.
std::optional<uint64_t> stepOfDirName(const std::string &name) {
  if (name.rfind("step-", 0) != 0 || name.size() == 5)
    return std::nullopt;
  uint64_t step = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9')
      return std::nullopt;
    step = step * 10 + uint64_t(name[i] - '0');
  }
  return step;
}

std::string readLatest(const std::string &saveDir) {
  std::string text = readTextFile((fs::path(saveDir) / kLatestFile).string());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

void pruneOldCheckpoints(const fs::path &saveDir, size_t keepLast, const std::string &latest) {
  std::vector<std::pair<uint64_t, fs::path>> steps;
  std::error_code error;
  for (const fs::directory_entry &entry : fs::directory_iterator(saveDir, error))
    if (auto step = stepOfDirName(entry.path().filename().string()); step && entry.is_directory())
      steps.emplace_back(*step, entry.path());
  std::sort(steps.begin(), steps.end());
  while (steps.size() > keepLast) {
    if (steps.front().second.filename() != latest)
      removeTreeQuietly(steps.front().second);
    steps.erase(steps.begin());
  }
}

} // namespace

// ---------------------------------------------------------------- state

bool TrainerState::operator==(const TrainerState &other) const {
  return step == other.step && microBatch == other.microBatch &&
         optimizerStep == other.optimizerStep && rng == other.rng &&
         planHash == other.planHash && planFormatVersion == other.planFormatVersion &&
         extra.dump() == other.extra.dump();
}

std::string trainerStateToJson(const TrainerState &state) {
  Json json = {
      {"format", kStateFormat},
      {"version", kTrainerStateVersion},
      {"step", state.step},
      {"micro_batch", state.microBatch},
      {"optimizer_step", state.optimizerStep},
      {"rng", {{"seed", state.rng.seed}, {"stream", state.rng.stream}, {"offset", state.rng.offset}}},
      {"plan", {{"hash", state.planHash}, {"format_version", uint64_t(state.planFormatVersion)}}},
      {"extra", state.extra}};
  return json.dump() + "\n";
}

TrainerState trainerStateFromJson(const std::string &text, const std::string &path) {
  const Json json = parseJsonObject(text, path);
  auto field = [&](const Json &object, const char *key, const char *where) -> const Json & {
    const Json *value = jsonMember(object, key);
    if (!value)
      throwFileError(path, std::string("missing \"") + where + key + "\"");
    return *value;
  };
  auto u64 = [&](const Json &object, const char *key, const char *where) {
    const Json &value = field(object, key, where);
    std::optional<uint64_t> number = jsonUint64(value);
    if (!number)
      throwFileError(path, std::string("\"") + where + key +
                               "\": expected a non-negative integer, found " +
                               (value.is_number() ? value.dump() : jsonKindName(value)));
    return *number;
  };
  const Json &format = field(json, "format", "");
  if (!format.is_string() || format.get_ref<const std::string &>() != kStateFormat)
    throwFileError(path, "is not an offload trainer state (\"format\" is not \"" +
                             std::string(kStateFormat) + "\")");
  uint64_t version = u64(json, "version", "");
  if (version != uint64_t(kTrainerStateVersion))
    throwFileError(path, "trainer state version " + std::to_string(version) +
                             " is not supported (this build reads version " +
                             std::to_string(kTrainerStateVersion) + ")");
  TrainerState state;
  state.step = u64(json, "step", "");
  state.microBatch = u64(json, "micro_batch", "");
  state.optimizerStep = u64(json, "optimizer_step", "");
  const Json &rng = field(json, "rng", "");
  state.rng.seed = u64(rng, "seed", "rng.");
  state.rng.stream = u64(rng, "stream", "rng.");
  state.rng.offset = u64(rng, "offset", "rng.");
  const Json &plan = field(json, "plan", "");
  const Json &hash = field(plan, "hash", "plan.");
  if (!hash.is_string())
    throwFileError(path, "\"plan.hash\" is not a string");
  state.planHash = hash.get<std::string>();
  uint64_t planVersion = u64(plan, "format_version", "plan.");
  if (planVersion > UINT32_MAX)
    throwFileError(path, "\"plan.format_version\" is out of range");
  state.planFormatVersion = uint32_t(planVersion);
  if (const Json *extra = jsonMember(json, "extra"))
    state.extra = *extra;
  return state;
}

std::string expAvgName(const std::string &param) { return param + ".exp_avg"; }
std::string expAvgSqName(const std::string &param) { return param + ".exp_avg_sq"; }

std::vector<ExpectedTensor> optimizerStateTensors(const std::vector<ExpectedTensor> &params) {
  std::vector<ExpectedTensor> states;
  for (const ExpectedTensor &param : params) {
    states.push_back({expAvgName(param.name), param.shape, DType::F32});
    states.push_back({expAvgSqName(param.name), param.shape, DType::F32});
  }
  return states;
}

std::string stepDirName(uint64_t step) { return "step-" + std::to_string(step); }

// ---------------------------------------------------------------- saving

std::string saveCheckpoint(const std::string &saveDir, const CheckpointContents &contents,
                           const SaveOptions &options) {
  if (!contents.configJson.empty())
    parseJsonObject(contents.configJson, (fs::path(saveDir) / kConfigFile).string(),
                    "the config to save");
  std::error_code error;
  fs::create_directories(saveDir, error);
  if (error)
    throwFileError(saveDir, "cannot create the save directory: " + error.message());

  const std::string name = stepDirName(contents.state.step);
  const fs::path finalDir = fs::path(saveDir) / name;
  const fs::path tempDir = fs::path(saveDir) / (name + ".tmp");
  removeTreeQuietly(tempDir); // left by a crashed save of the same step
  if (!fs::create_directory(tempDir, error) || error)
    throwFileError(tempDir.string(), "cannot create the checkpoint directory: " +
                                         (error ? error.message() : "it already exists"));
  try {
    writeSafetensorsSet(tempDir.string(), contents.model, options.maxShardBytes,
                        {{"format", "pt"}});
    writeSafetensors((tempDir / kOptimizerFile).string(), contents.optimizer,
                     {{"format", "offload-adamw"}});
    if (!contents.configJson.empty())
      writeFileAtomically((tempDir / kConfigFile).string(), contents.configJson);
    if (!contents.readme.empty())
      writeFileAtomically((tempDir / "README.txt").string(), contents.readme);
    writeFileAtomically((tempDir / kStateFile).string(), trainerStateToJson(contents.state));
    fsyncDirectory(tempDir.string());

    if (fs::exists(finalDir)) {
      // Re-saving a step (e.g. after a resume): swap, then drop the old one.
      if (exchangePaths(tempDir, finalDir)) {
        removeTreeQuietly(tempDir);
      } else {
        const fs::path oldDir = fs::path(saveDir) / (name + ".old");
        removeTreeQuietly(oldDir);
        renameOrThrow(finalDir, oldDir);
        try {
          renameOrThrow(tempDir, finalDir);
        } catch (...) {
          std::rename(oldDir.c_str(), finalDir.c_str()); // put the old one back
          throw;
        }
        removeTreeQuietly(oldDir);
      }
    } else {
      renameOrThrow(tempDir, finalDir);
    }
    fsyncDirectory(saveDir);
    writeFileAtomically((fs::path(saveDir) / kLatestFile).string(), name + "\n");
  } catch (...) {
    removeTreeQuietly(tempDir);
    throw;
  }
  if (options.keepLast > 0)
    pruneOldCheckpoints(saveDir, options.keepLast, name);
  return finalDir.string();
}

// ---------------------------------------------------------------- loading

std::string resolveCheckpointDir(const std::string &dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error))
    throwFileError(dir, fs::exists(dir, error) ? "is not a directory"
                                                : "no such checkpoint directory");
  if (fs::exists(fs::path(dir) / kStateFile, error))
    return dir;
  if (!fs::exists(fs::path(dir) / kLatestFile, error)) {
    // A run stopped between renaming its first step-N/ into place and writing
    // `latest` (SIGKILL, power loss): the step directories are complete
    // (written in step-N.tmp/ and renamed whole), so the newest one is the
    // checkpoint `latest` would have named.
    std::optional<std::pair<uint64_t, fs::path>> newest;
    for (const fs::directory_entry &entry : fs::directory_iterator(dir, error))
      if (auto step = stepOfDirName(entry.path().filename().string());
          step && entry.is_directory() && fs::exists(entry.path() / kStateFile) &&
          (!newest || *step > newest->first))
        newest.emplace(*step, entry.path());
    if (newest)
      return newest->second.string();
    throwFileError(dir, "is not a checkpoint: it holds neither trainer_state.json nor a "
                        "'latest' pointer nor a complete step-N directory");
  }
  std::string latest = readLatest(dir);
  if (!stepOfDirName(latest))
    throwFileError((fs::path(dir) / kLatestFile).string(),
                   "names '" + latest + "', not a step-N directory");
  fs::path stepDir = fs::path(dir) / latest;
  if (!fs::exists(stepDir / kStateFile, error))
    throwFileError((fs::path(dir) / kLatestFile).string(),
                   "names " + stepDir.string() + ", which holds no " + kStateFile);
  return stepDir.string();
}

Checkpoint Checkpoint::open(const std::string &dir) {
  Checkpoint checkpoint;
  checkpoint.dir_ = resolveCheckpointDir(dir);
  const fs::path base(checkpoint.dir_);
  const std::string statePath = (base / kStateFile).string();
  checkpoint.state_ = trainerStateFromJson(readTextFile(statePath), statePath);
  // Fields that must agree with each other (a hand-edited or mixed-up file).
  const TrainerState &state = checkpoint.state_;
  if (auto step = stepOfDirName(base.filename().string()); step && *step != state.step)
    throwFileError(statePath, "\"step\" is " + std::to_string(state.step) +
                                  " but the directory is " + base.filename().string());
  if (state.optimizerStep > state.step)
    throwFileError(statePath, "\"optimizer_step\" " + std::to_string(state.optimizerStep) +
                                  " is larger than \"step\" " + std::to_string(state.step) +
                                  " (every optimizer step is a step)");
  if (state.microBatch < state.step)
    throwFileError(statePath, "\"micro_batch\" " + std::to_string(state.microBatch) +
                                  " is smaller than \"step\" " + std::to_string(state.step) +
                                  " (every step reads at least one micro-batch)");
  // A model no Hugging Face config describes has none (its README.txt says so).
  std::error_code ignored;
  if (fs::exists(base / kConfigFile, ignored) || fs::is_symlink(base / kConfigFile, ignored))
    checkpoint.configJson_ = readTextFile((base / kConfigFile).string());
  checkpoint.model_ = SafetensorsSet::open(base.string());
  checkpoint.optimizer_ = SafetensorsFile::open((base / kOptimizerFile).string());
  return checkpoint;
}

void Checkpoint::validate(const std::vector<ExpectedTensor> &params,
                          uint32_t planFormatVersion,
                          const std::optional<std::string> &planHash) const {
  std::vector<std::string> problems = findTensorMismatches(model_, params);
  for (std::string &line : findTensorMismatches(optimizer_, optimizerStateTensors(params)))
    problems.push_back(std::move(line));
  const std::string statePath = (fs::path(dir_) / kStateFile).string();
  if (state_.planFormatVersion != planFormatVersion)
    problems.push_back(statePath + ": written by plan format version " +
                       std::to_string(state_.planFormatVersion) + ", this plan is version " +
                       std::to_string(planFormatVersion));
  if (planHash && state_.planHash != *planHash)
    problems.push_back(statePath + ": written by plan " + state_.planHash +
                       ", resuming with plan " + *planHash +
                       " (a different model, batch or schedule)");
  if (!problems.empty())
    throwProblems(problems);
}

} // namespace off::model
