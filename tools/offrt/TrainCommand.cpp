// offrt train / offrt forward: the command lines of runtime/train.

#include "runtime/exec/Executor.h"
#include "runtime/model/ModelError.h"
#include "runtime/train/PlanProgram.h"
#include "runtime/train/Session.h"
#include "runtime/train/Trainer.h"

#include <algorithm>
#include <charconv>
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

const char *const kTrainUsage =
    "Usage: offrt train PLAN.bin --data TOKENS.bin [options]\n"
    "\n"
    "Trains with a train_step plan from `offc compile`: each step runs the plan\n"
    "once on the next K micro-batches of the token file (llm.c's order).\n"
    "\n"
    "Data:\n"
    "  --data FILE           token file (llm.c format; see --data-dtype)\n"
    "  --data-dtype D        llmc (default: the 256-int header), uint16, uint32 (raw)\n"
    "Weights:\n"
    "  --init FILE           start from these weights (safetensors, HF names;\n"
    "                        F32, or BF16/F16 converted)\n"
    "  --seed S              without --init: Hugging Face's init from seed S (default 0)\n"
    "  --resume DIR          continue from a checkpoint (a --save-dir or one of its\n"
    "                        step-N directories): weights, AdamW moments, step, data\n"
    "Run:\n"
    "  --steps N             total optimizer steps (default: one pass over the data)\n"
    "  --lr X                learning rate (default: the plan's)\n"
    "  --threads N           compute threads (default: all cores)\n"
    "  --optimizer-threads N AdamW threads for a plan with a host-optimizer stream\n"
    "                        (`offc compile --optimizer-stream`; default 1)\n"
    "  --check-residency     check every kernel's inputs are resident and complete\n"
    "Output:\n"
    "  --save-dir DIR        checkpoints DIR/step-N/ (HF-loadable model.safetensors +\n"
    "                        config.json, optimizer state, trainer state), atomically\n"
    "  --save-every K        also every K steps (default: only at the end)\n"
    "  --keep-last N         keep the newest N checkpoints (default: all)\n"
    "  --log FILE            one JSON object per step (step, loss, grad_norm, lr,\n"
    "                        tokens_per_s, ms)\n"
    "  --save-grads FILE     the first step's gradients (summed over micro-batches,\n"
    "                        before clipping) as safetensors, for checking\n"
    "  --progress-every K    a progress line every K steps (default 1)\n"
    "  --quiet               no progress lines\n";

const char *const kForwardUsage =
    "Usage: offrt forward PLAN.bin --data TOKENS.bin (--init FILE | --seed S) -o OUT\n"
    "\n"
    "Runs a forward plan (`offc compile --forward`) on one micro-batch of the\n"
    "token file and writes `logits` (f32 [B, T, V]) and `input_ids` (i32 [B, T])\n"
    "to OUT as safetensors.\n"
    "  --data FILE, --data-dtype D   as for train\n"
    "  --init FILE | --seed S        weights\n"
    "  --micro-batch I               which micro-batch of the file (default 0)\n"
    "  --threads N, --check-residency\n"
    "  -o, --output FILE\n";

class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Walks `--name VALUE` / `--name=VALUE` options and one positional plan.
class Args {
public:
  explicit Args(const std::vector<std::string> &args) : args_(args) {}

  /// Calls on(name, value) for every option; flags get an empty value.
  /// `flags` lists the options that take no value.
  void parse(const std::vector<std::string> &flags,
             const std::function<void(const std::string &, const std::string &)> &on,
             std::string &positional) {
    for (size_t i = 0; i < args_.size(); ++i) {
      std::string arg = args_[i];
      if (arg.size() < 2 || arg[0] != '-') {
        if (!positional.empty())
          throw UsageError("more than one plan: '" + positional + "' and '" + arg + "'");
        positional = arg;
        continue;
      }
      std::string value;
      if (size_t eq = arg.find('='); eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      } else if (std::find(flags.begin(), flags.end(), arg) == flags.end()) {
        if (i + 1 >= args_.size())
          throw UsageError(arg + " needs a value");
        value = args_[++i];
      }
      on(arg, value);
    }
  }

private:
  const std::vector<std::string> &args_;
};

uint64_t parseCount(const std::string &option, const std::string &text, bool allowZero) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || (!allowZero && value == 0))
    throw UsageError(option + " needs a " + (allowZero ? "non-negative" : "positive") +
                     " integer, got '" + text + "'");
  return value;
}

double parsePositiveNumber(const std::string &option, const std::string &text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception &) {
    used = 0;
  }
  if (used != text.size() || !(value > 0) || !std::isfinite(value))
    throw UsageError(option + " needs a positive number, got '" + text + "'");
  return value;
}

