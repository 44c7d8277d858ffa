// offc: compiles a model (ONNX or the built-in Llama) into plan.bin.

#include "dialects/off/IR/OffDialect.h"
#include "runtime/common/Cli.h"
#include "tools/offc/Commands.h"

int main(int argc, char **argv) {
  off::Tool tool{
      "offc",
      "compiles a model into an offload-aware execution plan (plan.bin)",
      {
          {"import", off::offc::importUsage(),
           "imports a model into graph-level off IR", off::offc::runImport, ""},
          {"compile", off::offc::compileUsage(),
           "compiles one training step (or forward pass) into plan.bin",
           off::offc::runCompile, ""},
          {"explain", "explain PLAN", "shows where memory and time go in a plan",
           {}, "[D]"},
          {"simulate", "simulate PLAN --device PROFILE",
           "replays a plan on a device profile", {}, "[D]"},
          {"calibrate", "calibrate -o PROFILE.json",
           "measures this machine into a device profile", {}, "[D]"},
      }};
  return off::runTool(tool, argc, argv);
}
