// The residency checker on hand-written schedules: each broken one is
// caught with a message naming the stream, instruction, slice and problem,
// whichever stream happens to run first; correct ones pass.
#include "ExecTestUtil.h"

#include <atomic>
#include <cmath>
#include <memory>

namespace off::exec::testing {
namespace {

enum : uint32_t { kCompute, kH2D, kD2H, kHostOpt };
const Slice kDev{0, 0, 256}, kHost{1, 0, 256}, kHostOut{1, 256, 256};

Program base() {
  Program program;
  program.arenas = {{"device", Tier::Device, 1024, 1024, false},
                    {"host", Tier::Host, 1024, 0, false}};
  program.streams = {stream("compute", StreamKind::Compute),
                     stream("h2d", StreamKind::H2D),
                     stream("d2h", StreamKind::D2H),
                     stream("host-optimizer", StreamKind::HostOptimizer)};
  program.residentAtStart = {kHost};
  return program;
}

KernelInstr kernel(const std::string &name, Slice slice, Access access,
                   Tier tier = Tier::Device) {
  return KernelInstr{name, {{slice, tier, access}}, [](const KernelCall &call) {
                       float *x = call.arg<float>(0);
                       for (uint64_t i = 0; i < call.count<float>(0); ++i)
                         if (call.args[0].access == Access::Write)
                           x[i] = float(i);
                         else
                           (void)*(volatile float *)&x[i];
                     }};
}

// Runs with the checker. When `firstStream` is given, every other stream
// holds its first instruction until that stream has reached its first one,
// and 20 ms more, so the order of the two accesses under test is known.
std::string checkedRun(const Program &program, int firstStream = -1,
                       MemoryNvmeBackend *nvme = nullptr) {
  auto started = std::make_shared<std::atomic<bool>>(false);
  ExecutorOptions options;
  options.checkResidency = true;
  options.nvme = nvme;
  options.beforeInstruction = [=](uint32_t stream, uint32_t index) {
    if (firstStream < 0 || index != 0)
      return;
    if (int(stream) == firstStream) {
      *started = true;
      return;
    }
    for (int ms = 0; ms < 5000 && !*started; ++ms)
      sleepMs(1);
    sleepMs(20);
  };
  Executor executor(testBackend(), program, options);
  return runError(executor);
}

const std::string kCopyText =
    "stream 'h2d' instruction #0 (copy arena 'host'[0, +256) -> arena "
    "'device'[0, +256))";

TEST(ResidencyChecker, MissingWaitIsCaughtWhicheverStreamRunsFirst) {
  Program program = base();
  program.eventCount = 1;
  program.streams[kH2D].instructions = {CopyInstr{kDev, kHost}, RecordInstr{0}};
  program.streams[kCompute].instructions = {
      kernel("consume", kDev, Access::Read)};
  const std::string where =
      "residency violation: stream 'compute' instruction #0 (kernel "
      "'consume'): argument 0 (read, device tier) arena 'device'[0, +256): "
      "bytes [0, 256) ";
  // The copy has not run yet: nothing is there.
  EXPECT_EQ(checkedRun(program, kCompute),
            where + "are not resident: nothing wrote them in this run and "
                    "they are not in the program's resident-at-start list");
  // The copy has run, but nothing in the plan says so.
  EXPECT_EQ(checkedRun(program, kH2D),
            where + "were written by " + kCopyText +
                ", which is not ordered before this instruction: no wait on "
                "an event recorded after it (missing wait?)");
  // With the wait, both timings pass.
  program.streams[kCompute].instructions.insert(
      program.streams[kCompute].instructions.begin(), WaitInstr{0});
  EXPECT_EQ(checkedRun(program, kH2D), "");
  EXPECT_EQ(checkedRun(program, kCompute), "");
}

// Driven by hand, the checker also catches an executor whose wait returns
// when the producing copy and the record were issued (as an asynchronous
// backend enqueues them) rather than completed. The plan itself is correct.
TEST(ResidencyChecker, CatchesAWaitThatReturnedBeforeTheProducerCompleted) {
  Program program = base();
  program.eventCount = 1;
  program.streams[kH2D].instructions = {CopyInstr{kDev, kHost}, RecordInstr{0}};
  program.streams[kCompute].instructions = {
      WaitInstr{0}, kernel("consume", kDev, Access::Read)};
  validate(program);
  ResidencyChecker checker(program);
  checker.beginRun();
  checker.beforeInstruction(kH2D, 0); // the copy is issued, not completed
  checker.beforeInstruction(kH2D, 1); // so is the record
  checker.beforeInstruction(kCompute, 0);
  checker.afterInstruction(kCompute, 0);
  try {
    checker.beforeInstruction(kCompute, 1);
    FAIL() << "expected a violation";
  } catch (const ResidencyViolation &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "were written by " + kCopyText +
                  ", which had not completed when this instruction started "
                  "although the plan orders it before (executor bug: an "
                  "event wait returned early)"),
              std::string::npos)
        << e.what();
  }
  // The same calls in a correct order pass.
  checker.beginRun();
  for (auto [stream, index] : {std::pair{kH2D, 0u}, {kH2D, 1u},
                               {kCompute, 0u}, {kCompute, 1u}}) {
    checker.beforeInstruction(stream, index);
    checker.afterInstruction(stream, index);
  }
}

