// offc import: a model (ONNX file or the built-in Llama) to graph-level off IR.
//
//   offc import --model llama (--config config.json | --size NAME)
//               --batch B --seq T -o model.mlir [--stats stats.json]
//   offc import MODEL.onnx [--shape NAME=DxD...] [--weights-out W.safetensors]
//               -o model.mlir [--stats ...]
//
// Outputs are written to a temporary file beside the target and renamed into
// place once complete, so an error never leaves a partial model.mlir.
//
// The frontends run no passes: the registered off-import pipeline
// (dialects/off/Transforms/Passes.h) folds shapes and fuses here, as
// `off-opt --off-import` does.

#include "tools/offc/ImportCommand.h"

#include "compiler/Import/LlamaBuilder.h"
#include "compiler/Import/LlamaConfig.h"
#include "compiler/Import/ModelStats.h"
#include "dialects/off/Transforms/Passes.h"
#include "runtime/common/FileChecks.h"
#include "tools/offc/CliSupport.h"
#include "tools/offc/Commands.h"

#if __has_include("compiler/Import/OnnxImporter.h")
#include "compiler/Import/OnnxImporter.h"
#define OFF_HAVE_ONNX_IMPORTER 1
#else
#define OFF_HAVE_ONNX_IMPORTER 0
#endif

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <functional>

using llvm::StringRef;

