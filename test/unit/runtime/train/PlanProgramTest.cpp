// PlanProgram on hand-built plans: a kernel chain and attributes against
// values computed by hand, views, copies and events across two streams
// under the residency checker (and a missing wait caught), NVMe copies (in
// memory, and on the io_uring engine in files), and
// what the program takes from the plan (budgets, resident tensors, names).
// adam_step is in AdamStepTest.cpp, refused plans in PlanProgramErrorTest.cpp.

#include "PlanBuilder.h"

#include "runtime/exec/NvmeBackend.h"
#include "runtime/cpu/CpuBackend.h"
#include "runtime/train/PlanProgram.h"
#include "test/unit/runtime/io/IoTestSupport.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace off::train {
namespace {

using test::PlanBuilder;

PlanProgramOptions checked() {
  PlanProgramOptions options;
  options.executor.checkResidency = true;
  options.executor.hostMemory.pinned = false; // no mlock limits in a test
  return options;
}

void write(PlanProgram &program, const std::string &name, const std::vector<float> &values) {
  uint32_t id = program.get(name);
  ASSERT_EQ(program.tensor(id).size_bytes(), values.size() * sizeof(float));
  std::memcpy(program.data(id), values.data(), values.size() * sizeof(float));
}

std::vector<float> read(const PlanProgram &program, const std::string &name) {
  uint32_t id = program.get(name);
  const float *data = program.dataAs<float>(id);
  return {data, data + program.tensor(id).size_bytes() / sizeof(float)};
}

// z = x [2, 3] @ w [3, 2] + bias [2], the bias a constant of the plan.
TEST(PlanProgram, RunsAKernelChainWithHandComputedResults) {
  PlanBuilder b;
  b.tier(plan::TIER_DEVICE);
  b.arena(0);
  uint32_t x = b.tensor("x", {2, 3}, plan::INPUT);
  uint32_t w = b.tensor("w", {3, 2}, plan::PARAM);
  uint32_t bias = b.tensor("bias", {2}, plan::CONSTANT);
  b.constant(bias, {0.5f, -1.0f});
  uint32_t y = b.tensor("y", {2, 2}, plan::ACTIVATION);
  uint32_t z = b.tensor("z", {2, 2}, plan::OUTPUT);
  uint32_t s = b.stream(plan::COMPUTE);
  b.kernel(s, "matmul", {x, w}, {y});
  b.kernel(s, "add", {y, bias}, {z});

  PlanProgram program(cpu::cpuBackend(), b.plan(), "hand.plan", checked());
  write(program, "x", {1, 2, 3, 4, 5, 6});
  write(program, "w", {1, 0, 0, 1, 1, 1});
  program.run();
  // Row 0: [1 + 3, 2 + 3] + bias; row 1: [4 + 6, 5 + 6] + bias.
  EXPECT_EQ(read(program, "z"), (std::vector<float>{4.5f, 4.0f, 10.5f, 10.0f}));
  program.run(); // a second step reads the same inputs: the same result
  EXPECT_EQ(read(program, "z"), (std::vector<float>{4.5f, 4.0f, 10.5f, 10.0f}));
}

TEST(PlanProgram, PassesAttributesToKernels) {
  PlanBuilder b;
  b.tier(plan::TIER_DEVICE);
  b.arena(0);
  uint32_t x = b.tensor("x", {2, 3}, plan::INPUT);
  uint32_t y = b.tensor("y", {3, 2}, plan::OUTPUT);
  uint32_t s = b.stream(plan::COMPUTE);
  PlanBuilder::attrInts(b.kernel(s, "transpose", {x}, {y}), "perm", {1, 0});
  PlanProgram program(cpu::cpuBackend(), b.plan(), "hand.plan", checked());
  write(program, "x", {1, 2, 3, 4, 5, 6});
  program.run();
  EXPECT_EQ(read(program, "y"), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

// A reshape view has its source's bytes under another shape.
TEST(PlanProgram, ViewsReadTheirSourceBytes) {
  PlanBuilder b;
  b.tier(plan::TIER_DEVICE);
  b.arena(0);
  uint32_t x = b.tensor("x", {2, 3}, plan::INPUT);
  uint32_t flat = b.view("x.flat", x, {6});
  uint32_t y = b.tensor("y", {6}, plan::OUTPUT);
  b.kernel(b.stream(plan::COMPUTE), "add", {flat, flat}, {y});
  PlanProgram program(cpu::cpuBackend(), b.plan(), "hand.plan", checked());
  write(program, "x", {1, 2, 3, 4, 5, 6});
  program.run();
  EXPECT_EQ(read(program, "y"), (std::vector<float>{2, 4, 6, 8, 10, 12}));
}

// w lives in host memory and is copied to the device on the h2d stream; the
// compute stream waits for the copy's event before its kernel reads it.
PlanBuilder twoStreamPlan(bool withWait) {
  PlanBuilder b;
  b.tier(plan::TIER_DEVICE);
  b.tier(plan::TIER_HOST);
  b.arena(0);
  b.arena(1);
  uint32_t x = b.tensor("x", {4}, plan::INPUT, 0);
  uint32_t hostW = b.tensor("w", {4}, plan::PARAM, 1);
  uint32_t deviceW = b.tensor("w.device", {4}, plan::ACTIVATION, 0);
  uint32_t y = b.tensor("y", {4}, plan::OUTPUT, 0);
  uint32_t compute = b.stream(plan::COMPUTE);
  uint32_t h2d = b.stream(plan::H2D);
  b.copy(h2d, hostW, deviceW);
  b.record(h2d, 0);
  if (withWait)
    b.wait(compute, 0);
  b.kernel(compute, "mul", {x, deviceW}, {y});
  return b;
}

TEST(PlanProgram, CopiesAndEventsAcrossTwoStreamsPassTheResidencyChecker) {
  PlanBuilder b = twoStreamPlan(true);
  PlanProgram program(cpu::cpuBackend(), b.plan(), "two.plan", checked());
  ASSERT_EQ(program.executor().program().streams.size(), 2u);
  EXPECT_EQ(program.executor().program().streams[1].spec.kind, StreamKind::H2D);
  write(program, "x", {1, 2, 3, 4});
  write(program, "w", {2, 3, 4, 5});
  for (int step = 0; step < 3; ++step) {
    program.run();
    EXPECT_EQ(read(program, "y"), (std::vector<float>{2, 6, 12, 20}));
    EXPECT_EQ(read(program, "w.device"), (std::vector<float>{2, 3, 4, 5}));
  }
}

// Without the wait the kernel may read the copy's destination before (or
// while) it is written: the checker reports the kernel's read whichever
// stream runs first.
TEST(PlanProgram, AMissingWaitIsCaughtByTheResidencyChecker) {
  PlanBuilder b = twoStreamPlan(false);
  PlanProgram program(cpu::cpuBackend(), b.plan(), "racy.plan", checked());
  write(program, "x", {1, 2, 3, 4});
  try {
    program.run();
    FAIL() << "the race was not reported";
  } catch (const exec::ExecError &error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("residency violation: stream 'compute' instruction #0 (kernel "
                           "'mul')"),
              std::string::npos)
        << message;
  }
}

// w on NVMe is read into host memory, doubled there, written back as
// w.back: a copy out of an NVMe arena becomes an nvme-read, into one an
// nvme-write.
PlanBuilder nvmePlan() {
  PlanBuilder b;
  b.tier(plan::TIER_HOST);
  b.tier(plan::TIER_NVME);
  b.arena(0);
  b.arena(1);
  uint32_t onDisk = b.tensor("w", {3}, plan::PARAM, 1);
  uint32_t inHost = b.tensor("w.host", {3}, plan::ACTIVATION, 0);
  uint32_t doubled = b.tensor("w.doubled", {3}, plan::ACTIVATION, 0);
  uint32_t back = b.tensor("w.back", {3}, plan::OUTPUT, 1);
  uint32_t read = b.stream(plan::NVME_READ);
  uint32_t optimizer = b.stream(plan::HOST_OPTIMIZER);
  uint32_t writeBack = b.stream(plan::NVME_WRITE);
  b.copy(read, onDisk, inHost);
  b.record(read, 0);
  b.wait(optimizer, 0);
  b.kernel(optimizer, "add", {inHost, inHost}, {doubled});
  b.record(optimizer, 1);
  b.wait(writeBack, 1);
  b.copy(writeBack, doubled, back);
  return b;
}

TEST(PlanProgram, CopiesFromAndToNvmeGoThroughTheBackend) {
  PlanBuilder b = nvmePlan();
  exec::MemoryNvmeBackend nvme;
  PlanProgramOptions options = checked();
  options.executor.nvme = &nvme;
  PlanProgram program(cpu::cpuBackend(), b.plan(), "nvme.plan", options);
  EXPECT_EQ(program.nvme(), nullptr); // the caller's backend, none made
  const auto &streams = program.executor().program().streams;
  ASSERT_TRUE(std::holds_alternative<exec::NvmeReadInstr>(streams[0].instructions[0]));
  ASSERT_TRUE(std::holds_alternative<exec::NvmeWriteInstr>(streams[2].instructions[1]));
  const float w[3] = {7, 8, 9};
  std::memcpy(nvme.contents(1).data() + b.plan().tensors(0).offset(), w, sizeof w);
  program.run();
  float result[3];
  std::memcpy(result, nvme.contents(1).data() + b.plan().tensors(3).offset(), sizeof result);
  EXPECT_EQ(std::vector<float>(result, result + 3), (std::vector<float>{14, 16, 18}));
}

// Between runs, a tensor on the NVMe tier is written and read whole or by
// byte range through the NVMe backend; it has no host pointer.
TEST(PlanProgram, NvmeTensorsAreReadAndWrittenBetweenRuns) {
  PlanBuilder b = nvmePlan();
  exec::MemoryNvmeBackend nvme;
  PlanProgramOptions options = checked();
  options.executor.nvme = &nvme;
  PlanProgram program(cpu::cpuBackend(), b.plan(), "nvme.plan", options);
  const uint32_t w = program.get("w"), host = program.get("w.host");
  EXPECT_FALSE(program.hostAddressable(w));
  EXPECT_TRUE(program.hostAddressable(host));
  EXPECT_THROW(program.data(w), std::invalid_argument);
  const float values[3] = {7, 8, 9};
  program.write(w, values);
  float onDisk[3];
  std::memcpy(onDisk, nvme.contents(1).data() + b.plan().tensors(int(w)).offset(), sizeof onDisk);
  EXPECT_EQ(std::vector<float>(onDisk, onDisk + 3), (std::vector<float>{7, 8, 9}));
  const float one = -1;
  program.write(w, sizeof(float), &one, sizeof one); // the middle element only
  float tail[2];
  program.read(w, sizeof(float), tail, sizeof tail);
  EXPECT_EQ(std::vector<float>(tail, tail + 2), (std::vector<float>{-1, 9}));
  program.run(); // w.back = 2 * w
  float back[3];
  program.read(program.get("w.back"), back);
  EXPECT_EQ(std::vector<float>(back, back + 3), (std::vector<float>{14, -2, 18}));
  EXPECT_THROW(program.read(w, 2 * sizeof(float), tail, sizeof tail), std::out_of_range);
}

// Given a directory, the program stores its NVMe arena in files there and
// runs the copies on the io_uring engine with O_DIRECT (the engine's totals
// say which path moved the bytes), or on the pread/pwrite pool when forced;
// the file, read without the engine, holds the result.
TEST(PlanProgram, NvmeCopiesRunOnTheIoUringEngine) {
  for (bool forceThreadPool : {false, true}) {
    SCOPED_TRACE(forceThreadPool ? "forced thread pool" : "io_uring");
    io::test::TempDir dir; // /tmp: ext4 here, O_DIRECT works
    PlanBuilder b = nvmePlan();
    PlanProgramOptions options = checked();
    options.nvme.directories = {dir.path()};
    options.nvme.engine.forceThreadPool = forceThreadPool;
    PlanProgram program(cpu::cpuBackend(), b.plan(), "nvme.plan", options);
    ASSERT_NE(program.nvme(), nullptr);
    const std::string file = program.nvme()->space(1).paths().at(0);
    const uint64_t wAt = b.plan().tensors(0).offset(), backAt = b.plan().tensors(3).offset();
    const float w[3] = {7, 8, 9};
    int fd = open(file.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << file;
    ASSERT_EQ(pwrite(fd, w, sizeof w, off_t(wAt)), ssize_t(sizeof w)); // one stripe file
    program.run();
    float result[3] = {};
    ASSERT_EQ(pread(fd, result, sizeof result, off_t(backAt)), ssize_t(sizeof result));
    close(fd);
    EXPECT_EQ(std::vector<float>(result, result + 3), (std::vector<float>{14, 16, 18}));

    const io::EngineStats stats = program.nvme()->stats();
    const io::TransferTotals &used = forceThreadPool ? stats.threadPoolDirect : stats.ioUring;
    const io::TransferTotals &unused = forceThreadPool ? stats.ioUring : stats.threadPoolDirect;
    EXPECT_EQ(used.readBytes, sizeof w);
    EXPECT_EQ(used.writeBytes, sizeof result);
    EXPECT_EQ(unused.chunks + stats.threadPoolBuffered.chunks, 0u);
  }
}

TEST(PlanProgram, NvmeArenasNeedADirectory) {
  try {
    PlanProgram program(cpu::cpuBackend(), nvmePlan().plan(), "nvme.plan", checked());
    FAIL() << "expected a PlanError";
  } catch (const PlanError &error) {
    // The NVMe arena: w at 0, w.back at 64 (offsets 64-aligned), 12 bytes each.
    EXPECT_STREQ(error.what(), "nvme.plan: the plan keeps 76B on NVMe; give a directory for "
                               "it (offrt --nvme DIR)");
  }
  PlanProgramOptions options = checked();
  options.nvme.directories = {"/nonexistent-offload-dir"};
  try {
    PlanProgram program(cpu::cpuBackend(), nvmePlan().plan(), "nvme.plan", options);
    FAIL() << "expected a PlanError";
  } catch (const PlanError &error) {
    EXPECT_STREQ(error.what(), "nvme.plan: nvme: cannot make a directory in "
                               "/nonexistent-offload-dir: it does not exist");
  }
}

TEST(PlanProgram, TakesTierBudgetsAndTheTensorsResidentAtStart) {
  PlanBuilder b;
  b.tier(plan::TIER_DEVICE, 4096);
  b.arena(0);
  b.tensor("ids", {4}, plan::INPUT, 0, plan::I32);
  b.tensor("w", {4}, plan::PARAM);
  b.tensor("w.exp_avg", {4}, plan::OPTIMIZER_STATE);
  b.constant(b.tensor("c", {1}, plan::CONSTANT), {1.0f});
  b.tensor("a", {4}, plan::ACTIVATION);
  b.tensor("g", {4}, plan::GRAD);
  b.tensor("loss", {}, plan::OUTPUT);
  b.stream(plan::COMPUTE);
  PlanProgram program(cpu::cpuBackend(), b.plan(), "budget.plan");
  const exec::Program &p = program.executor().program();
  ASSERT_EQ(p.arenas.size(), 1u);
  EXPECT_EQ(p.arenas[0].tier, Tier::Device);
  EXPECT_EQ(p.arenas[0].budget, 4096u);
  EXPECT_EQ(p.residentAtStart.size(), 4u); // input, param, optimizer state, constant
  EXPECT_EQ(program.withRole(plan::PARAM), std::vector<uint32_t>{1});
  EXPECT_EQ(*program.dataAs<float>(program.get("c")), 1.0f);
  EXPECT_EQ(program.find("nothing"), std::nullopt);
  try {
    program.get("nothing");
    FAIL();
  } catch (const PlanError &error) {
    EXPECT_STREQ(error.what(), "budget.plan: the plan has no tensor 'nothing'");
  }
}

} // namespace
} // namespace off::train
