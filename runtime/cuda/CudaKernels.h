// The CUDA backend's kernel launchers: plain functions over device pointers
// that enqueue on a stream and return at once. Included by the .cu files
// (nvcc, C++17) and by the kernel table (CudaOps*.cpp, C++20), so nothing
// here uses the backend interface. Shapes arrive already validated by the
// op's validate function (the CPU backend's, shared); a launcher throws
// std::invalid_argument only for what this backend cannot do (a rank over
// kMaxRank, a head dimension over kMaxHeadDim).
//
// Data errors (an id outside the vocabulary, an index out of range) cannot
// throw from a kernel: the kernel records the first one in `errors` (four
// int64: code, position, value, limit; DeviceError) and skips the element;
// the backend reads it back when a stream is synchronized and throws.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace off::cuda {

constexpr int kMaxRank = 8;
constexpr int kMaxHeadDim = 256;
/// Tensors one global_norm launch takes (its kernel parameters hold them all).
constexpr int kMaxNormTensors = 1500;
/// Elements per norm_partial block: the CPU's kNormBlock (runtime/cpu/Reduce.h).
constexpr int64_t kNormElements = 1 << 16;

/// Codes in errors[0] (0: none).
enum class DeviceError : int64_t {
  None = 0,
  EmbeddingId = 1,
  EmbeddingGradId = 2,
  GatherIndex = 3,
  GatherGradIndex = 4,
  CrossEntropyTarget = 5,
  CrossEntropyGradTarget = 6,
};

/// Output dims and, per output dim, an input's stride (0 where it broadcasts).
struct IndexMap {
  int rank = 0;
  int64_t shape[kMaxRank] = {};
  int64_t stride[kMaxRank] = {};
};

enum class UnaryKind : int { Neg, Exp, Sqrt, Rsqrt, Silu, Sigmoid };
enum class BinaryKind : int { Add, Sub, Mul, Div };
enum class ReduceKind : int { Sum, Mean, Max };

// Elementwise.cu: every operand f32, or (bf16 == true) every operand bf16,
// computed in f32 and rounded once to nearest even.
void launchUnary(UnaryKind op, bool bf16, const void *x, void *y, int64_t n, cudaStream_t s);
/// y[i] = lhs[map_l(i)] op rhs[map_r(i)] over the output's shape.
void launchBinary(BinaryKind op, bool bf16, const void *lhs, const IndexMap &lmap,
                  const void *rhs, const IndexMap &rmap, void *y, int64_t n, cudaStream_t s);
void launchSwiglu(bool bf16, const void *gate, const void *up, void *y, int64_t n,
                  cudaStream_t s);
void launchSwigluGrad(bool bf16, const void *gate, const void *up, const void *dy, void *dgate,
                      void *dup, int64_t n, cudaStream_t s);
/// from/to: 0 f32, 1 bf16, 2 i32, 3 i64 (the supported pairs of the CPU table).
void launchCast(int from, int to, const void *x, void *y, int64_t n, cudaStream_t s);

// Movement.cu (elements of 1, 2, 4 or 8 bytes)
/// y[i] = x[map(i)]: broadcast_to, transpose.
void launchGatherStrided(const void *x, const IndexMap &map, void *y, int64_t n, int elemSize,
                         cudaStream_t s);
/// y[o, j, i] = x[o, start + j*step, i] (x: outer x size x inner).
void launchSlice(const void *x, int64_t outer, int64_t size, int64_t inner, int64_t start,
                 int64_t count, int64_t step, void *y, int elemSize, cudaStream_t s);
/// dx (outer x size x inner) zero but for dx[o, start + j*step, i] = dy[o, j, i].
void launchSliceGrad(const void *dy, int64_t outer, int64_t size, int64_t inner,
                     int64_t start, int64_t count, int64_t step, void *dx, int elemSize,
                     cudaStream_t s);
/// y[o, offset + j, i] = x[o, j, i] for x: outer x size x inner, y: outer x total x inner.
void launchConcatPart(const void *x, int64_t outer, int64_t size, int64_t inner,
                      int64_t offset, int64_t total, void *y, int elemSize, cudaStream_t s);
/// y[o, n, i] = data[o, idx[n], i] (data: outer x size x inner; idx i32 or i64).
void launchGather(const void *data, int64_t outer, int64_t size, int64_t inner,
                  const void *idx, bool idx64, int64_t count, void *y, int elemSize,
                  int64_t *errors, DeviceError code, cudaStream_t s);
/// dd (outer x size x inner) = sum over n of dy[o, n, i] into dd[o, idx[n], i], in
/// n order (deterministic); embedding_grad is the case outer = 1.
void launchGatherGrad(const void *idx, bool idx64, int64_t count, const float *dy,
                      int64_t outer, int64_t size, int64_t inner, float *dd,
                      int64_t *errors, DeviceError code, cudaStream_t s);

// Reduce.cu
/// out[o] = reduce over r of x[kept(o) + reduced(r)].
void launchReduce(ReduceKind op, const float *x, const IndexMap &kept, int64_t keptCount,
                  const IndexMap &reduced, int64_t reducedCount, float *y, cudaStream_t s);
void launchSoftmax(const float *x, float *y, int64_t outer, int64_t size, int64_t inner,
                   cudaStream_t s);
