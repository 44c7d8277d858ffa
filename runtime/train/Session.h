// A plan loaded for running, with its weights: what `offrt train` and
// `offrt forward` share. Opens and checks plan.bin, sizes the thread pool,
// initialises the parameters (from a safetensors file or, as Hugging Face
// does, from a seed), and moves parameters and AdamW moments to and from
// checkpoints.
#pragma once
#include "runtime/model/Checkpoint.h"
#include "runtime/model/TensorCheck.h"
#include "runtime/train/PlanProgram.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::train {

/// A problem with the user's input (files, flags); the message says which.
class TrainError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Reads and validates plan.bin; throws TrainError naming the file.
plan::Plan loadPlanFile(const std::string &path);

/// A short identity of a plan's contents (hex), stored in checkpoints.
std::string planHash(const plan::Plan &plan);

struct SessionOptions {
  backend::Backend *backend = nullptr; // required; not owned
  std::string planPath;
  std::string expectedEntry;    // "train_step" or "forward"
  unsigned threads = 0;         // 0: the default pool size
  bool checkResidency = false;
  /// Directories for the plan's NVMe arenas (one per drive; offrt --nvme);
  /// needed only by plans that have NVMe arenas.
  std::vector<std::string> nvmeDirectories;
  /// Host arenas the OS refuses to pin continue unpinned, with a warning.
  bool allowUnpinned = false;
};

class Session {
public:
  explicit Session(const SessionOptions &options);

  PlanProgram &program() { return *program_; }
  const plan::Plan &plan() const { return program_->plan(); }
  const std::string &planPath() const { return program_->path(); }

  /// Parameters (name = checkpoint name, shape, F32), in plan order.
  const std::vector<model::ExpectedTensor> &params() const { return params_; }
  /// The trainable ones: those with AdamW moments.
  const std::vector<model::ExpectedTensor> &trainableParams() const { return trainable_; }

  /// Hugging Face's initialisation from `seed` (normal with the model's
  /// initializer_range, norms 1, biases 0).
  void initFromSeed(uint64_t seed);
  /// Loads every parameter from a safetensors file (F32, or BF16/F16
  /// converted); extra tensors are ignored, missing ones or other shapes
  /// are one error listing every problem.
  void initFromFile(const std::string &path);
  /// True when the plan names where its parameters' values are (offc
  /// compile of an ONNX export: plan.proto Model.weights).
  bool hasPlanWeights() const { return plan().model().weights_size() > 0; }
  /// Loads every parameter from the files the plan names, after checking
  /// each file's size and the tensor's sample checksum (a replaced or
  /// re-exported file is an error naming it). Returns the files read, for
  /// the progress line.
  std::vector<std::string> initFromPlanWeights();
  /// The Hugging Face config.json checkpoints carry: the plan's; empty when
  /// it has none (the checkpoints then have no config.json, so that
  /// from_pretrained refuses them at once instead of building a default
  /// Llama, and a README.txt saying why).
  std::string configJson() const;
  /// Empty when the plan has a config; otherwise the README.txt text of its
  /// checkpoints: why they do not load with from_pretrained and what they hold.
  std::string checkpointNote() const;
  /// Bytes of one checkpoint: weights, moments and a little for the JSON files.
  uint64_t checkpointBytes() const;

  /// Throws TrainError naming `source`, the tensor and the element when a
  /// parameter holds NaN or an infinity.
  void checkFiniteParams(const std::string &source) const;
  /// "" or "tensor 'X' holds NaN at element k (of n)" for the first
  /// non-finite parameter value.
  std::string nonFiniteParam() const;

  /// Zeroes the AdamW moments (a fresh start).
  void zeroOptimizerState();
  /// Fills every compute copy (a param with copy_of, e.g. the bf16 weights
  /// of a bf16-mixed plan) from its master, rounding to nearest even. The
  /// init and restore functions call it; adam_step keeps them in step after.
  void refreshComputeCopies();

  /// What a checkpoint of the current state holds (pointers into the plan's
  /// memory: valid until the next step runs).
  model::CheckpointContents checkpointContents(const model::TrainerState &state) const;
  /// Restores parameters and moments from an opened checkpoint after
  /// checking names, shapes and dtypes; throws listing every problem.
  void restore(const model::Checkpoint &checkpoint);

private:
  uint32_t paramId(size_t index) const { return paramIds_[index]; }

  std::unique_ptr<PlanProgram> program_;
  std::vector<uint32_t> paramIds_;
  std::vector<std::pair<uint32_t, uint32_t>> copies_; // (copy, master) ids
  std::vector<model::ExpectedTensor> params_, trainable_;
};

} // namespace off::train
