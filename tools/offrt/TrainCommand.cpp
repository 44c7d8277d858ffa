// offrt train / offrt forward: the command lines of runtime/train.

#include "runtime/backend/BackendList.h"
#include "runtime/common/CliCommand.h"
#include "runtime/exec/Executor.h"
#include "runtime/model/ModelError.h"
#include "runtime/train/PlanProgram.h"
#include "runtime/train/Session.h"
#include "runtime/train/Trainer.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::offrt {
namespace {

class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// --data-dtype: the token file's layout.
cli::ValueParser dataDtype(model::TokenFileFormat &slot) {
  return [&slot](const std::string &text) -> std::string {
    std::optional<model::TokenFileFormat> format = model::parseTokenFileFormat(text);
    if (!format)
      return "needs one of llmc, uint16, uint32, got '" + text + "'";
    slot = *format;
    return "";
  };
}

/// The options train and forward share.
void addDataOptions(cli::Command &cmd, std::string &plan, std::string &data,
                    model::TokenFileFormat &format) {
  cmd.positional("PLAN.bin", plan, "the plan (`offc compile`)");
  cmd.group("Data");
  cmd.option("--data", data, "FILE", "token file (llm.c format; see --data-dtype)");
  cmd.option("--data-dtype", "D", "llmc (default: the 256-int header), uint16, uint32 (raw)",
             dataDtype(format));
}

/// --nvme DIR (repeatable): where a plan's NVMe arenas live.
void addNvmeOption(cli::Command &cmd, std::vector<std::string> &directories) {
  cmd.option("--nvme", directories, "DIR",
             "files of the plan's NVMe arenas go in a fresh\ndirectory here, removed at the end "
             "(io_uring,\nO_DIRECT); repeat, one per drive, to stripe;\nneeded by plans with "
             "NVMe arenas");
}

/// --backend NAME: which backend runs the plan (runtime/backend/BackendList.h).
void addBackendOption(cli::Command &cmd, std::string &name) {
  cmd.option("--backend", name, "NAME",
             "cpu (default), or cuda on a CUDA build with a\nusable GPU");
}

void requirePlanAndData(const std::string &plan, const std::string &data) {
  if (plan.empty())
    throw UsageError("no plan given");
  if (data.empty())
    throw UsageError("no --data TOKENS.bin given");
}

/// Runs `body`, turning every error into one line on stderr and an exit code.
int runReporting(const cli::Command &cmd, const std::function<void()> &body) {
  const char *command = cmd.path().c_str();
  try {
    body();
    return 0;
  } catch (const UsageError &error) {
    return cmd.usageError(error.what());
  } catch (const exec::ExecError &error) {
    std::fprintf(stderr, "%s: error: the step failed: %s\n", command, error.what());
  } catch (const std::exception &error) {
    std::fprintf(stderr, "%s: error: %s\n", command, error.what());
  }
  return 1;
}

} // namespace