TEST(ResidencyChecker, WaitingOnAnEarlierEventIsNotEnough) {
  Program program = base();
  program.eventCount = 2;
  program.streams[kH2D].instructions = {RecordInstr{0}, CopyInstr{kDev, kHost},
                                        RecordInstr{1}};
  program.streams[kCompute].instructions = {
      WaitInstr{0}, kernel("consume", kDev, Access::Read)};
  EXPECT_NE(checkedRun(program, kH2D)
                .find("were written by stream 'h2d' instruction #1 (copy"),
            std::string::npos);
}

TEST(ResidencyChecker, UseAfterFree) {
  Program program = base();
  program.streams[kCompute].instructions = {
      kernel("fill", kDev, Access::Write), FreeInstr{kDev},
      kernel("late", {0, 64, 64}, Access::Read)};
  EXPECT_EQ(checkedRun(program),
            "residency violation: stream 'compute' instruction #2 (kernel "
            "'late'): argument 0 (read, device tier) arena 'device'[64, +64): "
            "bytes [64, 128) are not resident: freed by stream 'compute' "
            "instruction #1 (free arena 'device'[0, +256)) (use after free)");
}

Program offloadProgram(Instruction lateRead, uint32_t lateStream) {
  Program program = base();
  program.eventCount = 2;
  program.streams[kCompute].instructions = {kernel("fill", kDev, Access::Write),
                                            RecordInstr{0}};
  program.streams[kD2H].instructions = {
      WaitInstr{0}, OffloadInstr{kHostOut, kDev}, RecordInstr{1}};
  program.streams[lateStream].instructions.push_back(WaitInstr{1});
  program.streams[lateStream].instructions.push_back(std::move(lateRead));
  return program;
}

TEST(ResidencyChecker, UseAfterOffloadAndPoison) {
  Program bad = offloadProgram(kernel("late", {0, 0, 16}, Access::Read),
                               kCompute);
  EXPECT_EQ(checkedRun(bad),
            "residency violation: stream 'compute' instruction #3 (kernel "
            "'late'): argument 0 (read, device tier) arena 'device'[0, +16): "
            "bytes [0, 16) are not resident: offloaded away by stream 'd2h' "
            "instruction #1 (offload arena 'device'[0, +256) -> arena "
            "'host'[256, +256)) (use after offload; read the destination or "
            "prefetch it back)");

  // Reading the destination instead is fine; the data arrived, and the
  // source now holds NaNs.
  Program good = offloadProgram(
      kernel("read_copy", kHostOut, Access::Read, Tier::Host), kHostOpt);
  ExecutorOptions options;
  options.checkResidency = true;
  Executor executor(testBackend(), good, options);
  executor.run();
  std::vector<float> copied = readFloats(executor, kHostOut);
  for (size_t i = 0; i < copied.size(); ++i)
    EXPECT_EQ(copied[i], float(i));
  const uint32_t *words =
      reinterpret_cast<const uint32_t *>(executor.pointer(kDev));
  std::vector<float> source = readFloats(executor, kDev);
  for (size_t i = 0; i < kDev.size / 4; ++i) {
    EXPECT_EQ(words[i], 0x7FC07FC0u);
    EXPECT_TRUE(std::isnan(source[i]));
  }
}

TEST(ResidencyChecker, WriteRacingWithAReadIsCaughtEitherWay) {
  Program program = base();
  program.residentAtStart.push_back(kDev);
  program.streams[kCompute].instructions = {
      kernel("reader", kDev, Access::Read)};
  program.streams[kH2D].instructions = {CopyInstr{kDev, kHost}};
  EXPECT_EQ(checkedRun(program, kCompute),
            "residency violation: " + kCopyText +
                ": copy destination arena 'device'[0, +256): bytes [0, 256) "
                "are read by stream 'compute' instruction #0 (kernel "
                "'reader'), which is not ordered before this write: the "
                "write races with that read (missing wait?)");
  EXPECT_NE(checkedRun(program, kH2D)
                .find("were written by " + kCopyText + ", which is not ordered"),
            std::string::npos);
}

