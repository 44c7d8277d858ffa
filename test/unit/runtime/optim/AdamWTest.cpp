// The multithreaded and tiled drivers: same bits for any thread count and any
// tiling, tiles reported in order, clear errors for bad input.
#include "runtime/optim/AdamW.h"
#include "test/unit/runtime/optim/AdamWTestData.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

using namespace off::optim;
using off::ThreadPool;
using off::optim::testing::AdamWState;

namespace {

std::string errorOf(const std::function<void()> &fn) {
  try {
    fn();
  } catch (const std::exception &e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST(AdamW, ThreadCountDoesNotChangeTheBits) {
  const size_t n = 100003; // several kThreadGrain chunks, odd tail
  AdamWHyper h;
  h.weightDecay = 0.05;
  AdamWState serial(n, 17);
  for (int64_t step = 1; step <= 2; ++step)
    adamwStepRange(serial.tensor(GradDtype::BF16, OutDtype::BF16), adamwStepScalars(h, step), 0,
                   n, AdamIsa::Scalar);
  for (unsigned threads : {1u, 2u, 3u, 7u}) {
    ThreadPool pool(threads);
    AdamWState parallel(n, 17);
    for (int64_t step = 1; step <= 2; ++step)
      adamwStep(parallel.tensor(GradDtype::BF16, OutDtype::BF16), h, step,
                AdamWRun{defaultAdamIsa(), &pool});
    EXPECT_TRUE(parallel == serial) << threads << " threads, " << adamIsaName(defaultAdamIsa());
  }
}

TEST(AdamW, TiledStepEqualsWholeStepAndReportsTilesInOrder) {
  const size_t n = 50001, tile = 4096 * 3 + 5;
  ThreadPool pool(2);
  AdamWState whole(n, 3), tiled = whole;
  adamwStep(whole.tensor(GradDtype::F32, OutDtype::F32), AdamWHyper{}, 4, AdamWRun{{}, &pool});
  std::vector<std::pair<size_t, size_t>> tiles;
  adamwStepTiled(tiled.tensor(GradDtype::F32, OutDtype::F32), AdamWHyper{}, 4, tile,
                 [&](size_t b, size_t e) {
                   // The tile's output is final when reported: check one element.
                   EXPECT_EQ(tiled.outF32[e - 1], whole.outF32[e - 1]);
                   tiles.emplace_back(b, e);
                 },
                 AdamWRun{{}, &pool});
  EXPECT_TRUE(tiled == whole);
  ASSERT_EQ(tiles.size(), (n + tile - 1) / tile);
  for (size_t i = 0; i < tiles.size(); ++i) {
    EXPECT_EQ(tiles[i].first, i * tile);
    EXPECT_EQ(tiles[i].second, std::min(n, (i + 1) * tile));
  }
}

TEST(AdamW, RejectsBadInputWithClearMessages) {
  AdamWState s(64, 1);
  AdamWTensor t = s.tensor(GradDtype::F32, OutDtype::None);
  AdamWHyper bad;
  bad.lr = -1;
  EXPECT_NE(errorOf([&] { adamwStep(t, bad, 1); }).find("invalid learning rate"),
            std::string::npos);
  bad = AdamWHyper{};
  bad.beta2 = 1.0;
  EXPECT_NE(errorOf([&] { adamwStep(t, bad, 1); }).find("beta parameter at index 1"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { adamwStep(t, AdamWHyper{}, 0); }).find("step must be >= 1"),
            std::string::npos);
  EXPECT_NE(errorOf([&] {
              adamwStepRange(t, adamwStepScalars({}, 1), 10, 65, AdamIsa::Scalar);
            }).find("'test.weight': range [10, 65) outside its 64 elements"),
            std::string::npos);
  AdamWTensor aliased = t;
  aliased.expAvg = t.param + 8;
  EXPECT_NE(errorOf([&] { adamwStep(aliased, AdamWHyper{}, 1); }).find("param and exp_avg overlap"),
            std::string::npos);
  AdamWTensor missingOut = t;
  missingOut.outDtype = OutDtype::BF16;
  EXPECT_NE(errorOf([&] { adamwStep(missingOut, AdamWHyper{}, 1); }).find("paramOut must be given"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { adamwStepTiled(t, AdamWHyper{}, 1, 0, {}); }).find("tile size"),
            std::string::npos);
}

TEST(AdamW, IsaNamesAndEnvironmentOverride) {
  for (AdamIsa isa : {AdamIsa::Scalar, AdamIsa::Avx2, AdamIsa::Avx512})
    EXPECT_EQ(parseAdamIsa(adamIsaName(isa)), isa);
  EXPECT_FALSE(parseAdamIsa("sse9").has_value());
  EXPECT_TRUE(adamIsaSupported(AdamIsa::Scalar));
  AdamIsa best = defaultAdamIsa();
  ::setenv("OFF_ADAM_ISA", "scalar", 1);
  EXPECT_EQ(defaultAdamIsa(), AdamIsa::Scalar);
  ::setenv("OFF_ADAM_ISA", "avx512", 1); // never raised past what the CPU has
  EXPECT_EQ(defaultAdamIsa(), best);
  ::setenv("OFF_ADAM_ISA", "fast", 1);
  EXPECT_NE(errorOf([] { defaultAdamIsa(); }).find("OFF_ADAM_ISA='fast'"), std::string::npos);
  ::unsetenv("OFF_ADAM_ISA");
  if (!adamIsaSupported(AdamIsa::Avx512)) {
    AdamWState s(16, 1);
    EXPECT_NE(errorOf([&] {
                adamwStepRange(s.tensor(GradDtype::F32, OutDtype::None), adamwStepScalars({}, 1),
                               0, 16, AdamIsa::Avx512);
              }).find("does not support the avx512 kernel"),
              std::string::npos);
  }
}

TEST(AdamW, BytesPerElementCountsWhatAdamMustMove) {
  EXPECT_EQ(adamwBytesPerElement(GradDtype::F32, OutDtype::None), 28u);
  EXPECT_EQ(adamwBytesPerElement(GradDtype::BF16, OutDtype::BF16), 28u);
  EXPECT_EQ(adamwBytesPerElement(GradDtype::F32, OutDtype::F32), 32u);
}