int runTrain(const std::vector<std::string> &args) {
  train::TrainOptions options;
  std::string backendName = "cpu";
  int exitCode = 0; // 128 + signal when a stop signal ended the run
  double lr = 0;
  cli::Command cmd("offrt train", "PLAN.bin --data TOKENS.bin [options]",
                   "Trains with a train_step plan from `offc compile`: each step runs the plan\n"
                   "once on the next K micro-batches of the token file (llm.c's order).");
  addDataOptions(cmd, options.planPath, options.dataPath, options.dataFormat);
  cmd.group("Weights");
  cmd.option("--init", options.initPath, "PATH",
             "start from these weights: a safetensors file, a\nHugging Face model directory "
             "or index (sharded\nmodel-0000K-of-0000M.safetensors), or a checkpoint\n"
             "step directory; HF names; F32, or BF16/F16\nconverted");
  cmd.option("--seed", options.seed, "S",
             "Hugging Face's init from seed S instead of the\nweights the plan names (an ONNX export's);\nwithout either, seed 0");
  cmd.option("--resume", options.resumeDir, "DIR",
             "continue from a checkpoint (a --save-dir or one of\nits step-N directories): "
             "weights, AdamW moments,\nstep, data position");
  cmd.group("Run");
  cmd.option("--steps", options.steps, "N",
             "total optimizer steps (default: one pass over the\ndata)", cli::positive);
  cmd.option("--lr", lr, "X", "learning rate (default: the plan's)", cli::positive);
  addBackendOption(cmd, backendName);
  train::LrSchedule schedule;
  double minLr = 0;
  cmd.choice("--lr-schedule", schedule.kind,
             {{"constant", train::LrScheduleKind::Constant},
              {"linear", train::LrScheduleKind::Linear},
              {"cosine", train::LrScheduleKind::Cosine}},
             "the lr per step, as transformers' schedulers\n(default constant; a resumed run "
             "keeps its own)");
  cmd.option("--warmup-steps", schedule.warmupSteps, "N",
             "linear warmup from 0 over the first N steps");
  cmd.option("--min-lr", minLr, "X", "cosine only: decay to X instead of 0",
             cli::nonNegative);
  cmd.option("--max-skipped-steps", options.maxSkippedSteps, "K",
             "steps with a non-finite loss or gradient norm are\nskipped (no update); more "
             "than K in a row stop\nthe run (default 3)");
  cmd.threads("--threads", options.threads,
              "compute threads, at most the CPUs this process\nmay run on (default: all of them)");
  cmd.threads("--optimizer-threads", options.optimizerThreads,
              "AdamW threads for a plan with a host-optimizer\nstream (default: 1 on the "
              "CPU backend, beside\nthe compute threads; on a GPU backend as many as\n--threads)");
  cmd.flag("--check-residency", options.checkResidency,
           "check every kernel's inputs are resident and\ncomplete");
  addNvmeOption(cmd, options.nvmeDirectories);
  cmd.flag("--allow-unpinned", options.allowUnpinned,
           "when the OS refuses to pin a host arena\n(RLIMIT_MEMLOCK), continue with pageable\n"
           "memory (slower copies) instead of stopping");
  cmd.group("Evaluation");
  cmd.option("--eval-data", options.evalDataPath, "FILE",
             "held-out token file (same format as --data): its\nmean loss and perplexity, "
             "with the updates\nskipped, after the last step and every --eval-every");
  cmd.option("--eval-every", options.evalEvery, "K", "evaluate every K steps too",
             cli::positive);
  cmd.option("--eval-batches", options.evalBatches, "N",
             "micro-batches per evaluation, from the file's\nstart (default: one pass; a "
             "multiple of the\nplan's grad-accum)", cli::positive);
  cmd.group("Output");
  cmd.option("--save-dir", options.saveDir, "DIR",
             "checkpoints DIR/step-N/ (HF-loadable\nmodel.safetensors + config.json, optimizer\n"
             "state, trainer state), atomically");
  cmd.option("--save-every", options.saveEvery, "K", "also every K steps (default: only at the end)",
             cli::positive);
  cmd.option("--keep-last", options.keepLast, "N", "keep the newest N checkpoints (default: all)",
             cli::positive);
  cmd.flag("--overwrite", options.overwrite,
           "replace the checkpoints of another run in\n--save-dir (without it such a directory "
           "is\nrefused)");
  cmd.size("--max-shard-size", options.maxShardBytes,
           "weights larger than this are saved as shards with\nan index, as save_pretrained "
           "(default 50G, its\ndefault)");
  cmd.option("--log", options.logPath, "FILE",
             "one JSON object per step (step, loss, grad_norm,\nlr, tokens_per_s, ms) and "
             "per evaluation;\na resumed run drops the lines after its\ncheckpoint's step");
  cmd.option("--save-grads", options.saveGradsPath, "FILE",
             "the first step's gradients (summed over\nmicro-batches, before clipping) as "
             "safetensors,\nfor checking");
  cmd.option("--profile", options.profilePath, "FILE",
             "time per kernel op over every step but the\nfirst, as JSON (ms and calls per op)");
  cmd.option("--report", options.reportPath, "FILE",
             "each memory tier's budget and measured peak\n(bytes) as JSON, in the shape of "
             "offc compile\n--report's \"tiers\"");
  cmd.option("--progress-every", options.progressEvery, "K",
             "a progress line every K steps (default: about\none a second)", cli::positive);
  cmd.flag("--quiet", options.quiet, "no progress lines");
  if (std::optional<int> exit = cmd.parse(args))
    return *exit;
  if (cmd.given("--lr")) {
    // AdamW computes in fp32: a value that is infinite or zero there is refused.
    if (!std::isfinite(float(lr)) || float(lr) == 0.0f)
      return cmd.usageError("--lr " + cmd.value("--lr") + " is " +
                            (float(lr) == 0.0f ? "zero" : "infinite") +
                            " in 32-bit floating point, which the optimizer computes in");
    options.lr = lr;
  }
  if (cmd.given("--min-lr"))
    schedule.minLr = minLr;
  if (cmd.given("--lr-schedule") || cmd.given("--warmup-steps") || cmd.given("--min-lr"))
    options.schedule = schedule;
  int rc = runReporting(cmd, [&] {
    options.backend = &backend::backendNamed(backendName);
    requirePlanAndData(options.planPath, options.dataPath);
    if (!options.initPath.empty() && !options.resumeDir.empty())
      throw UsageError("--init and --resume both give the weights; pick one");
    options.seedGiven = cmd.given("--seed");
    if (cmd.given("--seed") && (!options.initPath.empty() || !options.resumeDir.empty()))
      throw UsageError("--seed initialises weights; with --init or --resume it would be ignored");
    if (options.saveEvery && options.saveDir.empty())
      throw UsageError("--save-every needs --save-dir");
    if (options.overwrite && options.saveDir.empty())
      throw UsageError("--overwrite needs --save-dir");
    if (options.keepLast && options.saveDir.empty())
      throw UsageError("--keep-last needs --save-dir");
    if ((options.evalEvery || options.evalBatches) && options.evalDataPath.empty())
      throw UsageError(std::string(options.evalEvery ? "--eval-every" : "--eval-batches") +
                       " needs --eval-data");
    if (schedule.minLr && schedule.kind != train::LrScheduleKind::Cosine)
      throw UsageError("--min-lr applies to --lr-schedule cosine (the schedule is " +
                       std::string(train::lrScheduleName(schedule.kind)) + ")");
    if (options.quiet && cmd.given("--progress-every"))
      throw UsageError("--quiet and --progress-every contradict each other");
    train::TrainResult result = train::train(options);
    if (result.stoppedBySignal) {
      exitCode = 128 + result.stoppedBySignal;
      return;
    }
    if (!options.quiet && !result.losses.empty())
      std::fprintf(stderr, "offrt train: done: step %llu, loss %.4f%s%s%s\n",
                   (unsigned long long)result.lastStep, result.losses.back(),
                   result.skippedSteps
                       ? (", " + std::to_string(result.skippedSteps) + " step(s) skipped").c_str()
                       : "",
                   result.lastCheckpoint.empty() ? "" : ", checkpoint ",
                   result.lastCheckpoint.c_str());
  });
  return rc ? rc : exitCode;
}

