// gemmBf16 (GemmBf16.h) on one implementation path per ctest entry: the
// binary is registered once per path (test/unit/runtime/cpu/CMakeLists.txt)
// with OFF_TEST_BF16_EXPECT naming the path it must run (`fallback`, or the
// oneDNN ISA: `avx512_core_bf16`, `avx512_core_amx`, or `own`, our
// AVX512_BF16 kernel); the test sets the environment that selects it
// (OFF_BF16_GEMM, ONEDNN_MAX_CPU_ISA). A path this machine
// lacks is skipped with "not run: ..." (ctest shows it as skipped, not
// passed). Without OFF_TEST_BF16_EXPECT the tests run the default path.
//
// Checked: every layout against the exact product (double, on the bf16
// inputs): bf16 C within one rounding (2^-8 relative to its scale, plus
// fp32 accumulation), f32 C within fp32 accumulation error (K * 2^-24 of the
// sum of |terms|), accumulate (C += A B) likewise; the same bits for any
// thread count and operand alignment.
#include "runtime/common/Float16.h"
#include "runtime/common/Parallel.h"
#include "runtime/cpu/GemmBf16.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace off::cpu;
using off::DType;

namespace {

class GemmBf16Path : public ::testing::Test {
protected:
  /// The environment that selects the path `want` names: OFF_BF16_GEMM for
  /// the fallback, else oneDNN capped at that ISA (ONEDNN_MAX_CPU_ISA).
  /// Set here rather than by ctest, so one variable names the case.
  static void selectPath(std::string want) {
    if (want == "fallback" || want == "own") {
      setenv("OFF_BF16_GEMM", want.c_str(), 1);
      return;
    }
    setenv("OFF_BF16_GEMM", "onednn", 1);
    for (char &c : want)
      c = char(std::toupper(static_cast<unsigned char>(c)));
    setenv("ONEDNN_MAX_CPU_ISA", want.c_str(), 1);
  }