model::TokenFileFormat parseDataDtype(const std::string &text) {
  std::optional<model::TokenFileFormat> format = model::parseTokenFileFormat(text);
  if (!format)
    throw UsageError("--data-dtype must be llmc, uint16 or uint32, got '" + text + "'");
  return *format;
}

void requirePlanAndData(const std::string &plan, const std::string &data) {
  if (plan.empty())
    throw UsageError("no plan given");
  if (data.empty())
    throw UsageError("no --data TOKENS.bin given");
}

/// Runs `body`, turning every error into one line on stderr and an exit code.
int runReporting(const char *command, const char *usage, const std::vector<std::string> &args,
                 const std::function<void()> &body) {
  for (const std::string &arg : args)
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      return 0;
    }
  try {
    body();
    return 0;
  } catch (const UsageError &error) {
    std::fprintf(stderr, "%s: error: %s (see `%s --help`)\n", command, error.what(), command);
    return 2;
  } catch (const exec::ExecError &error) {
    std::fprintf(stderr, "%s: error: the step failed: %s\n", command, error.what());
  } catch (const std::exception &error) {
    std::fprintf(stderr, "%s: error: %s\n", command, error.what());
  }
  return 1;
}

} // namespace

int runTrain(const std::vector<std::string> &args) {
  return runReporting("offrt train", kTrainUsage, args, [&] {
    train::TrainOptions options;
    bool seedGiven = false;
    Args(args).parse(
        {"--check-residency", "--quiet"},
        [&](const std::string &name, const std::string &value) {
          if (name == "--data") options.dataPath = value;
          else if (name == "--data-dtype") options.dataFormat = parseDataDtype(value);
          else if (name == "--init") options.initPath = value;
          else if (name == "--seed") options.seed = parseCount(name, value, true), seedGiven = true;
          else if (name == "--resume") options.resumeDir = value;
          else if (name == "--steps") options.steps = parseCount(name, value, false);
          else if (name == "--lr") options.lr = parsePositiveNumber(name, value);
          else if (name == "--threads") options.threads = unsigned(parseCount(name, value, false));
          else if (name == "--optimizer-threads")
            options.optimizerThreads = unsigned(parseCount(name, value, false));
          else if (name == "--check-residency") options.checkResidency = true;
          else if (name == "--save-dir") options.saveDir = value;
          else if (name == "--save-every") options.saveEvery = parseCount(name, value, false);
          else if (name == "--keep-last") options.keepLast = parseCount(name, value, false);
          else if (name == "--log") options.logPath = value;
          else if (name == "--save-grads") options.saveGradsPath = value;
          else if (name == "--progress-every") options.progressEvery = parseCount(name, value, false);
          else if (name == "--quiet") options.quiet = true;
          else throw UsageError("unknown option '" + name + "'");
        },
        options.planPath);
    requirePlanAndData(options.planPath, options.dataPath);
    if (!options.initPath.empty() && !options.resumeDir.empty())
      throw UsageError("--init and --resume both give the weights; pick one");
    if (seedGiven && (!options.initPath.empty() || !options.resumeDir.empty()))
      throw UsageError("--seed initialises weights; with --init or --resume it would be ignored");
    if (options.saveEvery && options.saveDir.empty())
      throw UsageError("--save-every needs --save-dir");
    train::TrainResult result = train::train(options);
    if (!options.quiet && !result.losses.empty())
      std::fprintf(stderr, "offrt train: done: step %llu, loss %.4f%s%s\n",
                   (unsigned long long)result.lastStep, result.losses.back(),
                   result.lastCheckpoint.empty() ? "" : ", checkpoint ",
                   result.lastCheckpoint.c_str());
  });
}

int runForward(const std::vector<std::string> &args) {
  return runReporting("offrt forward", kForwardUsage, args, [&] {
    train::ForwardOptions options;
    bool seedGiven = false;
    Args(args).parse(
        {"--check-residency"},
        [&](const std::string &name, const std::string &value) {
          if (name == "--data") options.dataPath = value;
          else if (name == "--data-dtype") options.dataFormat = parseDataDtype(value);
          else if (name == "--init") options.initPath = value;
          else if (name == "--seed") options.seed = parseCount(name, value, true), seedGiven = true;
          else if (name == "--micro-batch") options.microBatch = parseCount(name, value, true);
          else if (name == "--threads") options.threads = unsigned(parseCount(name, value, false));
          else if (name == "--check-residency") options.checkResidency = true;
          else if (name == "-o" || name == "--output") options.outputPath = value;
          else throw UsageError("unknown option '" + name + "'");
        },
        options.planPath);
    requirePlanAndData(options.planPath, options.dataPath);
    if (options.outputPath.empty())
      throw UsageError("no -o OUT.safetensors given");
    if (seedGiven && !options.initPath.empty())
      throw UsageError("--seed initialises weights; with --init or --resume it would be ignored");
    train::forward(options);
  });
}

} // namespace off::offrt
