// The two low-level primitives of the CPU backend: gemm (the path this CPU
// picks, blocked over our pool; ctest runs it again on OpenBLAS) against a
// naive double product, our AVX-512 kernel bit for bit against its chain, and its determinism
// across thread counts and pointer alignment; dotLanes' AVX2 kernel against
// its scalar reference, bit for bit, on lengths that are not multiples of 8.
#include "runtime/common/Parallel.h"
#include "runtime/cpu/Dot.h"
#include "runtime/cpu/Gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace off::cpu;

namespace {

std::vector<float> randomVector(size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

struct GemmCase {
  bool ta, tb;
  int64_t M, N, K, pad; // pad: extra elements per row (leading dimension > width)
};

// C = alpha op(A) op(B) + beta C in double.
std::vector<double> naiveGemm(const GemmCase &c, float alpha, const std::vector<float> &A,
                              int64_t lda, const std::vector<float> &B, int64_t ldb, float beta,
                              const std::vector<float> &C, int64_t ldc) {
  std::vector<double> out(static_cast<size_t>(c.M * c.N));
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double sum = 0.0;
      for (int64_t k = 0; k < c.K; ++k)
        sum += double(c.ta ? A[size_t(k * lda + i)] : A[size_t(i * lda + k)]) *
               double(c.tb ? B[size_t(j * ldb + k)] : B[size_t(k * ldb + j)]);
      out[size_t(i * c.N + j)] =
          alpha * sum + (beta == 0.0f ? 0.0 : double(beta) * C[size_t(i * ldc + j)]);
    }
  return out;
}

TEST(Gemm, MatchesNaiveProductForEveryLayout) {
  std::mt19937 rng(61);
  const GemmCase cases[] = {
      {false, false, 7, 5, 3, 0},   {true, false, 7, 5, 3, 2},    {false, true, 1, 9, 4, 1},
      {true, true, 13, 1, 6, 3},    {false, false, 300, 290, 37, 0}, {false, true, 517, 33, 65, 5},
      {true, false, 64, 700, 129, 0}, {true, true, 270, 300, 20, 1}, {false, false, 4, 4, 0, 0},
  };
  for (const GemmCase &c : cases)
    for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, std::pair{0.5f, 1.0f}, std::pair{2.0f, -0.5f}}) {
      int64_t aRows = c.ta ? c.K : c.M, aCols = c.ta ? c.M : c.K;
      int64_t bRows = c.tb ? c.N : c.K, bCols = c.tb ? c.K : c.N;
      int64_t lda = aCols + c.pad, ldb = bCols + c.pad, ldc = c.N + c.pad;
      std::vector<float> A = randomVector(size_t(aRows * lda), rng);
      std::vector<float> B = randomVector(size_t(bRows * ldb), rng);
      std::vector<float> C = randomVector(size_t(c.M * ldc), rng);
      if (beta == 0.0f) // beta 0: C's old contents are not read, NaN included
        std::fill(C.begin(), C.end(), std::numeric_limits<float>::quiet_NaN());
      std::vector<double> expected = naiveGemm(c, alpha, A, lda, B, ldb, beta, C, ldc);
      gemm(c.ta, c.tb, c.M, c.N, c.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
      double worst = 0.0, scale = 1e-30;
      for (int64_t i = 0; i < c.M; ++i)
        for (int64_t j = 0; j < c.N; ++j) {
          double got = C[size_t(i * ldc + j)], want = expected[size_t(i * c.N + j)];
          worst = std::max(worst, std::isnan(got) ? 1e30 : std::abs(got - want));
          scale = std::max(scale, std::abs(want));
        }
      EXPECT_LT(worst / scale, 1e-6) << "ta=" << c.ta << " tb=" << c.tb << " M=" << c.M
                                     << " N=" << c.N << " K=" << c.K << " beta=" << beta;
    }
}

TEST(Gemm, BlocksTileTheResultExactly) {
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{8192, 4096, 4096},
                         {2048, 64, 64}, {2048, 172, 64}, {100, 100, 100}, {5000, 17, 300},
                         {1, 100000, 64}}) {
    GemmBlocks b = gemmBlocks(M, N, K);
    EXPECT_GE(b.blockRows * b.rowBlocks, M);
    EXPECT_LT(b.blockRows * (b.rowBlocks - 1), M); // no empty block
    EXPECT_GE(b.blockCols * b.colBlocks, N);
    EXPECT_LT(b.blockCols * (b.colBlocks - 1), N);
  }
}

