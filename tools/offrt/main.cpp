// offrt: executes plan.bin files produced by offc (training, generation,
// benchmarks). It links no MLIR/LLVM so it can be carried alone to a GPU box.

#include "bench/BenchRegistry.h"
#include "runtime/calibrate/Calibrate.h"
#include "runtime/common/Cli.h"
#include "runtime/cpu/CpuInfo.h"
#include "runtime/model/Tokenizer.h"

#include <string>
#include <vector>

namespace off::offrt {
int runInspect(const std::vector<std::string> &args);
int runTrain(const std::vector<std::string> &args);
int runForward(const std::vector<std::string> &args);
}

int main(int argc, char **argv) {
  off::Tool tool{
      "offrt",
      "runs offload-aware execution plans (plan.bin) on CPU or CUDA",
      {
          {"train", "train PLAN --data TOKENS [options]",
           "trains a model: one plan.bin step per batch", off::offrt::runTrain, ""},
          {"forward", "forward PLAN --data TOKENS (--init W | --seed S) -o OUT",
           "runs a forward plan on one micro-batch, writes the logits",
           off::offrt::runForward, ""},
          {"generate", "generate PLAN --init WEIGHTS [options]",
           "generates text with a KV cache (roadmap)", {}, "(roadmap: generation)"},
          {"tokenize", "tokenize INPUT... -o TOKENS.bin",
           "byte-level tokenizer (vocab 256) for the tiny model",
           off::model::runTokenizeCommand, ""},
          {"inspect", "inspect PLAN [--tensors]",
           "shows what a plan.bin holds (validated as train reads it)",
           off::offrt::runInspect, ""},
          {"calibrate", "calibrate -o PROFILE.json [--nvme DIR] [--backend cpu|cuda] [--quick]",
           "measures this machine into a device profile",
           [](const std::vector<std::string> &args) {
             return off::calibrate::runCalibrateCommand("offrt", args);
           },
           ""},
          {"bench", "bench (train|adam|io) [options]",
           "benchmarks against a reference measured in the same run",
           off::bench::runBench, ""},
      },
      off::cpu::cpuBackendDescription};
  return off::runTool(tool, argc, argv);
}
