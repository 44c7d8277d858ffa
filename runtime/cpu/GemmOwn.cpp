#include "runtime/cpu/GemmOwn.h"

#include "runtime/common/Float16.h"

#include <immintrin.h>

// GCC 12's AVX-512 headers trip -W(maybe-)uninitialized on their own
// "undefined" pass-through operands (GCC bug 105593); nothing of ours.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

namespace off::cpu::own {
namespace {

// Register block MR x NR (8 rows, two 16-lane vectors: 16 accumulators), B
// panels of kSteps k-steps (f32: one k; bf16: a pair) by kNc columns packed
// once per super-row of kMb rows, where A's rows are read in place (or, for
// transposed A, packed per 8-row panel). The fp32 tile kMb x kNc carries the
// sums across the k-step chunks, so each element stays one chain.
constexpr int64_t kMr = 8, kNr = 32, kNc = 256, kSteps = 256, kMb = 256;
constexpr size_t kBPack = size_t(kSteps * kNc), kAPack = size_t(kSteps * kMr),
                 kTile = size_t(kMb * kNc);

#define OFF_OWN_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

/// The calling thread's scratch: B panels, one A panel, the fp32 tile (32-bit
/// words). Made on the thread's first call; fixed size, so never grown.
uint32_t *threadScratch() {
  struct Buffer {
    uint32_t *words = nullptr;
    ~Buffer() { std::free(words); }
  };
  thread_local Buffer buffer;
  if (!buffer.words) {
    buffer.words = static_cast<uint32_t *>(
        std::aligned_alloc(64, (kBPack + kAPack + kTile) * sizeof(uint32_t)));
    if (!buffer.words)
      throw std::bad_alloc();
  }
  return buffer.words;
}

uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

/// One MR x (16 * Vecs) block of the tile: steps k-steps from `a` (row r,
/// step p at a + r * aRow + p * aStep bytes: an f32, or a bf16 pair) and the
/// packed B panel `b` (step p: 32 words, of which the first 16 * Vecs are
/// read), into t (row stride ldt floats), starting from 0 when `first`, else
/// from t. Vecs 1 serves a last panel of at most 16 columns.
template <int Rows, int Vecs, bool Bf16>
OFF_OWN_TARGET void micro(int64_t steps, const char *a, int64_t aRow, int64_t aStep,
                          const uint32_t *b, float *t, int64_t ldt, bool first) {
  __m512 acc[Rows][Vecs];
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < Vecs; ++v)
      acc[r][v] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(t + r * ldt + 16 * v);
  for (int64_t p = 0; p < steps; ++p) {
    const char *ap = a + p * aStep;
    if constexpr (Bf16) {
      __m512i bv[Vecs];
#pragma GCC unroll 2
      for (int v = 0; v < Vecs; ++v)
        bv[v] = _mm512_load_si512(b + p * kNr + 16 * v);
#pragma GCC unroll 8
      for (int r = 0; r < Rows; ++r) {
        int32_t pair;
        std::memcpy(&pair, ap + r * aRow, sizeof pair);
        __m512i av = _mm512_set1_epi32(pair);
#pragma GCC unroll 2
        for (int v = 0; v < Vecs; ++v)
          acc[r][v] = _mm512_dpbf16_ps(acc[r][v], (__m512bh)av, (__m512bh)bv[v]);
      }
    } else {
      __m512 bv[Vecs];
#pragma GCC unroll 2
      for (int v = 0; v < Vecs; ++v)
        bv[v] = _mm512_load_ps(reinterpret_cast<const float *>(b + p * kNr + 16 * v));
#pragma GCC unroll 8
      for (int r = 0; r < Rows; ++r) {
        float value;
        std::memcpy(&value, ap + r * aRow, sizeof value);
        __m512 av = _mm512_set1_ps(value);
#pragma GCC unroll 2
        for (int v = 0; v < Vecs; ++v)
          acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < Vecs; ++v)
      _mm512_storeu_ps(t + r * ldt + 16 * v, acc[r][v]);
}

template <int Vecs, bool Bf16>
void microRows(int rows, int64_t steps, const char *a, int64_t aRow, int64_t aStep,
               const uint32_t *b, float *t, int64_t ldt, bool first) {
  switch (rows) {
  case 1: return micro<1, Vecs, Bf16>(steps, a, aRow, aStep, b, t, ldt, first);
  case 2: return micro<2, Vecs, Bf16>(steps, a, aRow, aStep, b, t, ldt, first);
  case 3: return micro<3, Vecs, Bf16>(steps, a, aRow, aStep, b, t, ldt, first);
  case 4: return micro<4, Vecs, Bf16>(steps, a, aRow, aStep, b, t, ldt, first);
  case 5: return micro<5, Vecs, Bf16>(steps, a, aRow, aStep, b, t, ldt, first);
  case 6: return micro<6, Vecs, Bf16>(steps, a, aRow, aStep, b, t, ldt, first);
  case 7: return micro<7, Vecs, Bf16>(steps, a, aRow, aStep, b, t, ldt, first);
  default: return micro<8, Vecs, Bf16>(steps, a, aRow, aStep, b, t, ldt, first);
  }
}

/// The operands as the kernels see them: element (row, k) of op(A) and
/// (k, col) of op(B) as 32-bit words of one k-step (bf16: the pair k, k+1,
/// zero past K).
struct Operands {
  bool bf16, transA, transB;
  int64_t K;
  const void *A, *B;
  int64_t lda, ldb;

  uint32_t aWord(int64_t row, int64_t step) const {
    if (!bf16) {
      auto a = static_cast<const float *>(A);
      return floatBits(transA ? a[step * lda + row] : a[row * lda + step]);
    }
    auto a = static_cast<const uint16_t *>(A);
    int64_t k = 2 * step;
    uint32_t lo = transA ? a[k * lda + row] : a[row * lda + k];
    uint32_t hi = k + 1 >= K ? 0 : transA ? a[(k + 1) * lda + row] : a[row * lda + k + 1];
    return lo | hi << 16;
  }
  uint32_t bWord(int64_t step, int64_t col) const {
    if (!bf16) {
      auto b = static_cast<const float *>(B);
      return floatBits(transB ? b[col * ldb + step] : b[step * ldb + col]);
    }
    auto b = static_cast<const uint16_t *>(B);
    int64_t k = 2 * step;
    uint32_t lo = transB ? b[col * ldb + k] : b[k * ldb + col];
    uint32_t hi = k + 1 >= K ? 0 : transB ? b[col * ldb + k + 1] : b[(k + 1) * ldb + col];
    return lo | hi << 16;
  }
};

/// Steps [0, steps) of a 32-column panel of op(B) non-transposed, every pair
/// whole: step p's 32 words from the stored row at first + p * stepBytes (and,
/// in bf16, the next row, rowBytes further) into out[p * 32 ...]. The hot
/// case of packB, vectorised, one call per panel.
OFF_OWN_TARGET void packRowPanel(bool bf16, const char *first, int64_t stepBytes,
                                 int64_t rowBytes, int64_t steps, uint32_t *out) {
  for (int64_t p = 0; p < steps; ++p, out += kNr) {
    const char *row = first + p * stepBytes;
    if (!bf16) {
      auto r = reinterpret_cast<const float *>(row);
      _mm512_store_ps(reinterpret_cast<float *>(out), _mm512_loadu_ps(r));
      _mm512_store_ps(reinterpret_cast<float *>(out + 16), _mm512_loadu_ps(r + 16));
      continue;
    }
    for (int half = 0; half < 2; ++half) {
      __m512i lo = _mm512_cvtepu16_epi32(
          _mm256_loadu_si256(reinterpret_cast<const __m256i *>(row + 32 * half)));
      __m512i hi = _mm512_cvtepu16_epi32(
          _mm256_loadu_si256(reinterpret_cast<const __m256i *>(row + rowBytes + 32 * half)));
      _mm512_store_si512(out + 16 * half, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
    }
  }
}

/// 32 words of step p of op(B) transposed (stored [N, K]): word j from stored
/// row j at `first` + j * rowBytes. Gathered: the hot case of a forward
/// product (x W^T).
OFF_OWN_TARGET void gatherColumnWords(const char *first, int64_t rowBytes, uint32_t *out) {
  const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i offsets = _mm512_mullo_epi32(lanes, _mm512_set1_epi32(int32_t(rowBytes)));
  _mm512_store_si512(out, _mm512_i32gather_epi32(offsets, first, 1));
  _mm512_store_si512(out + 16, _mm512_i32gather_epi32(offsets, first + 16 * rowBytes, 1));
}

/// 16 steps x 16 columns of op(B) transposed: stored rows j = 0..15 at
/// `first` + j * rowBytes, 16 words each (one cache line), transposed in
/// registers into out[p * ldOut + j]. Where B's rows are 4 KiB apart a
/// gather per step would refetch the same cache set 16 times.
OFF_OWN_TARGET void transpose16(const char *first, int64_t rowBytes, uint32_t *out,
                                int64_t ldOut) {
  __m512i r[16], t[16], u[16];
  for (int j = 0; j < 16; ++j)
    r[j] = _mm512_loadu_si512(first + j * rowBytes);
  for (int j = 0; j < 16; j += 2) { // per 128-bit lane: words 0-1, 2-3 of two rows
    t[j] = _mm512_unpacklo_epi32(r[j], r[j + 1]);
    t[j + 1] = _mm512_unpackhi_epi32(r[j], r[j + 1]);
  }
  for (int g = 0; g < 4; ++g) { // u[4g + e]: rows 4g..4g+3 at word e of each lane
    u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  for (int e = 0; e < 4; ++e) { // lanes: step 4l + e gathers lane l of u[e], u[4+e], ...
    __m512i x0 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0x44);
    __m512i x1 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0xEE);
    __m512i x2 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0x44);
    __m512i x3 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0xEE);
    _mm512_storeu_si512(out + (0 + e) * ldOut, _mm512_shuffle_i32x4(x0, x2, 0x88));
    _mm512_storeu_si512(out + (4 + e) * ldOut, _mm512_shuffle_i32x4(x0, x2, 0xDD));
    _mm512_storeu_si512(out + (8 + e) * ldOut, _mm512_shuffle_i32x4(x1, x3, 0x88));
    _mm512_storeu_si512(out + (12 + e) * ldOut, _mm512_shuffle_i32x4(x1, x3, 0xDD));
  }
}

/// Steps [0, steps) of an 8-row panel of op(A) transposed (stored [K, M]),
/// every pair whole: step p's 8 words from the stored row at first + p *
/// stepBytes (and, in bf16, the next row, rowBytes further) into out[p * 8
/// ...]. The hot case of packA, vectorised, one call per panel.
OFF_OWN_TARGET void packColumnPanel(bool bf16, const char *first, int64_t stepBytes,
                                    int64_t rowBytes, int64_t steps, uint32_t *out) {
  for (int64_t p = 0; p < steps; ++p, out += kMr) {
    const char *row = first + p * stepBytes;
    if (!bf16) {
      _mm256_storeu_ps(reinterpret_cast<float *>(out),
                       _mm256_loadu_ps(reinterpret_cast<const float *>(row)));
      continue;
    }
    __m256i lo = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(row)));
    __m256i hi = _mm256_cvtepu16_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(row + rowBytes)));
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(out),
                        _mm256_or_si256(lo, _mm256_slli_epi32(hi, 16)));
  }
}