// The product's bits depend only on its shape: not on the thread count, not
// on where the operands sit in memory (a plan for another budget puts them
// at other arena offsets).
TEST(Gemm, SameBitsForAnyThreadCountAndAlignment) {
  std::mt19937 rng(62);
  const GemmCase cases[] = {{false, true, 1000, 600, 70, 0}, {true, false, 520, 530, 300, 0},
                            {false, false, 2048, 64, 64, 0}};
  for (const GemmCase &c : cases) {
    int64_t lda = c.ta ? c.M : c.K, ldb = c.tb ? c.K : c.N;
    std::vector<float> A = randomVector(size_t(c.M * c.K) + 1, rng);
    std::vector<float> B = randomVector(size_t(c.K * c.N) + 1, rng);
    auto product = [&](unsigned threads, size_t shift) {
      off::setDefaultThreadCount(threads);
      // Copies of the operands moved by `shift` floats.
      std::vector<float> a(A.size() + 16), b(B.size() + 16), out(size_t(c.M * c.N) + 16);
      std::memcpy(a.data() + shift, A.data(), A.size() * sizeof(float));
      std::memcpy(b.data() + shift, B.data(), B.size() * sizeof(float));
      gemm(c.ta, c.tb, c.M, c.N, c.K, 1.0f, a.data() + shift, lda, b.data() + shift, ldb, 0.0f,
           out.data() + shift, c.N);
      return std::vector<float>(out.begin() + long(shift), out.begin() + long(shift) + c.M * c.N);
    };
    std::vector<float> reference = product(1, 0);
    for (unsigned threads : {2u, 3u, 4u, 7u})
      for (size_t shift : {size_t(0), size_t(1), size_t(3)}) {
        std::vector<float> other = product(threads, shift);
        EXPECT_EQ(std::memcmp(other.data(), reference.data(), reference.size() * sizeof(float)), 0)
            << "M=" << c.M << " threads " << threads << " shift " << shift;
      }
  }
  off::setDefaultThreadCount(0);
}

// Our AVX-512 kernel (the default f32 path where the CPU has AVX-512F)
// promises more than accuracy: each element of C is one fused multiply-add
// chain over k in order from 0 (GemmOwn.h), whatever the blocks. Checked bit
// for bit against that chain computed here with std::fma, on shapes that
// cross the kernel's 256-row, 256-column and 256-step chunks and its 8 x 32
// register block, every layout, padded rows, beta 0 and 1.
TEST(Gemm, OwnKernelIsOneFmaChainPerElement) {
  if (f32GemmPath() != F32GemmPath::Own)
    GTEST_SKIP() << "not run: the f32 path here is " << f32GemmDescription();
  std::mt19937 rng(17);
  const GemmCase cases[] = {{false, true, 300, 290, 600, 3}, {false, false, 37, 530, 257, 0},
                            {true, false, 270, 33, 300, 1},  {true, true, 9, 70, 513, 2},
                            {false, true, 1, 1, 1, 0},       {true, false, 520, 260, 40, 0}};
  for (const GemmCase &c : cases)
    for (float beta : {0.0f, 1.0f}) {
      int64_t lda = (c.ta ? c.M : c.K) + c.pad, ldb = (c.tb ? c.K : c.N) + c.pad,
              ldc = c.N + c.pad;
      std::vector<float> A = randomVector(size_t((c.ta ? c.K : c.M) * lda), rng);
      std::vector<float> B = randomVector(size_t((c.tb ? c.N : c.K) * ldb), rng);
      std::vector<float> C0 = randomVector(size_t(c.M * ldc), rng), C = C0;
      gemm(c.ta, c.tb, c.M, c.N, c.K, 1.0f, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
      int64_t wrong = 0;
      for (int64_t i = 0; i < c.M; ++i)
        for (int64_t j = 0; j < c.N; ++j) {
          float chain = 0.0f;
          for (int64_t k = 0; k < c.K; ++k)
            chain = std::fma(c.ta ? A[size_t(k * lda + i)] : A[size_t(i * lda + k)],
                             c.tb ? B[size_t(j * ldb + k)] : B[size_t(k * ldb + j)], chain);
          float want = beta == 1.0f ? C0[size_t(i * ldc + j)] + chain : chain;
          float got = C[size_t(i * ldc + j)];
          if (std::memcmp(&got, &want, sizeof got) != 0 && wrong++ < 3)
            ADD_FAILURE() << "M=" << c.M << " N=" << c.N << " K=" << c.K << " ta=" << c.ta
                          << " tb=" << c.tb << " beta " << beta << " at " << i << "," << j
                          << ": " << got << " != chain " << want;
        }
      EXPECT_EQ(wrong, 0);
    }
}

TEST(DotLanes, Avx2EqualsScalarReferenceBitForBit) {
  if (!cpuHasAvx2())
    GTEST_SKIP() << "this CPU has no AVX2: only the scalar reference runs here";
  std::mt19937 rng(63);
  std::vector<float> a = randomVector(80000, rng), b = randomVector(80000, rng);
  // Magnitudes over many binades, so that the order of additions matters.
  for (size_t i = 0; i < a.size(); i += 7)
    a[i] *= 1e6f;
  for (int64_t n : {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 4097, 65536, 79997})
    for (size_t offset : {size_t(0), size_t(1), size_t(3)}) {
      double s = dotLanesScalar(a.data() + offset, b.data() + offset, n);
      double v = dotLanesAvx2(a.data() + offset, b.data() + offset, n);
      EXPECT_EQ(std::memcmp(&s, &v, sizeof s), 0) << "n=" << n << " offset " << offset;
    }
}

TEST(DotLanes, IsAccurateInDouble) {
  std::mt19937 rng(64);
  std::vector<float> a = randomVector(10001, rng), b = randomVector(10001, rng);
  long double exact = 0;
  for (size_t i = 0; i < a.size(); ++i)
    exact += (long double)a[i] * (long double)b[i];
  EXPECT_NEAR(dotLanes(a.data(), b.data(), int64_t(a.size())), double(exact), 1e-12);
  // The lane order of the definition, spelled out for a short row.
  float x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  double lanes[8] = {1 + 81, 4 + 100, 9, 16, 25, 36, 49, 64};
  double expected = 0;
  for (double l : lanes)
    expected += l;
  EXPECT_EQ(dotLanesScalar(x, x, 10), expected);
}

} // namespace
