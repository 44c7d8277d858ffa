// offc compile: a model to plan.bin, one training step (or, with --forward,
// one forward pass) ready for offrt.
//
//   offc compile (MODEL.onnx [--shape ...] | --model llama (--config F |
//                 --size NAME) --batch B --seq T) [--forward]
//                [--grad-accum K] [--lr X] [--betas B1,B2] [--eps X]
//                [--weight-decay X] [--clip X] [--vram SIZE] [--host-ram SIZE]
//                [--nvme DIR [--nvme-size SIZE]] [--place C=T]... [--remat R]
//                [--report FILE] -o PLAN.bin
//
// Pipeline: a frontend (ONNX importer or Llama builder; no passes) ->
// off-compile (dialects/off/Transforms/Pipeline.cpp: off-fold-shapes,
// off-fuse-llm, off-autodiff unless --forward, then the memory level) ->
// serializePlan -> writePlanFile. The
// memory decisions are MemoryPolicy.h's: the forcing options, or the greedy
// ladder tried until the budgets hold.

#include "compiler/Import/ModelStats.h"
#if __has_include("compiler/Import/OnnxHfConfig.h")
#include "compiler/Import/OnnxHfConfig.h"
#endif
#include "compiler/Plan/SerializePlan.h"
#include "compiler/Simulate/DeviceProfile.h"
#include "compiler/Simulate/LowerBound.h"
#include "compiler/Simulate/Simulator.h"
#include "dialects/off/Transforms/Passes.h"
#include "tools/offc/MemoryPolicy.h"
#include "runtime/common/BuildInfo.h"
#include "runtime/common/HumanSize.h"
#include "runtime/common/LayerName.h"
#include "runtime/plan/Plan.h"
#include "tools/offc/CliSupport.h"
#include "tools/offc/Commands.h"
#include "tools/offc/ImportCommand.h"
#include "tools/offc/PlanWeights.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <map>

using llvm::StringRef;