/// Packs steps [p0, p0 + steps) x columns [j0, j0 + cols) of op(B) into NR-wide
/// panels (panel q: steps x 32 words), zero past the last column.
void packB(const Operands &op, int64_t p0, int64_t steps, int64_t j0, int64_t cols,
           uint32_t *out) {
  const size_t elem = op.bf16 ? 2 : 4;
  const int64_t perStep = op.bf16 ? 2 : 1;
  for (int64_t q = 0; q * kNr < cols; ++q) {
    uint32_t *panel = out + q * steps * kNr;
    const int64_t width = std::min(kNr, cols - q * kNr), col0 = j0 + q * kNr;
    if (op.transB) { // a column of op(B) is a stored row: transpose 16 x 16
      const int64_t rowBytes = op.ldb * int64_t(elem);
      const bool gather = width == kNr && rowBytes * kNr <= INT32_MAX;
      int64_t p = 0;
      if (width == kNr)
        for (; p + 16 <= steps && (p0 + p + 16) * perStep <= op.K; p += 16)
          for (int64_t h = 0; h < 2; ++h)
            transpose16(static_cast<const char *>(op.B) +
                            ((col0 + 16 * h) * op.ldb + (p0 + p) * perStep) * elem,
                        rowBytes, panel + p * kNr + 16 * h, kNr);
      for (; p < steps; ++p) {
        const int64_t k = (p0 + p) * perStep;
        if (gather && (!op.bf16 || k + 1 < op.K))
          gatherColumnWords(static_cast<const char *>(op.B) + (col0 * op.ldb + k) * elem,
                            rowBytes, panel + p * kNr);
        else
          for (int64_t j = 0; j < kNr; ++j)
            panel[p * kNr + j] = j < width ? op.bWord(p0 + p, col0 + j) : 0;
      }
    } else {
      int64_t p = 0;
      if (width == kNr) { // every step whose pair is whole (bf16: all but an odd K's last)
        p = op.bf16 ? std::min(steps, op.K / 2 - p0) : steps;
        const int64_t rowBytes = op.ldb * int64_t(elem);
        packRowPanel(op.bf16, static_cast<const char *>(op.B) + (p0 * perStep * op.ldb + col0) * elem,
                     rowBytes * perStep, rowBytes, p, panel);
      }
      for (; p < steps; ++p)
        for (int64_t j = 0; j < kNr; ++j)
          panel[p * kNr + j] = j < width ? op.bWord(p0 + p, col0 + j) : 0;
    }
  }
}

