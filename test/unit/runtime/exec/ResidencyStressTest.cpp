// Stress: thousands of random schedules (six streams, random delays before
// instructions and inside kernels) under the residency checker.
//  * Correct schedules: no violation, and every arena ends byte-for-byte
//    equal to running the same operations one at a time (RandomSchedule.cpp).
//  * The same schedules minus one wait: a violation, every time.
//  * Schedules with one read of a freed / offloaded / evicted range, ordered
//    correctly: a violation naming exactly that instruction.
#include "ExecTestUtil.h"
#include "RandomSchedule.h"

#include <algorithm>
#include <chrono>
#include <iostream>

namespace off::exec::testing {
namespace {

#ifdef OFF_TSAN_BUILD
constexpr uint64_t kCorrectSchedules = 300, kBrokenSchedules = 100;
#else
constexpr uint64_t kCorrectSchedules = 2000, kBrokenSchedules = 400;
#endif

// Sleeps before about one instruction in eight, 0-60 us, decided by a hash
// of (seed, stream, index) so no RNG is shared between worker threads.
std::function<void(uint32_t, uint32_t)> jitter(uint64_t seed) {
  return [seed](uint32_t stream, uint32_t index) {
    uint64_t h = (seed * 0x9E3779B97F4A7C15ull) ^ (uint64_t(stream) << 32) ^
                 index;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
    if (h % 8 == 0)
      std::this_thread::sleep_for(std::chrono::microseconds(h % 61));
  };
}

struct Outcome {
  std::string error;
  uint32_t stream = 0, index = 0;
  bool matches = false; // arenas equal the sequential reference
};

Outcome execute(const Program &program, const RandomSchedule &schedule,
                uint64_t seed) {
  MemoryNvmeBackend nvme;
  ExecutorOptions options;
  options.checkResidency = true;
  options.nvme = &nvme;
  options.beforeInstruction = jitter(seed);
  Executor executor(testBackend(), program, options);
  for (ArenaId a : {kDeviceArena, kHostArena})
    std::memcpy(executor.pointer({a, 0, schedule.initial[a].size()}),
                schedule.initial[a].data(), schedule.initial[a].size());
  Outcome outcome;
  try {
    executor.run();
  } catch (const ExecError &e) {
    outcome.error = e.what();
    outcome.stream = e.stream;
    outcome.index = e.index;
    return outcome;
  }
  outcome.matches = true;
  for (ArenaId a : {kDeviceArena, kHostArena})
    outcome.matches &=
        std::memcmp(executor.pointer({a, 0, schedule.expected[a].size()}),
                    schedule.expected[a].data(),
                    schedule.expected[a].size()) == 0;
  auto disk = nvme.contents(kNvmeArena);
  outcome.matches &=
      std::equal(disk.begin(), disk.end(), schedule.expected[kNvmeArena].begin(),
                 schedule.expected[kNvmeArena].end());
  return outcome;
}

TEST(ResidencyStress, CorrectSchedulesPassAndMatchTheSequentialReference) {
  size_t instructions = 0, waits = 0;
  for (uint64_t seed = 0; seed < kCorrectSchedules; ++seed) {
    RandomSchedule schedule = makeRandomSchedule(seed, Breakage::None);
    for (const Stream &s : schedule.program.streams)
      instructions += s.instructions.size();
    waits += countWaits(schedule.program);
    Outcome outcome = execute(schedule.program, schedule, seed);
    ASSERT_EQ(outcome.error, "") << "seed " << seed;
    ASSERT_TRUE(outcome.matches) << "seed " << seed;
  }
  // The schedules did cross streams (not one long stream in disguise).
  EXPECT_GT(waits, kCorrectSchedules * 3);
  std::cout << kCorrectSchedules << " schedules, " << instructions
            << " instructions, " << waits << " cross-stream waits\n";
}

TEST(ResidencyStress, DroppingAnyOneWaitIsCaught) {
  uint64_t tried = 0;
  for (uint64_t seed = 0; seed < kBrokenSchedules; ++seed) {
    RandomSchedule schedule = makeRandomSchedule(seed, Breakage::None);
    size_t waits = countWaits(schedule.program);
    if (waits == 0)
      continue;
    Program broken = dropWait(schedule.program, (seed * 7919) % waits);
    Outcome outcome = execute(broken, schedule, seed);
    ASSERT_EQ(outcome.error.rfind("residency violation: ", 0), 0u)
        << "seed " << seed << ": dropped wait not caught; error '"
        << outcome.error << "'";
    ++tried;
  }
  EXPECT_GT(tried, kBrokenSchedules * 9 / 10);
}

TEST(ResidencyStress, UseAfterFreeOrOffloadIsCaughtAtTheRightInstruction) {
  int frees = 0, offloads = 0;
  for (uint64_t seed = 0; seed < kBrokenSchedules; ++seed) {
    RandomSchedule schedule =
        makeRandomSchedule(seed, Breakage::UseAfterRelease);
    ASSERT_TRUE(schedule.culprit);
    Outcome outcome = execute(schedule.program, schedule, seed);
    ASSERT_EQ(outcome.error.rfind("residency violation: ", 0), 0u)
        << "seed " << seed << ": '" << outcome.error << "'";
    EXPECT_EQ(outcome.stream, schedule.culprit->first) << "seed " << seed;
    EXPECT_EQ(outcome.index, schedule.culprit->second) << "seed " << seed;
    EXPECT_NE(outcome.error.find("kernel 'stale_read'"), std::string::npos);
    frees += outcome.error.find("(use after free)") != std::string::npos;
    offloads += outcome.error.find("(use after offload") != std::string::npos;
  }
  EXPECT_EQ(frees + offloads, int(kBrokenSchedules));
  EXPECT_GT(frees, 0);
  EXPECT_GT(offloads, 0);
}

} // namespace
} // namespace off::exec::testing
