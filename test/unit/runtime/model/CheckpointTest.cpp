// Checkpoint directories: save/resume round trip, the `latest` pointer,
// atomicity of a failed save, and the mismatch report of a resume.
#include "runtime/model/Checkpoint.h"

#include "ModelTestUtil.h"
#include "runtime/model/ModelError.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <sys/mount.h>
#include <unistd.h>

namespace off::model {
namespace {

namespace fs = std::filesystem;
using testutil::errorOf;
using testutil::readBytes;
using testutil::ScratchDir;
using testutil::writeBytes;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

const char *kConfig = R"({"model_type":"llama","hidden_size":4})";

// A two-parameter "model" with deterministic contents per step.
struct FakeRun {
  std::vector<ExpectedTensor> params{{"model.embed_tokens.weight", {3, 4}, DType::F32},
                                     {"model.norm.weight", {4}, DType::F32}};
  std::vector<std::vector<float>> weights, moments;

  CheckpointContents contents(uint64_t step) {
    weights.clear();
    moments.clear();
    for (const ExpectedTensor &param : params) {
      size_t n = elementCount(param.shape);
      std::vector<float> w(n), m(n), v(n);
      for (size_t i = 0; i < n; ++i) {
        w[i] = float(step) + 0.5f * float(i);
        m[i] = -float(i);
        v[i] = float(step * i);
      }
      weights.push_back(std::move(w));
      moments.push_back(std::move(m));
      moments.push_back(std::move(v));
    }
    CheckpointContents c;
    for (size_t p = 0; p < params.size(); ++p) {
      c.model.push_back({params[p].name, DType::F32, params[p].shape, weights[p].data()});
      c.optimizer.push_back({expAvgName(params[p].name), DType::F32, params[p].shape,
                             moments[2 * p].data()});
      c.optimizer.push_back({expAvgSqName(params[p].name), DType::F32, params[p].shape,
                             moments[2 * p + 1].data()});
    }
    c.configJson = kConfig;
    c.state.step = step;
    c.state.microBatch = 2 * step;
    c.state.optimizerStep = step;
    c.state.rng = {42, 7, 1000 + step};
    c.state.planHash = "sha256:abc";
    c.state.planFormatVersion = 1;
    c.state.extra["data"] = "tokens.bin";
    return c;
  }
};

// Every file of a directory tree with its bytes.
std::map<std::string, std::string> snapshot(const std::string &dir) {
  std::map<std::string, std::string> files;
  for (const auto &entry : fs::recursive_directory_iterator(dir))
    files[fs::relative(entry.path(), dir).string()] =
        entry.is_regular_file() ? readBytes(entry.path().string()) : "<dir>";
  return files;
}

TEST(ModelCheckpoint, SavesAndResumes) {
  ScratchDir dir;
  FakeRun run;
  CheckpointContents saved = run.contents(10);
  std::string stepDir = saveCheckpoint(dir.path(), saved);
  EXPECT_EQ(stepDir, dir.file("step-10"));
  EXPECT_EQ(readBytes(dir.file("latest")), "step-10\n");
  for (const char *name : {"model.safetensors", "optimizer.safetensors", "config.json",
                           "trainer_state.json"})
    EXPECT_TRUE(fs::is_regular_file(stepDir + "/" + name)) << name;
  EXPECT_EQ(readBytes(stepDir + "/config.json"), kConfig);

  Checkpoint checkpoint = Checkpoint::open(dir.path()); // follows `latest`
  EXPECT_EQ(checkpoint.dir(), stepDir);
  EXPECT_TRUE(checkpoint.state() == saved.state);
  EXPECT_EQ(checkpoint.configJson(), kConfig);
  EXPECT_NO_THROW(checkpoint.validate(run.params, 1, std::string("sha256:abc")));
  float w[12];
  checkpoint.model().copyTo("model.embed_tokens.weight", DType::F32, w, sizeof w);
  EXPECT_EQ(w[11], 10.f + 5.5f);
  float v[4];
  checkpoint.optimizer().copyTo("model.norm.weight.exp_avg_sq", DType::F32, v, sizeof v);
  EXPECT_EQ(v[3], 30.f);
  // HF's loader insists on format "pt" in the model's metadata.
  const SafetensorsFile &modelFile = checkpoint.model().fileOf("model.embed_tokens.weight");
  ASSERT_FALSE(modelFile.metadata().empty());
  EXPECT_EQ(modelFile.metadata()[0].second, "pt");
  // A step directory opens directly too.
  EXPECT_EQ(Checkpoint::open(stepDir).state().step, 10u);
}

TEST(ModelCheckpoint, LatestMovesAndOldStepsCanBePruned) {
  ScratchDir dir;
  FakeRun run;
  saveCheckpoint(dir.path(), run.contents(10));
  saveCheckpoint(dir.path(), run.contents(20));
  EXPECT_EQ(readBytes(dir.file("latest")), "step-20\n");
  EXPECT_TRUE(fs::exists(dir.file("step-10")));
  EXPECT_EQ(Checkpoint::open(dir.path()).state().step, 20u);
  saveCheckpoint(dir.path(), run.contents(30), SaveOptions{2});
  EXPECT_FALSE(fs::exists(dir.file("step-10")));
  EXPECT_TRUE(fs::exists(dir.file("step-20")));
  EXPECT_TRUE(fs::exists(dir.file("step-30")));
}

TEST(ModelCheckpoint, ResavingAStepReplacesIt) {
  ScratchDir dir;
  FakeRun run;
  saveCheckpoint(dir.path(), run.contents(10));
  CheckpointContents again = run.contents(10);
  again.state.microBatch = 999;
  saveCheckpoint(dir.path(), again);
  EXPECT_EQ(Checkpoint::open(dir.path()).state().microBatch, 999u);
  EXPECT_EQ(snapshot(dir.path()).size(), 6u); // latest, step-10/ and its 4 files
}

// The failure may come anywhere: in the model, the optimizer state, the
// config or the trainer state. Each time the earlier checkpoint and
// `latest` must be exactly as before and nothing of the new one remain.
TEST(ModelCheckpoint, FailedSaveLeavesThePreviousCheckpointIntact) {
  ScratchDir dir;
  FakeRun run;
  saveCheckpoint(dir.path(), run.contents(10));
  const auto before = snapshot(dir.path());
  uint64_t modelBytes = readBytes(dir.file("step-10/model.safetensors")).size();
  uint64_t optimBytes = readBytes(dir.file("step-10/optimizer.safetensors")).size();
  uint64_t configBytes = std::string(kConfig).size();
  for (uint64_t failAfter :
       {uint64_t(0), uint64_t(5), modelBytes - 1, modelBytes + 10, modelBytes + optimBytes - 1,
        modelBytes + optimBytes + 3, modelBytes + optimBytes + configBytes + 1}) {
    injectWriteFailureAfter(failAfter, ENOSPC);
    std::string message =
        errorOf<ModelIoError>([&] { saveCheckpoint(dir.path(), run.contents(20)); });
    clearInjectedWriteFailure();
    EXPECT_TRUE(contains(message, "No space left on device")) << message;
    EXPECT_TRUE(contains(message, dir.file("step-20.tmp/"))) << message;
    EXPECT_EQ(snapshot(dir.path()), before) << "after failing at byte " << failAfter;
    EXPECT_EQ(Checkpoint::open(dir.path()).state().step, 10u);
  }
  // Failing while replacing `latest` (the last write): step-20/ is complete
  // but `latest` still names step-10, which a resume then uses.
  uint64_t stateBytes = trainerStateToJson(run.contents(20).state).size();
  injectWriteFailureAfter(modelBytes + optimBytes + configBytes + stateBytes + 2, ENOSPC);
  std::string message =
      errorOf<ModelIoError>([&] { saveCheckpoint(dir.path(), run.contents(20)); });
  clearInjectedWriteFailure();
  EXPECT_TRUE(contains(message, dir.file("latest") + ": write failed")) << message;
  EXPECT_EQ(readBytes(dir.file("latest")), "step-10\n");
  EXPECT_EQ(Checkpoint::open(dir.path()).state().step, 10u);
  EXPECT_TRUE(fs::exists(dir.file("step-20/trainer_state.json")));
  // The next save works and moves `latest`.
  saveCheckpoint(dir.path(), run.contents(20));
  EXPECT_EQ(Checkpoint::open(dir.path()).state().step, 20u);
}

// The same with a real full disk: a 256 KiB tmpfs (needs root and mount
// rights; skipped, and reported as skipped, where the sandbox refuses).
TEST(ModelCheckpoint, RealFullDiskLeavesThePreviousCheckpointIntact) {
  ScratchDir dir;
  if (::geteuid() != 0 ||
      ::mount("tmpfs", dir.path().c_str(), "tmpfs", 0, "size=256k") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here";
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{dir.path()};
  FakeRun run;
  saveCheckpoint(dir.path(), run.contents(1));
  const auto before = snapshot(dir.path());
  std::vector<float> big(200 * 1024); // 800 KiB: cannot fit
  CheckpointContents tooBig = run.contents(2);
  tooBig.model.push_back({"big", DType::F32, {int64_t(big.size())}, big.data()});
  std::string message = errorOf<ModelIoError>([&] { saveCheckpoint(dir.path(), tooBig); });
  EXPECT_TRUE(contains(message, "No space left on device")) << message;
  EXPECT_EQ(snapshot(dir.path()), before);
  EXPECT_EQ(Checkpoint::open(dir.path()).state().step, 1u);
}

TEST(ModelCheckpoint, StaleTemporaryDirectoryIsReplaced) {
  ScratchDir dir;
  FakeRun run;
  fs::create_directories(dir.file("step-5.tmp"));
  writeBytes(dir.file("step-5.tmp/model.safetensors"), "half a file");
  saveCheckpoint(dir.path(), run.contents(5));
  EXPECT_FALSE(fs::exists(dir.file("step-5.tmp")));
  EXPECT_EQ(Checkpoint::open(dir.path()).state().step, 5u);
}

TEST(ModelCheckpoint, InvalidConfigIsRefusedBeforeWriting) {
  ScratchDir dir;
  FakeRun run;
  CheckpointContents c = run.contents(1);
  c.configJson = "{not json";
  EXPECT_TRUE(contains(errorOf<ModelIoError>([&] { saveCheckpoint(dir.path(), c); }),
                       "config.json: the config to save is not valid JSON"));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// Resuming with a different model: every mismatch in one message, each
// line naming the file, the tensor, and what was expected and found.
TEST(ModelCheckpoint, ValidateReportsEveryMismatch) {
  ScratchDir dir;
  FakeRun run;
  saveCheckpoint(dir.path(), run.contents(3));
  Checkpoint checkpoint = Checkpoint::open(dir.path());
  std::vector<ExpectedTensor> other{
      {"model.embed_tokens.weight", {3, 5}, DType::F32}, // shape differs
      {"model.norm.weight", {4}, DType::BF16},          // dtype differs
      {"lm_head.weight", {3, 4}, DType::F32},           // missing
  };
  std::string message = errorOf<ModelIoError>(
      [&] { checkpoint.validate(other, 2, std::string("sha256:zzz")); });
  std::string model = dir.file("step-3/model.safetensors");
  std::string optim = dir.file("step-3/optimizer.safetensors");
  std::string state = dir.file("step-3/trainer_state.json");
  for (const std::string &line : {
           model + ": tensor 'model.embed_tokens.weight': expected [3, 5] F32, found [3, 4] F32",
           model + ": tensor 'model.norm.weight': expected [4] BF16, found [4] F32",
           model + ": tensor 'lm_head.weight': missing (expected [3, 4] F32)",
           optim + ": tensor 'model.embed_tokens.weight.exp_avg': expected [3, 5] F32, "
                   "found [3, 4] F32",
           optim + ": tensor 'lm_head.weight.exp_avg_sq': missing (expected [3, 4] F32)",
           state + ": written by plan format version 1, this plan is version 2",
           state + ": written by plan sha256:abc, resuming with plan sha256:zzz",
       })
    EXPECT_TRUE(contains(message, line)) << "missing line: " << line << "\nin:\n" << message;
  EXPECT_EQ(message.rfind("9 problems:", 0), 0u) << message;

  // An extra tensor in the file is reported too.
  std::vector<ExpectedTensor> fewer{run.params[0]};
  std::string extra = errorOf<ModelIoError>([&] { checkpoint.validate(fewer, 1); });
  EXPECT_TRUE(contains(extra, model + ": tensor 'model.norm.weight': not expected (found [4] F32)"))
      << extra;
}

// Killed after renaming its first step directories into place but before
// writing `latest`: a resume takes the newest complete step-N/, ignoring a
// half-written step-N.tmp/ and a step directory without trainer_state.json.
TEST(ModelCheckpoint, WithoutLatestTheNewestCompleteStepIsResumed) {
  ScratchDir dir;
  FakeRun run;
  saveCheckpoint(dir.path(), run.contents(4));
  saveCheckpoint(dir.path(), run.contents(12));
  saveCheckpoint(dir.path(), run.contents(8));
  fs::remove(dir.file("latest"));
  fs::create_directory(dir.file("step-16.tmp"));
  fs::create_directory(dir.file("step-20"));
  EXPECT_EQ(resolveCheckpointDir(dir.path()), dir.file("step-12"));
  EXPECT_EQ(Checkpoint::open(dir.path()).state().step, 12u);
  fs::remove_all(dir.file("step-4"));
  fs::remove_all(dir.file("step-8"));
  fs::remove_all(dir.file("step-12"));
  EXPECT_TRUE(contains(errorOf<ModelIoError>([&] { resolveCheckpointDir(dir.path()); }),
                       "nor a complete step-N directory"));
}

TEST(ModelCheckpoint, ResolveErrorsNameThePath) {
  ScratchDir dir;
  EXPECT_TRUE(contains(errorOf<ModelIoError>([&] { resolveCheckpointDir(dir.file("none")); }),
                       "no such checkpoint directory"));
  EXPECT_TRUE(contains(errorOf<ModelIoError>([&] { resolveCheckpointDir(dir.path()); }),
                       "is not a checkpoint"));
  writeBytes(dir.file("latest"), "step-7\n");
  EXPECT_TRUE(contains(errorOf<ModelIoError>([&] { resolveCheckpointDir(dir.path()); }),
                       "latest: names " + dir.file("step-7") + ", which holds no"));
  writeBytes(dir.file("latest"), "../../etc\n");
  EXPECT_TRUE(contains(errorOf<ModelIoError>([&] { resolveCheckpointDir(dir.path()); }),
                       "not a step-N directory"));
}

TEST(ModelCheckpoint, TrainerStateRoundTripsAndRejectsBadFiles) {
  TrainerState state;
  state.step = 123;
  state.microBatch = 246;
  state.optimizerStep = 123;
  state.rng = {UINT64_MAX, 1, 2};
  state.planHash = "h";
  state.planFormatVersion = 1;
  EXPECT_TRUE(trainerStateFromJson(trainerStateToJson(state), "s.json") == state);

  auto error = [](const std::string &text) {
    return errorOf<ModelIoError>([&] { trainerStateFromJson(text, "s.json"); });
  };
  EXPECT_TRUE(contains(error("{"), "s.json: not valid JSON"));
  // A key given twice, and a 50,000-level document: clear errors, no crash.
  EXPECT_TRUE(contains(error(R"({"step":1,"step":2})"),
                       "s.json: not valid JSON: duplicate key 'step'"));
  std::string deep;
  for (int i = 0; i < 50000; ++i)
    deep += "{\"a\":";
  deep += "1" + std::string(50000, '}');
  EXPECT_EQ(error(deep), "s.json: not valid JSON: nesting deeper than 64 levels");
  EXPECT_TRUE(contains(error(R"({"format":"x"})"), "is not an offload trainer state"));
  EXPECT_TRUE(contains(error(R"({"format":"offload-trainer-state","version":9})"),
                       "version 9 is not supported"));
  std::string text = trainerStateToJson(state);
  std::string noRng = text.substr(0, text.find(",\"rng\"")) + "}";
  EXPECT_TRUE(contains(error(noRng), "missing \"rng\"")) << error(noRng);
  std::string negative = text;
  negative.replace(negative.find("\"step\":123"), 10, "\"step\":-1");
  EXPECT_TRUE(contains(error(negative), "\"step\": expected a non-negative integer"))
      << error(negative);
}

TEST(ModelCheckpoint, OptimizerStateNames) {
  auto states = optimizerStateTensors({{"a.weight", {2, 3}, DType::BF16}});
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].name, "a.weight.exp_avg");
  EXPECT_EQ(states[1].name, "a.weight.exp_avg_sq");
  EXPECT_EQ(states[1].shape, (Shape{2, 3}));
  EXPECT_EQ(states[1].dtype, DType::F32); // moments are fp32 whatever the weights are
}

} // namespace
} // namespace off::model