TEST(ResidencyChecker, TwoUnorderedWritesRace) {
  Program program = base();
  program.streams[kCompute].instructions = {
      kernel("writer", {0, 0, 64}, Access::Write)};
  program.streams[kH2D].instructions = {CopyInstr{{0, 32, 64}, {1, 0, 64}}};
  EXPECT_EQ(checkedRun(program, kCompute),
            "residency violation: stream 'h2d' instruction #0 (copy arena "
            "'host'[0, +64) -> arena 'device'[32, +64)): copy destination "
            "arena 'device'[32, +64): bytes [32, 64) were last written (or "
            "freed) by stream 'compute' instruction #0 (kernel 'writer'), "
            "which is not ordered before this write: the two race (missing "
            "wait?)");
}

TEST(ResidencyChecker, TracksResidencyPerByteRange) {
  Program program = base();
  program.streams[kCompute].instructions = {
      kernel("half", {0, 0, 128}, Access::Write),
      kernel("more", {0, 64, 128}, Access::Read)};
  EXPECT_NE(checkedRun(program).find("bytes [128, 192) are not resident"),
            std::string::npos);
}

TEST(ResidencyChecker, NvmeRangesAreTrackedToo) {
  Program program = base();
  program.arenas.push_back({"disk", Tier::Nvme, 1024, 0, false});
  program.streams[kD2H].instructions = {
      NvmeReadInstr{{1, 512, 64}, {2, 0, 64}}};
  MemoryNvmeBackend nvme;
  EXPECT_EQ(checkedRun(program, -1, &nvme),
            "residency violation: stream 'd2h' instruction #0 (nvme-read "
            "arena 'disk'[0, +64) -> arena 'host'[512, +64)): nvme-read "
            "source arena 'disk'[0, +64): bytes [0, 64) are not resident: "
            "nothing wrote them in this run and they are not in the "
            "program's resident-at-start list");
}

TEST(ResidencyChecker, EachRunStartsFromTheResidentAtStartList) {
  Program program = base();
  program.streams[kHostOpt].instructions = {
      kernel("use", kHost, Access::Read, Tier::Host), FreeInstr{kHost}};
  ExecutorOptions options;
  options.checkResidency = true;
  Executor executor(testBackend(), program, options);
  EXPECT_NO_THROW(executor.run());
  // kHost is resident again at the start of the next run: no violation.
  EXPECT_NO_THROW(executor.run());
}

TEST(ResidencyChecker, MeasuresPeakResidentBytesPerArena) {
  Program program = base();
  // One stream, so the order is fixed: device holds 256, 512, 256, 512.
  program.streams[kH2D].instructions = {
      CopyInstr{{0, 0, 256}, kHost}, CopyInstr{{0, 256, 256}, kHost},
      FreeInstr{{0, 0, 256}}, CopyInstr{{0, 512, 256}, kHost}};
  ExecutorOptions options;
  options.checkResidency = true;
  Executor executor(testBackend(), program, options);
  executor.run();
  EXPECT_EQ(executor.checker()->peakResidentBytes(0), 512u);
  EXPECT_EQ(executor.checker()->peakResidentBytes(1), 256u);
}

TEST(ResidencyChecker, WithoutTheCheckerAUseAfterFreeGoesUnnoticed) {
  Program program = base();
  float seen = -1;
  program.streams[kCompute].instructions = {
      kernel("fill", kDev, Access::Write), FreeInstr{kDev},
      KernelInstr{"late", {{{0, 4, 4}, Tier::Device, Access::Read}},
                  [&](const KernelCall &call) { seen = *call.arg<float>(0); }}};
  Executor executor(testBackend(), program);
  EXPECT_EQ(runError(executor), "");
  EXPECT_EQ(seen, 1.0f); // the stale value, not a NaN: nothing flagged it
}

TEST(ResidencyChecker, PoisonPatternIsNaNForFloatAndBf16AtAnyCut) {
  alignas(4) std::byte whole[32], pieces[32];
  poisonWithNaN(whole, 32, 0);
  // Cut at unaligned places, as slices of an arena may be.
  poisonWithNaN(pieces, 3, 0);
  poisonWithNaN(pieces + 3, 6, 3);
  poisonWithNaN(pieces + 9, 23, 9);
  EXPECT_EQ(std::memcmp(whole, pieces, 32), 0);
  for (int i = 0; i < 8; ++i) {
    float f;
    std::memcpy(&f, whole + 4 * i, 4);
    EXPECT_TRUE(std::isnan(f));
  }
  for (int i = 0; i < 16; ++i) {
    uint16_t half;
    std::memcpy(&half, whole + 2 * i, 2);
    EXPECT_EQ(half & 0x7F80, 0x7F80); // bf16: exponent all ones
    EXPECT_NE(half & 0x007F, 0);      // and a mantissa: NaN, not infinity
    EXPECT_EQ(half & 0x7C00, 0x7C00); // fp16 too
  }
}

} // namespace
} // namespace off::exec::testing