namespace off::offc {

namespace {

constexpr const char *kCommand = "offc import";

/// "NAME=2x128" -> name, {2, 128}; returns an error message or "".
std::string parseShapeSpec(StringRef spec, std::string &name,
                           llvm::SmallVector<int64_t> &dims) {
  auto [lhs, rhs] = spec.split('=');
  if (lhs.empty() || rhs.empty() || !spec.contains('='))
    return ("--shape '" + spec + "' is not NAME=DxD... (e.g. input_ids=2x128)")
        .str();
  name = lhs.str();
  llvm::SmallVector<StringRef> parts;
  rhs.split(parts, 'x');
  for (StringRef part : parts) {
    int64_t dim = 0;
    if (part.getAsInteger(10, dim) || dim < 1)
      return ("--shape '" + spec + "': '" + part +
              "' is not a positive dimension")
          .str();
    dims.push_back(dim);
  }
  return "";
}

/// The summary lines and the --stats "initializers" object of an ONNX import.
[[maybe_unused]] void describeImport(const mlir::off::OnnxImportSummary &summary,
                                     ModelInfo &info) {
  int64_t frozen = 0, elements = 0;
  llvm::json::Array weights, constants;
  for (const auto &weight : summary.weights) {
    frozen += weight.trainable ? 0 : 1;
    elements += weight.elements;
    weights.push_back(llvm::json::Object{{"name", weight.param},
                                         {"onnx_name", weight.name},
                                         {"elements", weight.elements},
                                         {"trainable", weight.trainable},
                                         {"why", weight.why}});
  }
  for (const auto &constant : summary.constants)
    constants.push_back(llvm::json::Object{{"name", constant.name},
                                           {"elements", constant.elements},
                                           {"why", constant.why}});
  info.importNotes.push_back(llvm::formatv(
      "initializers: {0} weight(s) ({1} elements{2}), {3} floating-point "
      "constant(s) (tables, masks), {4} scalar or integer constant(s)",
      summary.weights.size(), elements,
      frozen ? llvm::formatv(", {0} frozen", frozen).str() : std::string(),
      summary.constants.size(), summary.smallConstants));
  for (const auto &constant : summary.constants)
    info.importNotes.push_back("  constant '" + constant.name + "': " + constant.why);
  for (const std::string &note : summary.notes)
    info.importNotes.push_back("  " + note);
  llvm::json::Array notes;
  for (const std::string &note : summary.notes)
    notes.push_back(note);
  info.importJson = llvm::json::Object{{"weights", std::move(weights)},
                                       {"constants", std::move(constants)},
                                       {"small_constants", summary.smallConstants},
                                       {"shared", std::move(notes)}};
}

/// DIR/config.json of a Hugging Face model directory.
llvm::Expected<mlir::off::LlamaConfig> loadHfDirConfig(const std::string &dir) {
  if (!llvm::sys::fs::is_directory(dir))
    return makeError(dir + (llvm::sys::fs::exists(dir)
                                ? ": --hf needs a Hugging Face model directory (config.json "
                                  "beside the weights), not a file"
                                : ": no such directory"));
  llvm::SmallString<256> config(dir);
  llvm::sys::path::append(config, "config.json");
  if (!llvm::sys::fs::exists(config))
    return makeError(dir + ": is not a Hugging Face model directory: it has no config.json");
  // A FIFO would block the read forever; a directory or device is no config.
  if (std::string problem = inputFileProblem(std::string(config)); !problem.empty())
    return makeError(problem);
  return mlir::off::loadLlamaConfigFile(std::string(config));
}

} // namespace

llvm::Error runImportPipeline(mlir::ModuleOp module) {
  mlir::PassManager passes(module.getContext());
  mlir::off::buildImportPipeline(passes);
  if (mlir::failed(passes.run(module)))
    return makeError("folding shapes or fusing failed (diagnostics above)");
  return llvm::Error::success();
}

void addModelSourceOptions(cli::Command &cmd, ModelSourceArgs &source) {
  cmd.positional("MODEL.onnx", source.onnxPath, "an ONNX model (torch.onnx export of a Llama)");
  cmd.group("Model");
  cmd.option("--shape", source.shapes, "NAME=DxD",
             "static shape for an ONNX input with dynamic\ndimensions, e.g. input_ids=2x128");
  cmd.option("--weights-out", source.weightsOut, "FILE",
             "write the ONNX model's weights as F32\nsafetensors under the IR's param names "
             "(for\noffrt --init)");
  cmd.option("--trainable", source.trainable, "GLOB",
             "ONNX initializers (ONNX or param name) taken\nas trainable weights whatever "
             "the rule decides");
  cmd.option("--frozen", source.frozen, "GLOB",
             "ONNX weights that get no gradient and no\noptimizer step");
  cmd.choice("--shared-weights", source.sharedWeights, {"auto", "split", "tied"},
             "an ONNX initializer the exporter shares\nbetween modules: one weight per "
             "module\n(split), one tied weight (tied), or split\nwhen all its elements "
             "are equal (auto, the\ndefault: merged by the exporter)");
  cmd.option("--model", source.model, "llama",
             "the built-in Llama (Hugging Face\nLlamaForCausalLM)");
  cmd.option("--config", source.configPath, "FILE", "... from a Hugging Face config.json");
  cmd.option("--hf", source.hfDir, "DIR",
             "... from a Hugging Face model directory (its\nconfig.json; offrt --init DIR "
             "reads its weights)");
  cmd.option("--size", source.size, "NAME", "... or a built-in size (listed below)");
  cmd.option("--batch", source.batch, "B", "batch size (Llama only)", cli::positive);
  cmd.option("--seq", source.seq, "T", "sequence length: input_ids is [B, T]",
             cli::positive);
}

std::string builtinSizesHelp() {
  std::string text = "Built-in Llama sizes (models/llama/NAME.json; "
                     "$OFF_MODELS_DIR/llama/NAME.json\ntakes precedence when it exists):\n ";
  size_t line = 1;
  std::vector<std::string> sizes = mlir::off::builtinLlamaSizes();
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string item = " " + sizes[i] + (i + 1 < sizes.size() ? "," : "");
    if (line + item.size() > 78) {
      text += "\n ";
      line = 1;
    }
    text += item;
    line += item.size();
  }
  return text;
}