namespace off::offc {
namespace {

constexpr const char *kCommand = "offc compile";

struct CompileArgs {
  ModelSourceArgs source;
  std::string output;
  std::string irOutput; // --emit-mlir: the step function before lowering
  bool forward = false;
  MemoryOptions memory;
  std::string report; // --report FILE.json
  std::string profile; // --profile: a device profile for predicted_step_s
  // greedy | auto (needs --profile) | one of kEmulatedStrategies
  std::string strategy = "greedy";
  // AdamW and the step; defaults are torch.optim.AdamW's and clip 1.0.
  int64_t gradAccum = 1;
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weightDecay = 0.01, clip = 1.0;
  bool optimizerStream = false;
  std::string precision = "fp32"; // fp32 | bf16-mixed
  std::string gradDtype;          // bf16 | f32 (bf16-mixed only; default bf16)
};

/// A finite number, all of `text`.
bool parseFinite(StringRef text, double &out) {
  std::string copy = text.str();
  char *end = nullptr;
  out = copy.empty() ? NAN : std::strtod(copy.c_str(), &end);
  return !copy.empty() && *end == '\0' && std::isfinite(out);
}

/// The training options, refused with --forward.
const char *const kTrainOptions[] = {"--grad-accum", "--lr",     "--beta1",
                                     "--beta2",      "--betas",  "--eps",
                                     "--weight-decay", "--clip", "--optimizer-stream"};

void addCompileOptions(cli::Command &cmd, CompileArgs &out) {
  addModelSourceOptions(cmd, out.source);
  cmd.group("Step");
  cmd.flag("--forward", out.forward,
           "one forward pass (input_ids -> logits) instead\nof a training step: K "
           "micro-batches of forward,\nloss and backward, gradient clipping, AdamW");
  cmd.group("Training options (as torch.optim.AdamW and clip_grad_norm_)");
  cmd.option("--grad-accum", out.gradAccum, "K", "micro-batches per optimizer step (default 1)",
             cli::positive);
  cmd.option("--lr", out.lr, "X",
             "learning rate (default 1e-3; offrt train --lr\noverrides it at run time)");
  cmd.option("--betas", "B1,B2", "(default 0.9,0.999); or --beta1 X, --beta2 X",
             [&out](const std::string &text) -> std::string {
               auto [first, second] = StringRef(text).split(',');
               double b1 = 0, b2 = 0;
               if (second.empty() || second.contains(',') || !parseFinite(first, b1) ||
                   !parseFinite(second, b2))
                 return "needs two numbers B1,B2, got '" + text + "'";
               out.beta1 = b1;
               out.beta2 = b2;
               return "";
             });
  cmd.option("--beta1", out.beta1, "X", "the first of --betas alone");
  cmd.option("--beta2", out.beta2, "X", "the second of --betas alone");
  cmd.option("--eps", out.eps, "X", "(default 1e-8)");
  cmd.option("--weight-decay", out.weightDecay, "X", "decoupled weight decay (default 0.01)");
  cmd.option("--clip", out.clip, "X", "max global gradient norm (default 1.0; 0: off)");
  cmd.flag("--optimizer-stream", out.optimizerStream,
           "run AdamW on a host-optimizer stream, each\nlayer's update as soon as its "
           "gradient is\nfinal, beside the backward of the layers before\nit (needs --clip 0 "
           "to overlap: clipping waits\nfor the global norm); the same as\n--place "
           "optimizer=host");
  cmd.group("Precision");
  cmd.option("--precision", out.precision, "P",
             "fp32 (default) or bf16-mixed: matmuls and\nattention in bf16 on bf16 copies of the "
             "weights\n(fp32 accumulation), fp32 master weights, Adam\nstate, norms, softmax and "
             "loss (as torch.autocast)");
  cmd.option("--grad-dtype", out.gradDtype, "T",
             "bf16-mixed: the gradients of the bf16 copies,\nbf16 (default) or f32 (summed over "
             "micro-batches\nin f32, as torch's .grad under autocast)");
  cmd.group("Memory");
  cmd.size("--vram", out.memory.vram,
           "device budget, e.g. 24G, 512M: without --place\nor --remat the greedy policy "
           "fits the step\n(optimizer to the host, then per-layer\nrecompute, then params "
           "and grads streamed from\nthe host, then NVMe)");
  cmd.size("--host-ram", out.memory.hostRam,
           "host budget (pinned host arena, staging\nbuffers included)");
  cmd.option("--nvme", out.memory.nvmeDir, "DIR",
             "allow the NVMe tier (files under DIR; offrt\ntrain --nvme may move them)");
  cmd.size("--nvme-size", out.memory.nvmeSize, "NVMe budget (default: none)");
  cmd.option("--place", out.memory.place, "C=T",
             "put a class (params, grads, optimizer,\nactivations) or the params and "
             "optimizer\nstates matching a glob on a tier (device,\nhost, nvme); "
             "repeatable, later ones win");
  cmd.choice("--strategy", out.strategy,
             {"greedy", "auto", "none", "recompute-all", "zero-offload", "zero-infinity",
              "accelerate-offload"},
             "greedy (default): the first decision set of\nthe ladder that fits; auto: every set "
             "of the\nladder and every emulated strategy that fits,\neach replayed on --profile, "
             "the fastest; or one\nemulated strategy, its fixed layout: none,\nrecompute-all, "
             "zero-offload, zero-infinity,\naccelerate-offload (docs/planner.md)");
  cmd.option("--remat", out.memory.remat, "R",
             "recompute activations: none, all (every\nlayer) or a glob over layer names\n"
             "(model.layers.1*)");
  cmd.group("Output");
  cmd.option("--report", out.report, "FILE",
             "the memory plan as JSON: per-tier budget and\npeak, bytes per step per link, "
             "recompute\nFLOPs, decisions per class and layer");
  cmd.option("--profile", out.profile, "P",
             "a device profile (models/devices name or a\n.json): the step's time on it, as offc\n"
             "simulate replays the plan, in the summary and\nas --report's predicted_step_s");
  cmd.option("-o,--output", out.output, "FILE", "plan.bin (written atomically)");
  cmd.option("--emit-mlir", out.irOutput, "FILE",
             "also write the compiled module (tiers, streams,\noffsets: what off-opt "
             "--off-compile gives) as\nMLIR ('-': stdout)");
  cmd.footer(builtinSizesHelp());
}

/// The hyper-parameter ranges torch.optim.AdamW accepts.
std::string checkHyper(const CompileArgs &args) {
  if (args.lr <= 0)
    return "--lr must be > 0";
  // AdamW runs in fp32: values that overflow (or vanish) there are refused.
  for (auto [option, value] : {std::pair<const char *, double>{"--lr", args.lr},
                               {"--eps", args.eps},
                               {"--weight-decay", args.weightDecay},
                               {"--clip", args.clip}})
    if (!std::isfinite(float(value)) || (value != 0 && float(value) == 0.0f)) {
      char text[32];
      std::snprintf(text, sizeof text, "%g", value);
      return std::string(option) + " " + text + " is " +
             (std::isfinite(float(value)) ? "zero" : "infinite") +
             " in 32-bit floating point, which the optimizer computes in";
    }
  if (args.beta1 < 0 || args.beta1 >= 1 || args.beta2 < 0 || args.beta2 >= 1)
    return "betas must be in [0, 1)";
  if (args.eps <= 0)
    return "--eps must be > 0";
  if (args.weightDecay < 0)
    return "--weight-decay must be >= 0";
  if (args.clip < 0)
    return "--clip must be >= 0 (0 turns clipping off)";
  return "";
}

mlir::func::FuncOp findFunction(mlir::ModuleOp module, StringRef name) {
  return module.lookupSymbol<mlir::func::FuncOp>(name);
}

/// The vocabulary size: the last dimension of @forward's logits.
int64_t vocabOf(mlir::func::FuncOp forward) {
  auto type = llvm::dyn_cast<mlir::RankedTensorType>(
      forward.getFunctionType().getResult(0));
  return type ? type.getShape().back() : 0;
}

/// "f32 1.2M, bf16 600K": bytes of tensors with a dtype, by dtype; each tensor
/// counted once (views of another tensor's bytes included, as the plan lists
/// them), persistent and transient alike.
std::string bytesByDtype(const plan::Plan &plan, bool (*select)(const plan::Tensor &)) {
  std::map<int, uint64_t> bytes;
  for (const plan::Tensor &tensor : plan.tensors())
    if (select(tensor))
      bytes[tensor.dtype()] += tensor.size_bytes();
  std::string text;
  for (auto [dtype, size] : bytes)
    if (size)
      text += (text.empty() ? "" : ", ") +
              llvm::StringRef(plan::DType_Name(plan::DType(dtype))).lower() + " " +
              formatHumanSize(size);
  return text.empty() ? "none" : text;
}

/// "params 1.2M, ...": what the device arena holds.
std::string memoryBreakdown(const plan::Plan &plan) {
  std::map<plan::Role, uint64_t> bytes;
  for (const plan::Tensor &tensor : plan.tensors())
    if (plan.tiers(int(plan.arenas(int(tensor.arena())).tier())).kind() == plan::TIER_DEVICE)
      bytes[tensor.role()] += tensor.size_bytes();
  uint64_t persistent = bytes[plan::PARAM] + bytes[plan::OPTIMIZER_STATE] +
                        bytes[plan::CONSTANT] + bytes[plan::INPUT];
  uint64_t arena = tierBytes(plan).device;
  return llvm::formatv("params {0}, optimizer state {1}, constants and inputs "
                       "{2}, activations, gradients and copies at peak {3}",
                       formatHumanSize(bytes[plan::PARAM]),
                       formatHumanSize(bytes[plan::OPTIMIZER_STATE]),
                       formatHumanSize(bytes[plan::CONSTANT] + bytes[plan::INPUT]),
                       formatHumanSize(arena > persistent ? arena - persistent : 0))
      .str();
}

/// "offc 0.1.0 (commit 6c79560fd6d6)": the first two lines of --version.
std::string producerText() {
  llvm::SmallVector<StringRef> lines;
  std::string info = buildInfoText("offc");
  StringRef(info).split(lines, '\n');
  std::string text = lines[0].str();
  if (lines.size() > 1 && lines[1].starts_with("commit: "))
    text += " (commit " + lines[1].drop_front(8).str() + ")";
  return text;
}

} // namespace

int runCompile(const std::vector<std::string> &argv) {
  CompileArgs args;
  cli::Command cmd(kCommand,
                   "(MODEL.onnx [--shape NAME=DxD...] | --model llama (--config FILE | --hf DIR "
                   "| --size NAME) --batch B --seq T) [--forward] [training options] [--vram "
                   "SIZE] -o PLAN.bin",
                   "Compiles one training step (or forward pass) into plan.bin for offrt.");
  addCompileOptions(cmd, args);
  if (std::optional<int> exit = cmd.parse(argv))
    return *exit;
  auto usageError = [&](const std::string &message) { return cmd.usageError(message); };
  if (std::string error = checkModelSourceArgs(args.source); !error.empty())
    return usageError(error);
  if (args.output.empty())
    return usageError("no output: give -o PLAN.bin");
  if (args.source.weightsOut == args.output)
    return usageError("--weights-out and -o name the same file '" + args.output + "'");
  if (cmd.given("--betas") && (cmd.given("--beta1") || cmd.given("--beta2")))
    return usageError("--betas and --beta1/--beta2 set the same thing; give one");
  if (args.forward && llvm::any_of(kTrainOptions, [&](const char *o) { return cmd.given(o); }))
    return usageError("--forward compiles no optimizer step: drop the training "
                      "options (--grad-accum, --lr, --betas, ...)");
  if (std::string error = checkHyper(args); !error.empty())
    return usageError(error);
  if (std::string problem = checkModelSourceFiles(
          args.source, {args.output, args.irOutput, args.source.weightsOut});
      !problem.empty()) {
    llvm::errs() << kCommand << ": error: " << problem << "\n";
    return 1;
  }
  bool emulated = args.strategy != "greedy" && args.strategy != "auto";
  if (emulated && (args.memory.forced() || args.optimizerStream))
    return usageError("--strategy " + args.strategy +
                      " is a fixed layout: drop --place / --remat / --optimizer-stream, or "
                      "use --strategy greedy");
  if (emulated && args.forward)
    return usageError("--strategy " + args.strategy +
                      " lays out a training step: --forward has no optimizer or gradients");
  if (args.strategy == "auto" && args.profile.empty())
    return usageError("--strategy auto needs --profile: the machine the plan is to be fast on");
  std::optional<sim::DeviceProfile> profile;
  if (!args.profile.empty()) {
    std::string error;
    profile = sim::loadDeviceProfile(args.profile, error);
    if (!profile) {
      llvm::errs() << kCommand << ": error: --profile: " << error << "\n";
      return 1;
    }
  }
  if (args.precision != "fp32" && args.precision != "bf16-mixed")
    return usageError("--precision must be fp32 or bf16-mixed, got '" + args.precision + "'");
  bool mixed = args.precision == "bf16-mixed";
  if (!args.gradDtype.empty() && args.gradDtype != "bf16" && args.gradDtype != "f32")
    return usageError("--grad-dtype must be bf16 or f32, got '" + args.gradDtype + "'");
  if (!args.gradDtype.empty() && !mixed)
    return usageError("--grad-dtype needs --precision bf16-mixed (fp32 gradients are f32)");
  if (!args.gradDtype.empty() && args.forward)
    return usageError("--forward computes no gradients: drop --grad-dtype");

  auto start = std::chrono::steady_clock::now();
  mlir::MLIRContext context;
  auto diagnostics = printDiagnostics(context, kCommand);
  auto fail = [&](const llvm::Twine &message) {
    llvm::errs() << kCommand << ": error: " << message << "\n";
    return 1;
  };
  ModelInfo info;
  auto module = loadModelSource(context, args.source, &info);
  if (!module)
    return fail(llvm::toString(module.takeError()));
  mlir::func::FuncOp forward = findFunction(**module, "forward");
  if (!forward || forward.getNumResults() != 1)
    return fail("the imported model has no @forward(input_ids) -> logits");
  int64_t vocab = vocabOf(forward);
  auto idsType = llvm::dyn_cast<mlir::RankedTensorType>(
      forward.getFunctionType().getInput(0));
  int64_t batch = idsType && idsType.getRank() == 2 ? idsType.getDimSize(0) : 0;
  int64_t seq = idsType && idsType.getRank() == 2 ? idsType.getDimSize(1) : 0;

  mlir::off::SerializeOptions options;
  options.producer = producerText();
  options.model.set_name(info.name);
  options.model.set_config_json(info.configJson);
  options.model.set_batch(batch);
  options.model.set_seq(seq);
  options.model.set_grad_accum(args.forward ? 1 : args.gradAccum);
  options.model.set_vocab_size(vocab);
  options.model.set_initializer_range(info.initializerRange);
  options.model.set_entry(args.forward ? "forward" : "train_step");
  for (const std::string &note : info.importNotes)
    if (!llvm::StringRef(note).starts_with(" "))
      llvm::errs() << kCommand << ": " << note << "\n";
  options.inputNames = args.forward ? std::vector<std::string>{"input_ids"}
                                    : std::vector<std::string>{"input_ids", "targets"};
  options.outputNames = args.forward ? std::vector<std::string>{"logits"}
                                     : std::vector<std::string>{"loss", "grad_norm"};
  if (!args.forward) {
    plan::Hyper &hyper = options.hyper;
    hyper.set_lr(args.lr);
    hyper.set_beta1(args.beta1);
    hyper.set_beta2(args.beta2);
    hyper.set_eps(args.eps);
    hyper.set_weight_decay(args.weightDecay);
    hyper.set_max_grad_norm(args.clip);
  }
  MemoryOptions &memory = args.memory;
  memory.vramText = cmd.value("--vram");
  memory.hostRamText = cmd.value("--host-ram");
  memory.nvmeSizeText = cmd.value("--nvme-size");
  if (args.optimizerStream)
    memory.place.insert(memory.place.begin(), "optimizer=host");

  // The decision sets, in order, until one fits the budgets.
  // --strategy auto also tries every emulated strategy (unless a forcing
  // option decides), so it is never slower than any of them.
  std::vector<Decisions> ladder;
  if (emulated)
    ladder.push_back(strategyDecisions(args.strategy, memory, mixed));
  else
    ladder = decisionLadder(memory);
  if (args.strategy == "auto" && !memory.forced() && !args.forward)
    for (const char *name : kEmulatedStrategies)
      ladder.push_back(strategyDecisions(name, memory, mixed));
  mlir::OwningOpRef<mlir::ModuleOp> compiled;
  mlir::func::FuncOp step;
  std::optional<plan::Plan> chosen;
  Decisions decisions;
  struct Tried {
    size_t index;
    TierBytes used;
    std::string holds;
  };
  std::vector<Tried> tried;
  // A set that keeps every param on the device cannot fit a --vram below
  // their bytes: skipped first (a 405B step compiles 3 sets fewer), and
  // compiled after all only when no set fits, so the error is the same.
  uint64_t paramBytes = 0;
  (**module).walk([&](mlir::off::ParamOp param) {
    auto type = mlir::dyn_cast<mlir::RankedTensorType>(param.getType());
    if (type && type.hasStaticShape())
      paramBytes += uint64_t(type.getNumElements()) *
                    ((type.getElementTypeBitWidth() + 7) / 8);
  });
  // --strategy auto: every fitting set's predicted step (NaN: does not fit).
  std::vector<std::pair<size_t, double>> candidates; // ladder index, seconds
  double fastest = 0;
  // auto's own refinement of the fastest set when it recomputes every
  // layer: the same placement recomputing only the first 3/4, 1/2, 1/4 or
  // none of the layers saves forward time where the device can hold the
  // activations (layers named as off-remat groups them, picked by a brace
  // glob).
  std::vector<std::string> layerNames;
  (**module).walk([&](mlir::off::ParamOp param) {
    std::string_view name(param.getName().data(), param.getName().size());
    std::string layer(layerOfName(name));
    if (!layer.empty() && !llvm::is_contained(layerNames, layer))
      layerNames.push_back(layer);
  });
  auto partialRemat = [&](const Decisions &from) {
    std::vector<Decisions> variants;
    size_t count = layerNames.size();
    std::vector<size_t> counts;
    for (size_t k : {count * 3 / 4, count / 2, count / 4, size_t(0)})
      if (k < count && !llvm::is_contained(counts, k))
        counts.push_back(k);
    std::string base = from.label;
    if (size_t colon = base.find(": "); colon != std::string::npos)
      base = base.substr(colon + 2); // "zero-infinity: ..." -> "..."
    if (size_t cut = base.find(", per-layer recompute"); cut != std::string::npos)
      base.erase(cut, std::string(", per-layer recompute").size());
    for (size_t k : counts) {
      Decisions d = from;
      d.strategy = "auto";
      d.remat = "none";
      if (k == 1) {
        d.remat = layerNames[0]; // a brace glob needs two alternatives
      } else if (k) {
        d.remat = "{";
        for (size_t j = 0; j < k; ++j)
          d.remat += (j ? "," : "") + layerNames[j];
        d.remat += "}";
      }
      d.label = base + (k ? ", recompute the first " + std::to_string(k) + " of " +
                                std::to_string(count) + " layers"
                          : ", nothing recomputed");
      variants.push_back(d);
    }
    return variants;
  };
  // auto's second refinement, of the fastest set that runs AdamW off the
  // device: the same set with the optimizer of the layers whose gradients
  // arrive last (the first layers: the backward runs from the head down)
  // moved to the device, params, states and gradients, all of them or 3/4,
  // 1/2, 1/4, 1/8 of the layers. Device AdamW takes that share of the
  // update off the CPU and the link, where the device has room for 12-16
  // bytes a parameter (fp32 master, m, v, gradient); the rest keeps its
  // place (docs/planner.md, "Optimizer split").
  std::map<size_t, size_t> splitOf; // ladder index -> layers with device AdamW
  auto optimizerSplit = [&](const Decisions &from, std::vector<size_t> counts) {
    std::vector<Decisions> variants;
    const size_t count = layerNames.size();
    for (size_t k : counts) {
      std::string group = layerNames[0]; // a brace glob needs two alternatives
      if (k > 1) {
        group = "{";
        for (size_t j = 0; j < k; ++j)
          group += (j ? "," : "") + layerNames[j];
        group += "}";
      }
      Decisions d = from;
      d.strategy = "auto";
      d.place.push_back(group + ".*=device");
      d.place.push_back(group + ".*.grad=device");
      std::string base = from.label;
      if (size_t colon = base.find(": "); colon != std::string::npos && from.strategy != "auto")
        base = base.substr(colon + 2);
      d.label = base + ", AdamW of the first " + std::to_string(k) + " of " +
                std::to_string(count) + " layers on the device";
      splitOf[ladder.size() + variants.size()] = k;
      variants.push_back(d);
    }
    return variants;
  };
  auto offDeviceOptimizer = [](const Decisions &d) {
    return llvm::is_contained(d.place, "optimizer=host") ||
           llvm::is_contained(d.place, "optimizer=nvme");
  };
  size_t ladderSize = ladder.size();
  for (bool skipOverFloor : {true, false}) {
    bool skipped = false, refined = false, split = false, bisected = false;
    std::optional<size_t> splitBase; // the ladder index the split variants start from
    splitOf.clear();
    tried.clear();
    candidates.clear();
    ladder.resize(ladderSize);
    // After the last set, auto queues its refinements, one after the
    // other: of the fastest set that recomputes every layer (partialRemat),
    // then of the fastest set that runs AdamW off the device, remat
    // variants included (optimizerSplit).
    auto fastestWhere = [&](auto &&pick) {
      std::optional<size_t> best; // a ladder index
      double bestSeconds = 0;
      for (auto [index, seconds] : candidates)
        if (!std::isnan(seconds) && pick(ladder[index]) && (!best || seconds < bestSeconds)) {
          best = index;
          bestSeconds = seconds;
        }
      return best;
    };
    auto refine = [&](size_t i) {
      if (i + 1 != ladder.size() || bisected || args.strategy != "auto" || memory.forced() ||
          args.forward || layerNames.size() < 2)
        return;
      if (split) {
        // Bisect between the most layers that fit and the fewest that do
        // not, one compile at a time, until they are neighbours.
        size_t fits = 0, failsAt = layerNames.size() + 1;
        for (auto [index, seconds] : candidates)
          if (auto it = splitOf.find(index); it != splitOf.end()) {
            if (!std::isnan(seconds))
              fits = std::max(fits, it->second);
            else if (it->second > fits)
              failsAt = std::min(failsAt, it->second);
          }
        if (fits == 0 || failsAt > layerNames.size() || failsAt - fits < 2) {
          bisected = true;
          return;
        }
        for (Decisions &variant :
             optimizerSplit(Decisions(ladder[*splitBase]), {(fits + failsAt) / 2}))
          ladder.push_back(std::move(variant));
        return;
      }
      size_t before = ladder.size();
      if (!refined) {
        refined = true;
        if (auto best = fastestWhere([](const Decisions &d) { return d.remat == "all"; }))
          for (Decisions &variant : partialRemat(Decisions(ladder[*best])))
            ladder.push_back(std::move(variant));
        if (ladder.size() != before)
          return;
      }
      split = true;
      splitBase = fastestWhere(offDeviceOptimizer);
      if (!splitBase) {
        bisected = true;
        return;
      }
      const size_t count = layerNames.size();
      std::vector<size_t> counts;
      for (size_t k : {count, count * 3 / 4, count / 2, count / 4, count / 8})
        if (k >= 1 && !llvm::is_contained(counts, k))
          counts.push_back(k);
      for (Decisions &variant : optimizerSplit(Decisions(ladder[*splitBase]), counts))
        ladder.push_back(std::move(variant));
    };
    for (size_t i = 0; i < ladder.size(); refine(i), ++i) {
      if (skipOverFloor && memory.vram && deviceFloor(ladder[i], paramBytes) > memory.vram) {
        skipped = true;
        if (args.strategy == "auto")
          candidates.emplace_back(i, std::nan(""));
        continue;
      }
      mlir::OwningOpRef<mlir::ModuleOp> trial = (**module).clone();
      mlir::off::OffCompileOptions pipeline;
      pipeline.forward = args.forward;
      pipeline.gradAccum = args.gradAccum;
      pipeline.lr = args.lr;
      pipeline.beta1 = args.beta1;
      pipeline.beta2 = args.beta2;
      pipeline.eps = args.eps;
      pipeline.weightDecay = args.weightDecay;
      pipeline.clip = args.clip;
      pipeline.precision = args.precision;
      pipeline.gradDtype = args.gradDtype.empty() ? "bf16" : args.gradDtype;
      pipeline.place = ladder[i].place;
      pipeline.remat = ladder[i].remat;
      pipeline.prefetch = ladder[i].prefetch;
      mlir::PassManager passes(&context);
      mlir::off::buildOffCompilePipeline(passes, pipeline);
      if (mlir::failed(passes.run(*trial)))
        return fail("the step could not be compiled (see above)");
      mlir::func::FuncOp trialStep =
          findFunction(*trial, args.forward ? "forward" : "train_step");
      if (!trialStep)
        return fail("the compiled module has no step function");
      mlir::FailureOr<plan::Plan> lowered = mlir::off::serializePlan(trialStep, options);
      if (mlir::failed(lowered))
        return fail("the step could not be lowered to a plan (see above)");
      TierBytes used = tierBytes(*lowered);
      std::string problem = budgetProblem(memory, ladder[i], used, "", false);
      if (problem.empty() && args.strategy == "auto") {
        std::string error;
        std::optional<sim::Simulation> simulated = sim::simulate(*lowered, *profile, error);
        if (!simulated)
          return fail("--profile " + profile->name + ": " + error);
        candidates.emplace_back(i, simulated->stepSeconds);
        if (!chosen || simulated->stepSeconds < fastest) {
          fastest = simulated->stepSeconds;
          chosen = std::move(*lowered);
          compiled = std::move(trial);
          step = trialStep;
          decisions = ladder[i];
        }
        continue;
      }
      if (problem.empty()) {
        chosen = std::move(*lowered);
        compiled = std::move(trial);
        step = trialStep;
        decisions = ladder[i];
        break;
      }
      if (args.strategy == "auto")
        candidates.emplace_back(i, std::nan(""));
      tried.push_back({i, used, memoryBreakdown(*lowered)});
    }
    if (chosen || !skipped)
      break;
  }
  if (!chosen) {
    // The error is about the first tier (device, host, NVMe) that no set
    // fitting the tiers before it fits, from the set that needs least of it.
    std::vector<const Tried *> fitting;
    for (const Tried &t : tried)
      fitting.push_back(&t);
    uint64_t budgets[3] = {memory.vram, memory.hostRam, memory.nvmeSize};
    for (int tier = 0; tier < 3; ++tier) {
      auto need = [&](const Tried *t) {
        return tier == 0 ? t->used.device : tier == 1 ? t->used.host : t->used.nvme;
      };
      std::vector<const Tried *> next;
      for (const Tried *t : fitting)
        if (!budgets[tier] || need(t) <= budgets[tier])
          next.push_back(t);
      if (next.empty()) {
        const Tried *best = *std::min_element(
            fitting.begin(), fitting.end(),
            [&](const Tried *a, const Tried *b) { return need(a) < need(b); });
        return fail(args.output + ": " +
                    budgetProblem(memory, ladder[best->index], best->used, best->holds,
                                  ladder.size() > 1, tier));
      }
      fitting = std::move(next);
    }
    return fail(args.output + ": no decision set fits the budgets");
  }
  plan::Plan &plan = *chosen;
  for (plan::Tier &tier : *plan.mutable_tiers())
    tier.set_budget_bytes(tier.kind() == plan::TIER_DEVICE ? memory.vram
                          : tier.kind() == plan::TIER_HOST ? memory.hostRam
                                                           : memory.nvmeSize);
  if (!args.irOutput.empty()) {
    if (llvm::Error error = writeOutputsAtomically(
            {{args.irOutput, [&](llvm::raw_ostream &os) { compiled->print(os); os << "\n"; }}}))
      return fail(llvm::toString(std::move(error)));
  }
  // The step's time on --profile: offc simulate's replay of this plan.
  std::optional<double> predicted;
  sim::Bound bound;
  if (profile) {
    std::string error;
    std::optional<sim::Simulation> simulated = sim::simulate(plan, *profile, error);
    std::optional<sim::BoundInputs> inputs;
    if (simulated)
      inputs = sim::boundInputs(plan, *simulated, *profile, error);
    if (!inputs)
      return fail("--profile " + profile->name + ": " + error);
    predicted = simulated->stepSeconds;
    bound = sim::lowerBound(*inputs);
  }
  if (!args.report.empty()) {
    uint64_t recomputeFlops = 0;
    std::string noRule;
    step.walk([&](mlir::Operation *op) {
      if (op->hasAttr(mlir::off::kRecomputedAttr)) {
        if (std::optional<uint64_t> flops = mlir::off::opFlops(op))
          recomputeFlops += *flops;
        else
          noRule = op->getName().getStringRef().str();
      }
    });
    if (!noRule.empty())
      return fail("no FLOP rule for recomputed op '" + noRule +
                  "' (compiler/Import/ModelStats.cpp opFlops)");
    llvm::json::Object report = memoryReport(memory, decisions, plan, recomputeFlops);
    if (predicted) {
      report["profile"] = profile->name;
      report["predicted_step_s"] = *predicted;
      report["lower_bound_s"] = bound.seconds;
      report["predicted_over_bound"] = bound.seconds > 0 ? *predicted / bound.seconds : 0;
    }
    if (args.strategy == "auto") {
      report["strategy"] = args.strategy;
      report["chosen"] = decisions.strategy;
      llvm::json::Array list;
      for (const auto &[index, seconds] : candidates)
        list.push_back(llvm::json::Object{
            {"strategy", ladder[index].strategy},
            {"decisions", ladder[index].label},
            {"predicted_step_s",
             std::isnan(seconds) ? llvm::json::Value(nullptr) : llvm::json::Value(seconds)}});
      report["candidates"] = std::move(list);
    }
    if (llvm::Error error = writeOutputsAtomically(
            {{args.report, [&](llvm::raw_ostream &os) {
                os << llvm::formatv("{0:2}", llvm::json::Value(std::move(report))) << "\n";
              }}}))
      return fail(llvm::toString(std::move(error)));
  }

  // ONNX --weights-out (ImportCommand.h): written whole before the plan.
  if (!args.source.weightsOut.empty())
    if (llvm::Error error = writeOutputsAtomically({{args.source.weightsOut, info.writeWeights}}))
      return fail(llvm::toString(std::move(error)));
  // The export's weights: referenced in place or written to PLAN.weights
  // (PlanWeights.h), so offrt starts from them by default.
  std::string weightsNote;
  if (info.onnxWeights) {
    llvm::Expected<PlanWeightsSummary> attached =
        attachPlanWeights(*info.onnxWeights, args.output, *plan.mutable_model());
    if (!attached)
      return fail(llvm::toString(attached.takeError()));
    weightsNote = llvm::formatv("; weights: {0} in the export's external data{1}",
                                attached->inPlace,
                                attached->written
                                    ? llvm::formatv(", {0} written to {1}", attached->written,
                                                    attached->weightsFile)
                                          .str()
                                    : std::string())
                      .str();
  }
#if __has_include("compiler/Import/OnnxHfConfig.h")
  // An ONNX export carries no config.json: checkpoints get one derived from
  // the graph, or say why none describes it.
  if (info.name == "onnx") {
    mlir::off::HfConfigResult hf =
        mlir::off::deriveHfLlamaConfig(step, plan.model().seq(), info.initializerRange);
    if (hf.whyNot.empty()) {
      plan.mutable_model()->set_config_json(hf.configJson);
    } else {
      plan.mutable_model()->set_config_unavailable(hf.whyNot);
      llvm::errs() << kCommand << ": note: checkpoints of this model will not load with "
                   << "transformers' from_pretrained: no Hugging Face Llama config describes "
                   << "it (" << hf.whyNot << ")\n";
    }
  }
#endif
  std::string error;
  if (!plan::writePlanFile(plan, args.output, error))
    return fail(error);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t instructions = 0;
  for (const plan::Stream &stream : plan.streams())
    instructions += stream.instructions_size();
  llvm::errs() << llvm::formatv(
      "{0}: wrote {1} ({2} step, batch {3}x{4}{5}, {6} instructions) in {7:f2} s: "
      "{8}; {9}{10}\n",
      kCommand, args.output, args.forward ? "forward" : "training", batch, seq,
      args.forward ? "" : llvm::formatv(", grad-accum {0}", args.gradAccum).str(),
      instructions, seconds, decisions.label,
      memorySummary(memory, plan, memoryBreakdown(plan)),
      decisions.remat == "none" ? "" : "; recompute " + decisions.remat);
  if (!weightsNote.empty())
    llvm::errs() << kCommand << ": " << weightsNote.substr(2) << "\n";
  llvm::errs() << llvm::formatv(
      "{0}: {1}: params {2}; optimizer state {3}; gradients {4}\n", kCommand,
      args.precision,
      bytesByDtype(plan, [](const plan::Tensor &t) { return t.role() == plan::PARAM; }),
      bytesByDtype(plan,
                   [](const plan::Tensor &t) { return t.role() == plan::OPTIMIZER_STATE; }),
      bytesByDtype(plan, [](const plan::Tensor &t) { return t.role() == plan::GRAD; }));
  if (predicted)
    llvm::errs() << llvm::formatv("{0}: predicted step {1:e3} s on {2}, {4:f2}x the lower "
                                  "bound{5} (offc simulate {3} --profile {2} for the "
                                  "breakdown)\n",
                                  kCommand, *predicted, profile->name, args.output,
                                  bound.seconds > 0 ? *predicted / bound.seconds : 0.0,
                                  args.strategy == "auto"
                                      ? llvm::formatv("; --strategy auto: the fastest of {0} "
                                                      "fitting decision sets ({1})",
                                                      llvm::count_if(candidates, [](auto &c) {
                                                        return !std::isnan(c.second);
                                                      }), decisions.strategy)
                                            .str()
                                      : std::string());
  return 0;
}

} // namespace off::offc
