// Test-only driver for model_io_vs_hf_test.py: exposes off_model's
// safetensors reader/writer and checkpoint saving to the Python side.
//
//   model_io_tool dump FILE OUTDIR        manifest.json + one raw file per tensor
//   model_io_tool write-sample FILE       tensors of every dtype, known values
//   model_io_tool save-llama PLAN CONFIG DIR SEED STEP
//                                         the plan's params (names, shapes, init
//                                         kinds) initialised, checkpoint
//                                         DIR/step-STEP with CONFIG as config.json
//   model_io_tool check-model FILE PLAN   names/shapes/dtypes vs the plan's params
#include "runtime/common/Float16.h"
#include "runtime/model/Checkpoint.h"
#include "runtime/model/FileIo.h"
#include "runtime/model/ModelError.h"
#include "runtime/model/Safetensors.h"
#include "runtime/model/WeightInit.h"
#include "runtime/plan/Plan.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace off::model;
using off::DType;
using off::floatToBf16;

namespace {

int dump(const std::string &path, const std::string &outDir) {
  SafetensorsFile file = SafetensorsFile::open(path);
  std::filesystem::create_directories(outDir);
  Json metadata = Json::object();
  for (const auto &[key, value] : file.metadata())
    metadata[key] = value;
  Json tensors = Json::array();
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const TensorInfo &tensor = file.tensors()[i];
    std::string raw = std::to_string(i) + ".bin";
    writeFileAtomically(outDir + "/" + raw,
                        std::string_view(reinterpret_cast<const char *>(file.data(tensor)),
                                         tensor.byteSize()));
    tensors.push_back({{"name", tensor.name},
                       {"dtype", safetensorsName(tensor.dtype)},
                       {"shape", tensor.shape},
                       {"file", raw}});
  }
  Json manifest = {{"metadata", std::move(metadata)}, {"tensors", std::move(tensors)}};
  writeFileAtomically(outDir + "/manifest.json", manifest.dump());
  return 0;
}

int writeSample(const std::string &path) {
  std::vector<float> f32(15);
  for (size_t i = 0; i < f32.size(); ++i)
    f32[i] = (float(i) - 7.f) * 0.375f;
  std::vector<uint16_t> bf16(12);
  for (size_t i = 0; i < bf16.size(); ++i)
    bf16[i] = floatToBf16((float(i) - 5.f) * 0.5f);
  // 1, -2, 0.5, 65504, 2^-24, -0 as IEEE half bit patterns.
  std::vector<uint16_t> f16{0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000};
  std::vector<int32_t> i32{INT32_MIN, -1, 0, INT32_MAX};
  std::vector<int64_t> i64{INT64_MIN, int64_t(1) << 40, INT64_MAX};
  std::vector<uint8_t> u8{0, 1, 128, 254, 255};
  double f64 = 0.1;
  writeSafetensors(path,
                   {{"sample.f32", DType::F32, {3, 5}, f32.data()},
                    {"sample.bf16", DType::BF16, {4, 3}, bf16.data()},
                    {"sample.f16", DType::F16, {6}, f16.data()},
                    {"sample.i32", DType::I32, {2, 2}, i32.data()},
                    {"sample.i64", DType::I64, {3}, i64.data()},
                    {"sample.u8", DType::U8, {5}, u8.data()},
                    {"sample.empty", DType::F32, {0, 3}, nullptr},
                    {"sample.f64", DType::F64, {}, &f64}},
                   {{"producer", "offload"}, {"note", "\xC3\xBCn\xC3\xAF \"quoted\""}});
  return 0;
}

/// The parameters of a plan (offc compile): names, shapes and how each starts.
struct PlanParams {
  std::vector<ExpectedTensor> params;
  std::vector<InitKind> kinds;
  double initializerRange = 0.02;
};