std::string checkModelSourceArgs(const ModelSourceArgs &source) {
  bool llama = !source.model.empty();
  if (!source.onnxPath.empty() && !StringRef(source.onnxPath).ends_with(".onnx"))
    return "'" + source.onnxPath +
           "' is not an .onnx file; a Llama config.json is given as --model llama --config FILE";
  if (!llama && source.onnxPath.empty())
    return "no model: give MODEL.onnx or --model llama";
  if (llama && !source.onnxPath.empty())
    return "give either MODEL.onnx or --model, not both";
  if (llama) {
    if (source.model != "llama")
      return "--model '" + source.model + "' is not known (only 'llama')";
    if (!source.configPath.empty() + !source.size.empty() + !source.hfDir.empty() != 1)
      return "--model llama needs exactly one of --config FILE, --hf DIR or --size NAME";
    if (source.batch == 0 || source.seq == 0)
      return "--model llama needs --batch B and --seq T";
    if (!source.shapes.empty())
      return "--shape is for ONNX models; the Llama input is set by --batch "
             "and --seq";
    if (!source.weightsOut.empty())
      return "--weights-out is for ONNX models: the built-in Llama has no "
             "weights to write (offrt initialises them, or loads a Hugging "
             "Face checkpoint)";
    if (!source.trainable.empty() || !source.frozen.empty() ||
        !source.sharedWeights.empty())
      return "--trainable, --frozen and --shared-weights are for ONNX models";
    return "";
  }
  if (!source.configPath.empty() || !source.hfDir.empty() || !source.size.empty() ||
      source.batch || source.seq)
    return "--config, --hf, --size, --batch and --seq are for --model llama; an ONNX "
           "model's input shapes are set by --shape NAME=DxD";
  if (source.weightsOut == "-")
    return "--weights-out needs a file name (safetensors is binary)";
  llvm::StringMap<bool> seen;
  for (const std::string &spec : source.shapes) {
    std::string name;
    llvm::SmallVector<int64_t> dims;
    if (std::string error = parseShapeSpec(spec, name, dims); !error.empty())
      return error;
    if (!seen.try_emplace(name, true).second)
      return "--shape gives input '" + name + "' twice";
  }
  return "";
}

llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
loadModelSource(mlir::MLIRContext &context, const ModelSourceArgs &source,
                ModelInfo *info) {
  if (!source.model.empty()) {
    llvm::Expected<mlir::off::LlamaConfig> config =
        !source.size.empty() ? mlir::off::loadNamedLlamaConfig(source.size)
        : !source.hfDir.empty()
            ? loadHfDirConfig(source.hfDir)
            : mlir::off::loadLlamaConfigFile(source.configPath);
    if (!config)
      return config.takeError();
    if (info)
      *info = {"llama", config->jsonText, config->initializerRange};
    return mlir::off::buildLlamaModule(context, *config, source.batch,
                                       source.seq);
  }
#if OFF_HAVE_ONNX_IMPORTER
  mlir::off::OnnxImportOptions options;
  options.modelPath = source.onnxPath;
  for (const std::string &spec : source.shapes) {
    std::string name;
    llvm::SmallVector<int64_t> dims;
    parseShapeSpec(spec, name, dims); // checked by checkModelSourceArgs
    options.inputShapes[name] = dims;
  }
  options.trainable = source.trainable;
  options.frozen = source.frozen;
  options.sharedWeights = source.sharedWeights == "split" ? mlir::off::SharedWeights::Split
                          : source.sharedWeights == "tied"
                              ? mlir::off::SharedWeights::Tied
                              : mlir::off::SharedWeights::Auto;
  std::shared_ptr<mlir::off::OnnxWeights> weights;
  mlir::off::OnnxImportSummary summary;
  auto module = mlir::off::importOnnxModel(context, options, &weights, &summary);
  if (module && info) {
    *info = ModelInfo{"onnx", "", 0.02, nullptr, {}, {}};
    info->writeWeights = [weights](llvm::raw_ostream &os) {
      weights->writeSafetensors(os);
    };
    info->onnxWeights = weights;
    describeImport(summary, *info);
  }
  return module;
#else
  return makeError(source.onnxPath +
                   ": ONNX import not built yet (it arrives with the ONNX "
                   "half of issue [B]); the built-in Llama is available as "
                   "--model llama");
#endif
}

std::string checkModelSourceFiles(const ModelSourceArgs &source,
                                  const std::vector<std::string> &outputs) {
  std::vector<std::string> inputs;
  for (const std::string *path : {&source.onnxPath, &source.configPath})
    if (!path->empty()) {
      if (std::string problem = inputFileProblem(*path); !problem.empty())
        return problem;
      inputs.push_back(*path);
    }
  for (const std::string &output : outputs)
    if (output != "-")
      if (std::string problem = outputIsInputProblem(output, inputs); !problem.empty())
        return problem;
  return "";
}