int runForward(const std::vector<std::string> &args) {
  train::ForwardOptions options;
  std::string backendName = "cpu";
  cli::Command cmd("offrt forward", "PLAN.bin --data TOKENS.bin (--init PATH | --seed S) -o OUT",
                   "Runs a forward plan (`offc compile --forward`) on one micro-batch of the\n"
                   "token file and writes `logits` (f32 [B, T, V]) and `input_ids` (i32 [B, T])\n"
                   "to OUT as safetensors.");
  addDataOptions(cmd, options.planPath, options.dataPath, options.dataFormat);
  cmd.option("--micro-batch", options.microBatch, "I",
             "which micro-batch of the file (default 0)");
  cmd.group("Weights");
  cmd.option("--init", options.initPath, "PATH",
             "the weights: a safetensors file, a Hugging Face\nmodel directory or index "
             "(sharded), or a\ncheckpoint step directory (HF names)");
  cmd.option("--seed", options.seed, "S",
             "Hugging Face's init from seed S instead of the\nweights the plan names (an ONNX export's);\nwithout either, seed 0");
  cmd.group("Run");
  addBackendOption(cmd, backendName);
  cmd.threads("--threads", options.threads,
              "compute threads, at most the CPUs this process\nmay run on (default: all of them)");
  cmd.flag("--check-residency", options.checkResidency,
           "check every kernel's inputs are resident and\ncomplete");
  addNvmeOption(cmd, options.nvmeDirectories);
  cmd.flag("--allow-unpinned", options.allowUnpinned,
           "when the OS refuses to pin a host arena\n(RLIMIT_MEMLOCK), continue with pageable\n"
           "memory (slower copies) instead of stopping");
  cmd.group("Output");
  cmd.option("-o,--output", options.outputPath, "FILE", "logits and input_ids (safetensors)");
  if (std::optional<int> exit = cmd.parse(args))
    return *exit;
  return runReporting(cmd, [&] {
    options.backend = &backend::backendNamed(backendName);
    requirePlanAndData(options.planPath, options.dataPath);
    if (options.outputPath.empty())
      throw UsageError("no -o OUT.safetensors given");
    options.seedGiven = cmd.given("--seed");
    if (cmd.given("--seed") && !options.initPath.empty())
      throw UsageError("--seed initialises weights; with --init or --resume it would be ignored");
    std::string wrote = train::forward(options);
    std::fprintf(stderr, "offrt forward: wrote %s\n", wrote.c_str());
  });
}

} // namespace off::offrt