  void SetUp() override {
    const char *expect = std::getenv("OFF_TEST_BF16_EXPECT");
    if (!expect)
      return;
    std::string want = expect;
    if (want == "own" && !bf16GemmHaveOwn())
      GTEST_SKIP() << "not run: this CPU has no AVX512_BF16 (our bf16 kernel)";
    selectPath(want); // before the first product: the path and oneDNN's ISA are read once
    std::string kernel = bf16GemmOneDnnKernel();
    if (want != "own" && want != "fallback" && kernel.find(want) == std::string::npos)
      GTEST_SKIP() << "not run: this machine has no oneDNN " << want
                   << " bf16 matmul (oneDNN picks '" << kernel << "')";
    std::string path = bf16GemmDescription();
    if (want == "own") {
      ASSERT_EQ(bf16GemmPath(), Bf16GemmPath::Own) << path;
      return;
    }
    if (want == "fallback") {
      ASSERT_EQ(bf16GemmPath(), Bf16GemmPath::Fallback) << path;
      return;
    }
    ASSERT_EQ(bf16GemmPath(), Bf16GemmPath::OneDnn) << path;
  }
};

std::vector<uint16_t> randomBf16(size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<uint16_t> v(n);
  for (uint16_t &x : v)
    x = off::floatToBf16(dist(rng));
  return v;
}

struct Case {
  bool ta, tb;
  int64_t M, N, K, pad;
};

TEST_F(GemmBf16Path, MatchesTheExactProductForEveryLayout) {
  std::printf("bf16 gemm: %s\n", bf16GemmDescription().c_str());
  std::mt19937 rng(71);
  const Case cases[] = {
      {false, false, 7, 5, 3, 0},       {true, false, 7, 5, 3, 2},     {false, true, 1, 9, 4, 1},
      {true, true, 13, 1, 6, 3},        {false, true, 300, 290, 37, 0}, {false, false, 517, 33, 600, 5},
      {true, false, 64, 700, 129, 0},   {true, true, 270, 300, 20, 1}, {false, false, 4, 4, 0, 0},
      {false, true, 2048, 128, 64, 0},
  };
  for (const Case &c : cases)
    for (int mode = 0; mode < 3; ++mode) { // bf16 C, f32 C, f32 C +=
      DType cType = mode == 0 ? DType::BF16 : DType::F32;
      bool accumulate = mode == 2;
      int64_t aRows = c.ta ? c.K : c.M, aCols = c.ta ? c.M : c.K;
      int64_t bRows = c.tb ? c.N : c.K, bCols = c.tb ? c.K : c.N;
      int64_t lda = aCols + c.pad, ldb = bCols + c.pad, ldc = c.N + c.pad;
      std::vector<uint16_t> A = randomBf16(size_t(aRows * lda), rng);
      std::vector<uint16_t> B = randomBf16(size_t(bRows * ldb), rng);
      std::vector<float> C0(size_t(c.M * ldc));
      for (float &x : C0)
        x = float(rng() % 1000) / 500.0f - 1.0f;
      std::vector<float> Cf = C0;
      std::vector<uint16_t> Cb(size_t(c.M * ldc), 0xFFFF);
      void *C = cType == DType::F32 ? static_cast<void *>(Cf.data()) : Cb.data();
      gemmBf16(c.ta, c.tb, c.M, c.N, c.K, A.data(), lda, B.data(), ldb, C, cType, ldc,
               accumulate);
      double worst = 0.0, scale = 1e-30;
      for (int64_t i = 0; i < c.M; ++i)
        for (int64_t j = 0; j < c.N; ++j) {
          double sum = 0.0, magnitude = 0.0;
          for (int64_t k = 0; k < c.K; ++k) {
            double term = double(off::bf16ToFloat(c.ta ? A[size_t(k * lda + i)]
                                                       : A[size_t(i * lda + k)])) *
                          double(off::bf16ToFloat(c.tb ? B[size_t(j * ldb + k)]
                                                       : B[size_t(k * ldb + j)]));
            sum += term;
            magnitude += std::abs(term);
          }
          if (accumulate)
            sum += C0[size_t(i * ldc + j)];
          double got = cType == DType::F32 ? double(Cf[size_t(i * ldc + j)])
                                           : double(off::bf16ToFloat(Cb[size_t(i * ldc + j)]));
          double err = std::abs(got - sum);
          double allowed = (double(c.K) + 2) * 0x1p-24 * (magnitude + std::abs(sum));
          if (cType == DType::BF16)
            allowed += 0x1p-8 * std::abs(sum);
          EXPECT_LE(err, allowed + 1e-30) << "M=" << c.M << " N=" << c.N << " K=" << c.K
                                          << " ta=" << c.ta << " tb=" << c.tb << " mode "
                                          << mode << " at " << i << "," << j;
          worst = std::max(worst, err);
          scale = std::max(scale, std::abs(sum));
          if (err > allowed + 1e-30)
            return;
        }
      // Padding stays untouched.
      if (c.pad && cType == DType::BF16)
        EXPECT_EQ(Cb[size_t(c.N)], 0xFFFF);
    }
}

// Our AVX512_BF16 kernel promises each element of C as one fp32 chain over
// the pairs (k, k+1) in order, each pair added odd product first, then even
// (vdpbf16ps; bf16 products are exact in fp32), a missing k+1 (odd K) as a
// zero product (GemmOwn.h). Checked bit for bit against that chain computed
// here in float, on shapes crossing its 256-row, 256-column and 512-k chunks
// and its 8 x 32 register block, every layout, odd K, padded rows, bf16 and
// f32 C and accumulation. (The inputs have no subnormals, which the
// instruction would flush.)
TEST_F(GemmBf16Path, OwnKernelIsOnePairChainPerElement) {
  if (bf16GemmPath() != Bf16GemmPath::Own)
    GTEST_SKIP() << "not run: the bf16 path here is " << bf16GemmDescription();
  std::mt19937 rng(73);
  const Case cases[] = {{false, true, 300, 290, 1100, 3}, {false, false, 37, 530, 257, 0},
                        {true, false, 270, 33, 300, 1},   {true, true, 9, 70, 513, 2},
                        {false, true, 1, 1, 1, 0},        {true, false, 520, 260, 40, 0},
                        {false, false, 17, 40, 7, 1}};
  for (const Case &c : cases)
    for (int mode = 0; mode < 3; ++mode) { // bf16 C, f32 C, f32 C +=
      DType cType = mode == 0 ? DType::BF16 : DType::F32;
      bool accumulate = mode == 2;
      int64_t lda = (c.ta ? c.M : c.K) + c.pad, ldb = (c.tb ? c.K : c.N) + c.pad,
              ldc = c.N + c.pad;
      std::vector<uint16_t> A = randomBf16(size_t((c.ta ? c.K : c.M) * lda), rng);
      std::vector<uint16_t> B = randomBf16(size_t((c.tb ? c.N : c.K) * ldb), rng);
      std::vector<float> C0(size_t(c.M * ldc));
      for (float &x : C0)
        x = float(rng() % 1000) / 500.0f - 1.0f;
      std::vector<float> Cf = C0;
      std::vector<uint16_t> Cb(size_t(c.M * ldc));
      void *C = cType == DType::F32 ? static_cast<void *>(Cf.data()) : Cb.data();
      gemmBf16(c.ta, c.tb, c.M, c.N, c.K, A.data(), lda, B.data(), ldb, C, cType, ldc,
               accumulate);
      auto a = [&](int64_t i, int64_t k) {
        return off::bf16ToFloat(c.ta ? A[size_t(k * lda + i)] : A[size_t(i * lda + k)]);
      };
      auto b = [&](int64_t k, int64_t j) {
        return off::bf16ToFloat(c.tb ? B[size_t(j * ldb + k)] : B[size_t(k * ldb + j)]);
      };
      int64_t wrong = 0;
      for (int64_t i = 0; i < c.M; ++i)
        for (int64_t j = 0; j < c.N; ++j) {
          float chain = 0.0f;
          for (int64_t k = 0; k < c.K; k += 2) {
            volatile float odd = k + 1 < c.K ? a(i, k + 1) * b(k + 1, j) : 0.0f;
            chain = chain + odd;
            volatile float even = a(i, k) * b(k, j);
            chain = chain + even;
          }
          uint32_t got, want;
          if (cType == DType::BF16) {
            got = Cb[size_t(i * ldc + j)];
            want = off::floatToBf16(chain);
          } else {
            float value = accumulate ? C0[size_t(i * ldc + j)] + chain : chain;
            std::memcpy(&want, &value, 4);
            std::memcpy(&got, &Cf[size_t(i * ldc + j)], 4);
          }
          if (got != want && wrong++ < 3)
            ADD_FAILURE() << "M=" << c.M << " N=" << c.N << " K=" << c.K << " ta=" << c.ta
                          << " tb=" << c.tb << " mode " << mode << " at " << i << "," << j
                          << ": bits " << std::hex << got << " != chain's " << want << std::dec;
        }
      EXPECT_EQ(wrong, 0);
    }
}

TEST_F(GemmBf16Path, SameBitsForAnyThreadCountAndAlignment) {
  std::mt19937 rng(72);
  const Case cases[] = {{false, true, 1000, 600, 70, 0}, {true, false, 520, 530, 300, 0},
                        {false, false, 2048, 64, 64, 0}};
  for (const Case &c : cases) {
    int64_t lda = c.ta ? c.M : c.K, ldb = c.tb ? c.K : c.N;
    std::vector<uint16_t> A = randomBf16(size_t(c.M * c.K) + 1, rng);
    std::vector<uint16_t> B = randomBf16(size_t(c.K * c.N) + 1, rng);
    auto product = [&](unsigned threads, size_t shift) {
      off::setDefaultThreadCount(threads);
      std::vector<uint16_t> a(A.size() + 16), b(B.size() + 16), out(size_t(c.M * c.N) + 16);
      std::memcpy(a.data() + shift, A.data(), A.size() * 2);
      std::memcpy(b.data() + shift, B.data(), B.size() * 2);
      gemmBf16(c.ta, c.tb, c.M, c.N, c.K, a.data() + shift, lda, b.data() + shift, ldb,
               out.data() + shift, DType::BF16, c.N);
      return std::vector<uint16_t>(out.begin() + long(shift),
                                   out.begin() + long(shift) + c.M * c.N);
    };
    std::vector<uint16_t> reference = product(1, 0);
    for (unsigned threads : {2u, 3u})
      for (size_t shift : {size_t(0), size_t(1), size_t(3)})
        EXPECT_TRUE(product(threads, shift) == reference)
            << "M=" << c.M << " threads " << threads << " shift " << shift;
  }
  off::setDefaultThreadCount(0);
}

} // namespace
