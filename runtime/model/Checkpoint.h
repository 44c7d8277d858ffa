// Training checkpoints for `offrt train --save-dir DIR` / `--resume DIR`.
//
//   DIR/latest                  "step-N\n": the newest complete checkpoint
//   DIR/step-N/model.safetensors       weights, HF names (format "pt"); past
//                                      SaveOptions::maxShardBytes as HF shards:
//                                      model-0000K-of-0000M.safetensors and
//                                      model.safetensors.index.json
//   DIR/step-N/config.json             HF config: with model.safetensors,
//                                      LlamaForCausalLM.from_pretrained loads it
//   DIR/step-N/optimizer.safetensors   fp32 AdamW moments: "<param>.exp_avg",
//                                      "<param>.exp_avg_sq" per parameter
//   DIR/step-N/trainer_state.json      step, data position, RNG, plan identity
//
// A save is atomic as a unit: everything is written (and fsynced) into
// DIR/step-N.tmp/, which is then renamed to DIR/step-N/, and only then is
// `latest` replaced (atomically). A failure at any point removes the .tmp
// directory and leaves the previous checkpoints and `latest` as they were.
// See docs/data-and-checkpoints.md.
#pragma once

#include "runtime/model/Json.h"
#include "runtime/model/Random.h"
#include "runtime/model/Safetensors.h"
#include "runtime/model/SafetensorsSet.h"
#include "runtime/model/TensorCheck.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace off::model {

inline constexpr int kTrainerStateVersion = 1;
/// transformers' save_pretrained default (max_shard_size "50GB").
inline constexpr uint64_t kDefaultMaxShardBytes = 50'000'000'000ull;

struct TrainerState {
  uint64_t step = 0;          // optimizer steps completed
  uint64_t microBatch = 0;    // data position: the next micro-batch index to read
  uint64_t optimizerStep = 0; // AdamW's step count (bias correction)
  RngState rng;               // the run's random stream, where it stands
  std::string planHash;       // identity of the plan that wrote it
  uint32_t planFormatVersion = 0;
  Json extra = Json::object(); // anything else the trainer wants back

  bool operator==(const TrainerState &other) const;
};

/// trainer_state.json text, and back (`path` names the file in errors).
std::string trainerStateToJson(const TrainerState &state);
TrainerState trainerStateFromJson(const std::string &text, const std::string &path);

/// "<param>.exp_avg" / "<param>.exp_avg_sq".
std::string expAvgName(const std::string &param);
std::string expAvgSqName(const std::string &param);

/// The optimizer.safetensors tensors for `params`: per parameter exp_avg and
/// exp_avg_sq, same shape, F32.
std::vector<ExpectedTensor> optimizerStateTensors(const std::vector<ExpectedTensor> &params);

struct CheckpointContents {
  std::vector<TensorToWrite> model;     // HF names
  std::vector<TensorToWrite> optimizer; // optimizerStateTensors names, F32
  std::string configJson;               // written verbatim (must parse as JSON); none when empty
  std::string readme;                   // README.txt when not empty
  TrainerState state;                   // state.step names the directory
};

struct SaveOptions {
  /// Keep only this many newest step-* directories (0: keep all). The one
  /// `latest` names is never removed.
  size_t keepLast = 0;
  /// Model weights larger than this are written as shards of at most this
  /// many bytes with an index, as transformers' save_pretrained does (0: one
  /// file whatever the size).
  uint64_t maxShardBytes = kDefaultMaxShardBytes;
};

/// "step-" + step
std::string stepDirName(uint64_t step);

/// Saves `contents` as DIR/step-<state.step>/ and points DIR/latest at it;
/// returns the step directory. Throws ModelIoError (naming the file) on any
/// failure, after removing what it wrote: earlier checkpoints stay intact.
std::string saveCheckpoint(const std::string &saveDir, const CheckpointContents &contents,
                           const SaveOptions &options = {});

/// The step directory `dir` means: dir itself when it holds
/// trainer_state.json, else the one dir/latest names, else (no `latest`: a
/// run killed before its first pointer was written) its newest complete
/// step-N/. Throws when none.
std::string resolveCheckpointDir(const std::string &dir);

/// A checkpoint opened for resuming: files mapped, trainer state parsed.
class Checkpoint {
public:
  /// `dir`: a save directory (follows `latest`) or a step directory.
  static Checkpoint open(const std::string &dir);

  const std::string &dir() const { return dir_; }
  const SafetensorsSet &model() const { return model_; }
  const SafetensorsFile &optimizer() const { return optimizer_; }
  const TrainerState &state() const { return state_; }
  const std::string &configJson() const { return configJson_; }

  /// Every problem that stops a resume, in one ModelIoError: model tensors
  /// against `params` (names, shapes, dtypes), optimizer tensors against
  /// optimizerStateTensors(params), the plan format version, and the plan
  /// hash when `planHash` is given.
  void validate(const std::vector<ExpectedTensor> &params, uint32_t planFormatVersion,
                const std::optional<std::string> &planHash = std::nullopt) const;

private:
  std::string dir_;
  SafetensorsSet model_;
  SafetensorsFile optimizer_;
  TrainerState state_;
  std::string configJson_;
};

} // namespace off::model