void launchSoftmaxGrad(const float *y, const float *dy, float *dx, int64_t outer,
                       int64_t size, int64_t inner, cudaStream_t s);
/// *norm = sqrt(sum of squares of every tensor), in a fixed order; tensor k
/// is f32, or bf16 where bf16[k] (adding what its f32 cast would).
void launchGlobalNorm(const void *const *tensors, const bool *bf16, const int64_t *counts, int n,
                      float *norm, cudaStream_t s);
/// partial[b] = sum of squares of x's block b of kNormElements, bit for bit
/// as the CPU's normPartial (x f32, or bf16 read as its f32 cast).
void launchNormPartial(const void *x, bool bf16, int64_t n, double *partial, cudaStream_t s);
/// *norm = sqrt of the sum of every element of every partial, in order (the
/// CPU's normCombine, bit for bit).
void launchNormCombine(const double *const *partials, const int64_t *counts, int n, float *norm,
                       cudaStream_t s);

// RmsNorm.cu, Rope.cu
/// x and y f32 or (xBf16) bf16; w f32 or (wBf16) bf16.
void launchRmsNorm(const void *x, bool xBf16, const void *w, bool wBf16, void *y, int64_t rows,
                   int64_t C, double eps, cudaStream_t s);
void launchRmsNormGrad(const float *x, const float *w, const float *dy, float *dx, float *dw,
                       int64_t rows, int64_t C, double eps, cudaStream_t s);
/// x and y f32 or (xBf16) bf16; cos and sin f32 or (tableBf16) bf16.
void launchRope(const void *x, bool xBf16, const void *cos, const void *sin, bool tableBf16,
                void *y, int64_t rows, int64_t T, int64_t D, bool backward, cudaStream_t s);

// Embedding.cu, CrossEntropy.cu
/// logits (and dlogits) f32, or bf16 where the flag says so; loss and
/// dloss f32.
void launchCrossEntropy(const void *logits, bool bf16, const void *targets, bool idx64,
                        int64_t N, int64_t V, float *loss, int64_t *errors, cudaStream_t s);
void launchCrossEntropyGrad(const void *logits, bool logitsBf16, const void *targets,
                            bool idx64, const float *dloss, void *dlogits, bool dlogitsBf16,
                            int64_t N, int64_t V, int64_t *errors, cudaStream_t s);

// Attention.cu: q [B, Hq, T, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv].
struct AttentionShape {
  int64_t B, Hq, Hkv, T, S, D, Dv;
  bool causal;
  float scale;
};
/// q, k, v, o all f32 or (bf16) all bf16.
void launchAttention(bool bf16, const void *q, const void *k, const void *v, void *o,
                     const AttentionShape &a, cudaStream_t s);
void launchAttentionGrad(const float *q, const float *k, const float *v, const float *dout,
                         float *dq, float *dk, float *dv, const AttentionShape &a,
                         cudaStream_t s);
// AttentionTiled.cu: the shared-memory tiled kernels launchAttention(Grad)
// run for head dimensions up to 128 (contract as above; the forward in f32
// or bf16, the backward in f32). attentionPath says
// which kernels a shape gets: "tiled" or "rowwise"; OFF_CUDA_ATTENTION=
// rowwise forces the row-wise ones, =tiled refuses a shape they cannot take,
// any other value than auto is an error (std::invalid_argument).
const char *attentionPath(const AttentionShape &a);
/// False (nothing launched) where the row-wise kernels are to run.
bool tryLaunchAttentionTiled(bool bf16, const void *q, const void *k, const void *v, void *o,
                             const AttentionShape &a, cudaStream_t s);
bool tryLaunchAttentionGradTiled(const float *q, const float *k, const float *v,
                                 const float *dout, float *dq, float *dk, float *dv,
                                 const AttentionShape &a, cudaStream_t s);

// AdamW.cu: torch's AdamW per element (runtime/optim/AdamWKernels.h), scalars
// as runtime/optim derives them; `norm` (device, or nullptr) scales the
// gradient by min(1, max_norm / (norm + 1e-6)).
struct AdamWScalars {
  float decay, lerpWeight, lerpWeightM1;
  bool lerpWeightSmall;
  float beta2, oneMinusBeta2, bias2Sqrt, eps, negStepSize;
  float maxNorm;
};
/// `grad` is f32, or bf16 where gradBf16 (read as its f32 cast); `copy`
/// (nullptr: none) receives the updated param, as bf16 (rounded to nearest
/// even) where copyBf16, else f32: runtime/optim's compute copy.
void launchAdamW(float *param, float *expAvg, float *expAvgSq, const void *grad, bool gradBf16,
                 const float *norm, void *copy, bool copyBf16, const AdamWScalars &s, int64_t n,
                 cudaStream_t stream);

// Gemm.cu: our own fp32 GEMM (deterministic, no library): C[b] = op(A[b]) op(B[b])
// for row-major A (M x K, or K x M transposed), B (K x N, or N x K), batch
// strides in elements (0 broadcasts).
void launchSgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, const float *A,
                 int64_t strideA, const float *B, int64_t strideB, float *C, int64_t strideC,
                 int64_t batch, cudaStream_t s);

} // namespace off::cuda