PlanParams planParams(const std::string &planPath) {
  std::string error;
  std::optional<off::plan::Plan> plan = off::plan::readPlanFile(planPath, error);
  if (!plan)
    throw ModelIoError(error);
  PlanParams out;
  out.initializerRange = plan->model().initializer_range();
  for (const off::plan::Tensor &t : plan->tensors()) {
    if (t.role() != off::plan::PARAM)
      continue;
    out.params.push_back({t.hf_name().empty() ? t.name() : t.hf_name(),
                          Shape(t.shape().begin(), t.shape().end()), DType::F32});
    out.kinds.push_back(t.init() == off::plan::INIT_ONES    ? InitKind::Ones
                        : t.init() == off::plan::INIT_ZEROS ? InitKind::Zeros
                                                            : InitKind::Normal);
  }
  return out;
}

int saveLlama(const std::string &planPath, const std::string &configPath,
              const std::string &saveDir, uint64_t seed, uint64_t step) {
  std::string config = readTextFile(configPath);
  PlanParams fromPlan = planParams(planPath);
  const std::vector<ExpectedTensor> &params = fromPlan.params;
  std::vector<std::vector<float>> weights, moments;
  std::vector<InitTarget> targets;
  for (size_t p = 0; p < params.size(); ++p) {
    weights.emplace_back(elementCount(params[p].shape));
    targets.push_back({params[p].name, params[p].shape, fromPlan.kinds[p],
                       weights.back().data()});
  }
  initWeights(targets, seed, fromPlan.initializerRange);
  CheckpointContents contents;
  for (size_t p = 0; p < params.size(); ++p) {
    // Moments with a known relation to the weights: m = w / 2, v = w * w.
    std::vector<float> m(weights[p]), v(weights[p]);
    for (size_t i = 0; i < m.size(); ++i) {
      m[i] = weights[p][i] * 0.5f;
      v[i] = weights[p][i] * weights[p][i];
    }
    moments.push_back(std::move(m));
    moments.push_back(std::move(v));
  }
  for (size_t p = 0; p < params.size(); ++p) {
    contents.model.push_back({params[p].name, DType::F32, params[p].shape, weights[p].data()});
    contents.optimizer.push_back({expAvgName(params[p].name), DType::F32, params[p].shape,
                                  moments[2 * p].data()});
    contents.optimizer.push_back({expAvgSqName(params[p].name), DType::F32, params[p].shape,
                                  moments[2 * p + 1].data()});
  }
  contents.configJson = config;
  contents.state.step = step;
  contents.state.microBatch = 2 * step;
  contents.state.optimizerStep = step;
  contents.state.rng = {seed, 1, 12345};
  contents.state.planHash = "test-plan";
  contents.state.planFormatVersion = 1;
  std::string dir = saveCheckpoint(saveDir, contents);
  // Read it back through the resume path, validated against the list.
  Checkpoint::open(saveDir).validate(params, 1, std::string("test-plan"));
  std::printf("%s\n", dir.c_str());
  return 0;
}

int checkModel(const std::string &path, const std::string &planPath) {
  checkTensors(SafetensorsFile::open(path), planParams(planPath).params);
  std::printf("ok\n");
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 3 && args[0] == "dump")
      return dump(args[1], args[2]);
    if (args.size() == 2 && args[0] == "write-sample")
      return writeSample(args[1]);
    if (args.size() == 6 && args[0] == "save-llama")
      return saveLlama(args[1], args[2], args[3], std::stoull(args[4]), std::stoull(args[5]));
    if (args.size() == 3 && args[0] == "check-model")
      return checkModel(args[1], args[2]);
  } catch (const std::exception &error) {
    std::fprintf(stderr, "model_io_tool: error: %s\n", error.what());
    return 1;
  }
  std::fprintf(stderr, "usage: model_io_tool (dump FILE OUTDIR | write-sample FILE | "
                       "save-llama PLAN CONFIG DIR SEED STEP | check-model FILE PLAN)\n");
  return 2;
}
