// ThreadPool / parallelFor: the partition is a fixed function of its inputs,
// every index runs exactly once, errors come back to the caller.
#include "runtime/common/Parallel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <sched.h>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using off::staticChunk;
using off::ThreadPool;

TEST(StaticChunk, CoversTheRangeContiguouslyOnGrainBoundaries) {
  for (size_t begin : {0u, 5u}) {
    for (size_t length : {0u, 1u, 7u, 64u, 100u, 1001u}) {
      for (unsigned parts : {1u, 2u, 3u, 8u}) {
        for (size_t grain : {1u, 4u, 16u}) {
          size_t expectedBegin = begin;
          for (unsigned i = 0; i < parts; ++i) {
            auto [b, e] = staticChunk(begin, begin + length, parts, i, grain);
            if (b == e)
              continue;
            EXPECT_EQ(b, expectedBegin);
            EXPECT_EQ((b - begin) % grain, 0u);
            EXPECT_LE(e, begin + length);
            expectedBegin = e;
          }
          EXPECT_EQ(expectedBegin, begin + length)
              << "begin " << begin << " length " << length << " parts " << parts;
        }
      }
    }
  }
}

TEST(StaticChunk, BalancesGrainsAndGivesExtrasToTheFirstChunks) {
  // 10 grains of 4 over 3 parts: 4, 3, 3 grains.
  EXPECT_EQ(staticChunk(0, 40, 3, 0, 4), std::make_pair(size_t(0), size_t(16)));
  EXPECT_EQ(staticChunk(0, 40, 3, 1, 4), std::make_pair(size_t(16), size_t(28)));
  EXPECT_EQ(staticChunk(0, 40, 3, 2, 4), std::make_pair(size_t(28), size_t(40)));
  // A partial last grain: 9 elements, grain 4 -> grains [0,4) [4,8) [8,9).
  EXPECT_EQ(staticChunk(0, 9, 2, 0, 4), std::make_pair(size_t(0), size_t(8)));
  EXPECT_EQ(staticChunk(0, 9, 2, 1, 4), std::make_pair(size_t(8), size_t(9)));
  // More parts than grains: the extra parts are empty.
  EXPECT_EQ(staticChunk(0, 3, 4, 3, 1), std::make_pair(size_t(3), size_t(3)));
}

TEST(ThreadPool, RunsEveryIndexExactlyOnce) {
  for (unsigned threads : {1u, 2u, 3u, 5u}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.threadCount(), threads);
    for (size_t n : {0u, 1u, 2u, 17u, 1000u, 12345u}) {
      std::vector<std::atomic<int>> hits(n);
      for (int repeat = 0; repeat < 3; ++repeat)
        pool.parallelFor(0, n, [&](size_t b, size_t e) {
          for (size_t i = b; i < e; ++i)
            hits[i].fetch_add(1);
        });
      for (size_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[i].load(), 3) << "index " << i << " threads " << threads;
    }
  }
}

TEST(ThreadPool, ChunkIRunsOnItsOwnThreadWithTheStaticPartition) {
  ThreadPool pool(4);
  std::mutex mutex;
  std::vector<std::pair<size_t, size_t>> seen;
  std::set<std::thread::id> threads;
  pool.parallelFor(
      10, 1000,
      [&](size_t b, size_t e) {
        std::lock_guard<std::mutex> lock(mutex);
        seen.emplace_back(b, e);
        threads.insert(std::this_thread::get_id());
      },
      8);
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 4u);
  for (unsigned i = 0; i < 4; ++i)
    EXPECT_EQ(seen[i], staticChunk(10, 1000, 4, i, 8));
  EXPECT_EQ(threads.size(), 4u);
}

TEST(ThreadPool, RethrowsTheFirstErrorAndStaysUsable) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.parallelFor(0, 300,
                                [](size_t b, size_t) {
                                  if (b != 0)
                                    throw std::runtime_error("chunk failed");
                                }),
               std::runtime_error);
  std::atomic<size_t> total{0};
  pool.parallelFor(0, 300, [&](size_t b, size_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 300u);
}

TEST(ThreadPool, NestedCallsRunSeriallyInsteadOfDeadlocking) {
  ThreadPool pool(2);
  std::atomic<size_t> total{0};
  pool.parallelFor(0, 4, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i)
      pool.parallelFor(0, 100, [&](size_t ib, size_t ie) { total += ie - ib; });
  });
  EXPECT_EQ(total.load(), 400u);
}

TEST(ThreadPool, DefaultPoolFollowsTheConfiguredThreadCount) {
  unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  off::setDefaultThreadCount(0);
  EXPECT_EQ(off::defaultThreadCount(), hardware);
  EXPECT_EQ(off::defaultThreadPool().threadCount(), hardware);
  off::setDefaultThreadCount(3);
  EXPECT_EQ(off::defaultThreadPool().threadCount(), 3u);
  std::atomic<size_t> total{0};
  off::parallelFor(0, 1000, [&](size_t b, size_t e) { total += e - b; });
  EXPECT_EQ(total.load(), 1000u);
  off::setDefaultThreadCount(0);
}

// The --threads limit follows the calling thread's CPU affinity (taskset,
// cpusets), not the machine's CPU count: pinned to one CPU it is 1.
TEST(AvailableCpus, FollowsTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  unsigned all = off::availableCpus();
  EXPECT_EQ(all, unsigned(CPU_COUNT(&saved)));
  EXPECT_EQ(off::threadCountProblem(all), "");
  int first = 0;
  while (!CPU_ISSET(first, &saved))
    ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  unsigned pinned = off::availableCpus();
  std::string problem = off::threadCountProblem(2);
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
  EXPECT_EQ(pinned, 1u);
  EXPECT_NE(problem.find("2 threads is more than the 1 CPU this process may run on"),
            std::string::npos)
      << problem;
  EXPECT_EQ(off::threadCountProblem(1), "");
}
