// The training loop of `offrt train` and the single pass of `offrt forward`.
//
// One optimizer step = one run of the plan's train_step, fed with the K
// micro-batches that follow in the token file (llm.c's order, see
// docs/data-and-checkpoints.md). The AdamW step count, the learning rate,
// the data position and the weights are all the state there is, so a run
// resumed from a checkpoint continues bit for bit.
#pragma once
#include "runtime/backend/Backend.h"
#include "runtime/model/Checkpoint.h"
#include "runtime/model/TokenData.h"
#include "runtime/train/LrSchedule.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace off::train {

struct TrainOptions {
  backend::Backend *backend = nullptr; // what runs the plan (required; not owned)
  std::string planPath;
  std::string dataPath;
  model::TokenFileFormat dataFormat = model::TokenFileFormat::Llmc;
  std::string initPath;           // --init: weights; empty: the plan's weights, else --seed
  uint64_t seed = 0;
  bool seedGiven = false;         // --seed S: from the seed even when the plan names weights
  uint64_t steps = 0;             // total optimizer steps (0: the resumed run's, or one pass)
  std::optional<double> lr;       // overrides the plan's learning rate
  /// --lr-schedule / --warmup-steps / --min-lr (nullopt: the resumed run's,
  /// or constant without warmup).
  std::optional<LrSchedule> schedule;
  std::string saveDir;
  bool overwrite = false;         // --overwrite: replace another run's checkpoints in saveDir
  uint64_t saveEvery = 0;         // 0: only at the end (when saveDir is set)
  size_t keepLast = 0;            // checkpoints kept (0: all)
  uint64_t maxShardBytes = model::kDefaultMaxShardBytes; // saved weights past this: shards
  std::string resumeDir;
  std::string logPath;            // JSONL, one object per step (and per evaluation)
  std::string saveGradsPath;      // gradients of the first step run
  /// Steps with a non-finite loss or gradient norm are skipped; this many in
  /// a row stop the run.
  uint64_t maxSkippedSteps = 3;
  std::string evalDataPath;       // --eval-data: held-out tokens (same format as --data)
  uint64_t evalEvery = 0;         // evaluate every K steps (and after the last)
  uint64_t evalBatches = 0;       // micro-batches per evaluation (0: one pass, a multiple of K)
  /// --profile: time per kernel op over every step but the first (warm-up)
  /// as JSON: {"steps": N, "ops": {"matmul": {"ms": .., "calls": ..}, ...}}
  std::string profilePath;
  /// --report: each memory tier's budget and measured peak after the run,
  /// as offc compile --report's "tiers" (TierReport.h).
  std::string reportPath;
  unsigned threads = 0;
  /// Threads of the AdamW pool when the plan has a host-optimizer stream
  /// (0: one); the compute kernels keep `threads`.
  unsigned optimizerThreads = 0;
  bool checkResidency = false;
  std::vector<std::string> nvmeDirectories; // --nvme: for plans with NVMe arenas
  bool allowUnpinned = false;     // host arenas may stay pageable
  uint64_t progressEvery = 0;     // a line every K steps (0: about once a second)
  bool quiet = false;             // no progress lines
};

struct EvalResult {
  uint64_t step = 0;
  double loss = 0;
  uint64_t tokens = 0;
};

struct TrainResult {
  std::vector<double> losses;     // one per step run (skipped ones included)
  std::vector<EvalResult> evals;  // one per evaluation
  uint64_t lastStep = 0;          // optimizer steps completed in total
  uint64_t skippedSteps = 0;      // in this process
  std::string lastCheckpoint;     // empty when none was saved
  int stoppedBySignal = 0;        // SIGINT/SIGTERM that ended the run early
};

/// Throws TrainError / model::ModelIoError / PlanError / exec::ExecError with
/// messages naming the file (and tensor or instruction).
TrainResult train(const TrainOptions &options);

struct ForwardOptions {
  backend::Backend *backend = nullptr; // what runs the plan (required; not owned)
  std::string planPath;
  std::string dataPath;
  model::TokenFileFormat dataFormat = model::TokenFileFormat::Llmc;
  std::string initPath;           // as TrainOptions
  uint64_t seed = 0;
  bool seedGiven = false;
  uint64_t microBatch = 0;
  std::string outputPath;         // safetensors: logits (F32), input_ids (I32)
  unsigned threads = 0;
  bool checkResidency = false;
  std::vector<std::string> nvmeDirectories; // --nvme: for plans with NVMe arenas
  bool allowUnpinned = false;     // host arenas may stay pageable
};

/// Returns what it wrote, for the command to say ("OUT (logits f32 [...], ...)").
std::string forward(const ForwardOptions &options);

} // namespace off::train