/// Packs rows [i, i + rows) x steps [p0, p0 + steps) of op(A) as steps x 8
/// words, zero past the last row.
void packA(const Operands &op, int64_t i, int64_t rows, int64_t p0, int64_t steps,
           uint32_t *out) {
  const size_t elem = op.bf16 ? 2 : 4;
  const int64_t perStep = op.bf16 ? 2 : 1;
  int64_t p = 0;
  if (op.transA && rows == kMr) { // every step whose pair is whole
    p = op.bf16 ? std::min(steps, op.K / 2 - p0) : steps;
    const int64_t rowBytes = op.lda * int64_t(elem);
    packColumnPanel(op.bf16, static_cast<const char *>(op.A) + (p0 * perStep * op.lda + i) * elem,
                    rowBytes * perStep, rowBytes, p, out);
  }
  for (; p < steps; ++p)
    for (int64_t r = 0; r < kMr; ++r)
      out[p * kMr + r] = r < rows ? op.aWord(i + r, p0 + p) : 0;
}

std::atomic<uint64_t> blockCount{0};

template <bool Bf16>
void block(const Operands &op, int64_t M, int64_t N, void *C, DType cType, int64_t ldc,
           bool accumulate) {
  blockCount.fetch_add(1, std::memory_order_relaxed);
  const int64_t K = op.K, totalSteps = Bf16 ? (K + 1) / 2 : K;
  const size_t elem = Bf16 ? 2 : 4;
  // A is read in place when it is stored by rows and (bf16) its pairs are
  // whole; else each 8-row panel is packed.
  const bool packedA = op.transA || (Bf16 && K % 2 != 0);
  uint32_t *scratch = threadScratch();
  uint32_t *bPack = scratch, *aPack = scratch + kBPack;
  float *tile = reinterpret_cast<float *>(scratch + kBPack + kAPack);
  for (int64_t i0 = 0; i0 < M; i0 += kMb) {
    const int64_t rows = std::min(kMb, M - i0);
    for (int64_t j0 = 0; j0 < N; j0 += kNc) {
      const int64_t cols = std::min(kNc, N - j0);
      if (totalSteps == 0)
        for (int64_t r = 0; r < rows; ++r)
          std::fill(tile + r * kNc, tile + r * kNc + cols, 0.0f);
      for (int64_t p0 = 0; p0 < totalSteps; p0 += kSteps) {
        const int64_t steps = std::min(kSteps, totalSteps - p0);
        packB(op, p0, steps, j0, cols, bPack);
        for (int64_t r0 = 0; r0 < rows; r0 += kMr) {
          const int panelRows = int(std::min(kMr, rows - r0));
          const char *a;
          int64_t aRow, aStep;
          if (packedA) {
            packA(op, i0 + r0, panelRows, p0, steps, aPack);
            a = reinterpret_cast<const char *>(aPack);
            aRow = 4;
            aStep = 4 * kMr;
          } else {
            a = static_cast<const char *>(op.A) +
                ((i0 + r0) * op.lda + (Bf16 ? 2 * p0 : p0)) * int64_t(elem);
            aRow = op.lda * int64_t(elem);
            aStep = 4;
          }
          const int microRowCount = packedA ? int(kMr) : panelRows;
          for (int64_t q = 0; q * kNr < cols; ++q) {
            const uint32_t *bPanel = bPack + q * steps * kNr;
            float *t = tile + r0 * kNc + q * kNr;
            if (cols - q * kNr > 16)
              microRows<2, Bf16>(microRowCount, steps, a, aRow, aStep, bPanel, t, kNc, p0 == 0);
            else
              microRows<1, Bf16>(microRowCount, steps, a, aRow, aStep, bPanel, t, kNc, p0 == 0);
          }
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        const float *t = tile + r * kNc;
        if (cType == DType::F32) {
          float *c = static_cast<float *>(C) + (i0 + r) * ldc + j0;
          for (int64_t j = 0; j < cols; ++j)
            c[j] = accumulate ? c[j] + t[j] : t[j];
        } else {
          uint16_t *c = static_cast<uint16_t *>(C) + (i0 + r) * ldc + j0;
          for (int64_t j = 0; j < cols; ++j)
            c[j] = floatToBf16(t[j]);
        }
      }
    }
  }
}

} // namespace

uint64_t blocks() { return blockCount.load(std::memory_order_relaxed); }

bool haveF32() {
  static const bool have = [] {
    __builtin_cpu_init();
    return bool(__builtin_cpu_supports("avx512f"));
  }();
  return have;
}

bool haveBf16() {
  static const bool have = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
  }();
  return have;
}

void f32Block(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float *A,
              int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
              bool accumulate) {
  Operands op{false, transA, transB, K, A, B, lda, ldb};
  block<false>(op, M, N, C, DType::F32, ldc, accumulate);
}

void bf16Block(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const uint16_t *A,
               int64_t lda, const uint16_t *B, int64_t ldb, void *C, DType cType, int64_t ldc,
               bool accumulate) {
  Operands op{true, transA, transB, K, A, B, lda, ldb};
  block<true>(op, M, N, C, cType, ldc, accumulate);
}

} // namespace off::cpu::own