int runImport(const std::vector<std::string> &args) {
  ModelSourceArgs source;
  std::string output, statsPath;
  cli::Command cmd(kCommand,
                   "(MODEL.onnx [--shape NAME=DxD...] [--weights-out FILE] [--trainable GLOB] "
                   "[--frozen GLOB] [--shared-weights auto|split|tied] | --model llama "
                   "(--config FILE | --hf DIR | --size NAME) --batch B --seq T) -o OUT.mlir "
                   "[--stats STATS.json]",
                   "Imports a model into graph-level off IR.");
  addModelSourceOptions(cmd, source);
  cmd.group("Output");
  cmd.option("-o,--output", output, "FILE",
             "the module as textual MLIR ('-': stdout);\nwritten whole or not at all");
  cmd.option("--stats", statsPath, "FILE",
             "parameters, FLOPs per forward step, layers and\nop counts as JSON ('-': stdout)");
  cmd.footer(builtinSizesHelp());
  if (std::optional<int> exit = cmd.parse(args))
    return *exit;
  auto usageError = [&](const std::string &message) { return cmd.usageError(message); };
  if (std::string error = checkModelSourceArgs(source); !error.empty())
    return usageError(error);
  if (output.empty())
    return usageError("no output: give -o OUT.mlir (or -o - for stdout)");
  if (output == statsPath)
    return usageError("-o and --stats name the same file '" + output + "'");
  if (!source.weightsOut.empty() &&
      (source.weightsOut == output || source.weightsOut == statsPath))
    return usageError("--weights-out names the same file as -o or --stats ('" +
                      source.weightsOut + "')");

  if (std::string problem =
          checkModelSourceFiles(source, {output, statsPath, source.weightsOut});
      !problem.empty()) {
    llvm::errs() << kCommand << ": error: " << problem << "\n";
    return 1;
  }

  auto start = std::chrono::steady_clock::now();
  mlir::MLIRContext context;
  auto diagnostics = printDiagnostics(context, kCommand);
  ModelInfo info;
  auto module = loadModelSource(context, source, &info);
  if (!module) {
    llvm::errs() << kCommand << ": error: " << llvm::toString(module.takeError())
                 << "\n";
    return 1;
  }
  if (llvm::Error error = runImportPipeline(**module)) {
    llvm::errs() << kCommand << ": error: " << llvm::toString(std::move(error)) << "\n";
    return 1;
  }
  llvm::Expected<mlir::off::ModelStats> computed = mlir::off::computeModelStats(**module);
  if (!computed) {
    llvm::errs() << kCommand << ": error: " << llvm::toString(computed.takeError()) << "\n";
    return 1;
  }
  mlir::off::ModelStats stats = std::move(*computed);

  std::vector<PendingOutput> outputs;
  outputs.push_back({output, [&](llvm::raw_ostream &os) {
                       (*module)->print(os);
                       os << "\n";
                     }});
  if (!source.weightsOut.empty())
    outputs.push_back({source.weightsOut, info.writeWeights});
  if (!statsPath.empty()) {
    llvm::json::Object json = mlir::off::modelStatsToJson(stats);
    json["model"] = source.model.empty() ? "onnx" : source.model;
    if (source.model.empty())
      json["initializers"] = llvm::json::Value(llvm::json::Object(info.importJson));
    json["source"] = !source.onnxPath.empty()     ? source.onnxPath
                     : !source.configPath.empty() ? source.configPath
                     : !source.hfDir.empty()      ? source.hfDir
                                                  : source.size;
    llvm::json::Value value(std::move(json));
    outputs.push_back({statsPath, [value](llvm::raw_ostream &os) {
                         os << llvm::formatv("{0:2}", value) << "\n";
                       }});
  }
  if (llvm::Error error = writeOutputsAtomically(outputs)) {
    llvm::errs() << kCommand << ": error: " << llvm::toString(std::move(error))
                 << "\n";
    return 1;
  }
  for (const std::string &note : info.importNotes)
    llvm::errs() << kCommand << ": " << note << "\n";
  if (output != "-" && statsPath != "-") {
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    llvm::errs() << llvm::formatv(
        "{0}: wrote {1} ({2} parameters, {3} layers, {4} ops) in {5:f2} s\n",
        kCommand, output, stats.parameters, stats.layers,
        [&] {
          int64_t total = 0;
          for (auto &entry : stats.opCounts)
            total += entry.second;
          return total;
        }(),
        seconds);
  }
  return 0;
}

} // namespace off::offc
