// train() and forward() refuse a plan whose entry tensors disagree with its
// model (batch, sequence, micro-batches) before they write a token: the
// batch loader writes B*T (times K) ids, so a smaller input would be written
// past its end.

#include "PlanBuilder.h"

#include "runtime/cpu/CpuBackend.h"
#include "runtime/train/Session.h"
#include "runtime/train/Trainer.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace off::train {
namespace {

using test::PlanBuilder;

// A train_step plan with the model's K, B, T as given and input_ids /
// targets of `inputShape`; nothing in it runs (the check comes first).
std::string writeTrainPlan(const std::string &name, std::vector<int64_t> inputShape,
                           int64_t K, int64_t B, int64_t T) {
  PlanBuilder b;
  plan::Model *model = b.plan().mutable_model();
  model->set_entry("train_step");
  model->set_grad_accum(K);
  model->set_batch(B);
  model->set_seq(T);
  model->set_vocab_size(16);
  b.tier(plan::TIER_DEVICE);
  b.arena(0);
  b.tensor("input_ids", inputShape, plan::INPUT, 0, plan::I32);
  b.tensor("targets", inputShape, plan::INPUT, 0, plan::I32);
  b.tensor("loss", {}, plan::OUTPUT);
  b.tensor("grad_norm", {}, plan::OUTPUT);
  b.stream(plan::COMPUTE);
  const std::string path = ::testing::TempDir() + "/" + name;
  std::string error;
  EXPECT_TRUE(plan::writePlanFile(b.plan(), path, error)) << error;
  return path;
}

// An empty token file: its contents are never read (the plan is refused
// first), but inputs must exist to get that far.
std::string emptyDataFile() {
  const std::string path = ::testing::TempDir() + "/no-data-needed.bin";
  std::fclose(std::fopen(path.c_str(), "w"));
  return path;
}

std::string trainError(const std::string &planPath) {
  TrainOptions options;
  options.backend = &cpu::cpuBackend();
  options.planPath = planPath;
  options.dataPath = emptyDataFile();
  options.quiet = true;
  try {
    train(options);
  } catch (const TrainError &error) {
    return error.what();
  } catch (const std::exception &error) {
    return std::string("other error: ") + error.what();
  }
  return "";
}

TEST(TrainerErrors, InputsSmallerThanTheModelsMicroBatches) {
  const std::string path = writeTrainPlan("k.plan", {1, 2, 3}, 2, 2, 3);
  EXPECT_EQ(trainError(path),
            path + ": input 'input_ids' must be an i32 input of shape [2, 2, 3] (from the "
                   "plan's model), but it is INPUT I32 [1, 2, 3]");
  std::remove(path.c_str());
}

TEST(TrainerErrors, InputsOfAnotherSequenceLength) {
  const std::string path = writeTrainPlan("t.plan", {1, 2, 3}, 1, 2, 4);
  EXPECT_NE(trainError(path).find("shape [1, 2, 4]"), std::string::npos);
  std::remove(path.c_str());
}

TEST(TrainerErrors, AModelWithoutMicroBatches) {
  const std::string path = writeTrainPlan("zero.plan", {1, 2, 3}, 0, 2, 3);
  EXPECT_NE(trainError(path).find("has grad-accum 0, batch 2 and sequence 3; each must be "
                                  "positive"),
            std::string::npos);
  std::remove(path.c_str());
}

TEST(TrainerErrors, ForwardInputsOfAnotherBatch) {
  PlanBuilder b;
  plan::Model *model = b.plan().mutable_model();
  model->set_entry("forward");
  model->set_batch(4);
  model->set_seq(3);
  model->set_vocab_size(16);
  b.tier(plan::TIER_DEVICE);
  b.arena(0);
  b.tensor("input_ids", {2, 3}, plan::INPUT, 0, plan::I32);
  b.tensor("logits", {2, 3, 16}, plan::OUTPUT);
  b.stream(plan::COMPUTE);
  const std::string path = ::testing::TempDir() + "/forward.plan";
  std::string error;
  ASSERT_TRUE(plan::writePlanFile(b.plan(), path, error)) << error;
  ForwardOptions options;
  options.backend = &cpu::cpuBackend();
  options.planPath = path;
  options.dataPath = emptyDataFile();
  options.outputPath = ::testing::TempDir() + "/never-written.safetensors";
  try {
    forward(options);
    FAIL() << "the plan was run";
  } catch (const TrainError &e) {
    EXPECT_NE(std::string(e.what()).find("input 'input_ids' must be an i32 input of shape "
                                         "[4, 3]"),
              std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
}

} // namespace
} // namespace off::train
