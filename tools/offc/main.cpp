// offc: compiles a model (ONNX or the built-in Llama) into plan.bin.

#include "dialects/off/IR/OffDialect.h"
#include "runtime/calibrate/Calibrate.h"
#include "runtime/common/Cli.h"
#include "tools/offc/Commands.h"

int main(int argc, char **argv) {
  off::Tool tool{
      "offc",
      "compiles a model into an offload-aware execution plan (plan.bin)",
      {
          {"import", "import (MODEL.onnx | --model llama ...) -o OUT.mlir",
           "imports a model into graph-level off IR", off::offc::runImport, ""},
          {"compile", "compile (MODEL.onnx | --model llama ...) -o PLAN.bin",
           "compiles one training step (or forward pass) into plan.bin",
           off::offc::runCompile, ""},
          {"explain", "explain PLAN.bin [--profile P]",
           "shows a plan per layer: tiers, recompute, time, bytes per link",
           off::offc::runExplain, ""},
          {"simulate", "simulate PLAN.bin [--profile P] [--trace FILE]",
           "replays a plan on a device profile (step time, peaks, links)",
           off::offc::runSimulate, ""},
          {"calibrate", "calibrate -o PROFILE.json [--nvme DIR] [--backend cpu|cuda] [--quick]",
           "measures this machine into a device profile",
           [](const std::vector<std::string> &args) {
             return off::calibrate::runCalibrateCommand("offc", args);
           },
           ""},
      }};
  return off::runTool(tool, argc, argv);
}
