// Naive double-precision references of the off ops, written from the op
// descriptions in dialects/off/IR/OffOps.td (not from the kernels): plain
// index arithmetic, no blocking, no threads. The forward tests compare the
// kernels with them; the gradient tests differentiate them numerically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace off::test::ref {

using Vec = std::vector<double>;
using Shape = std::vector<int64_t>;

std::vector<int64_t> unravel(int64_t index, const Shape &shape);
int64_t ravel(const std::vector<int64_t> &index, const Shape &shape);
Shape broadcastShape(const Shape &a, const Shape &b);
/// Element of x (shape xs, broadcastable to the shape of `index`) at `index`.
double broadcastAt(const Vec &x, const Shape &xs, const std::vector<int64_t> &index);

Vec broadcastTo(const Vec &x, const Shape &xs, const Shape &ys);
Vec matmul(const Vec &a, const Shape &as, bool ta, const Vec &b, const Shape &bs, bool tb,
           Shape &outShape);
/// op: '+', '-', '*', '/'.
Vec binary(char op, const Vec &a, const Shape &as, const Vec &b, const Shape &bs,
           Shape &outShape);
/// op: neg exp sqrt rsqrt silu sigmoid.
double unary(const std::string &op, double x);
/// op: sum mean max; the result in kept-dims order.
Vec reduce(const std::string &op, const Vec &x, const Shape &xs, const std::vector<int64_t> &axes);
Vec softmax(const Vec &x, const Shape &xs, int64_t axis);
Vec transpose(const Vec &x, const Shape &xs, const std::vector<int64_t> &perm);
Vec slice(const Vec &x, const Shape &xs, int64_t axis, int64_t start, int64_t end, int64_t step);
Vec concat(const std::vector<Vec> &xs, const std::vector<Shape> &shapes, int64_t axis);
/// ONNX Gather with negative indices counting from the end.
Vec gather(const Vec &data, const Shape &ds, const std::vector<int64_t> &indices, int64_t axis);

/// x [R, C], w [C].
Vec rmsNorm(const Vec &x, int64_t C, const Vec &w, double eps);
/// x [B, H, T, D], cos/sin [T, D].
Vec rope(const Vec &x, int64_t B, int64_t H, int64_t T, int64_t D, const Vec &cos,
         const Vec &sin);

struct AttentionShape {
  int64_t B, Hq, Hkv, T, S, D, Dv;
  bool causal;
  double scale;
};
/// q [B, Hq, T, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv] -> [B, Hq, T, Dv].
Vec attention(const Vec &q, const Vec &k, const Vec &v, const AttentionShape &s);
Vec swiglu(const Vec &gate, const Vec &up);
/// table [V, C], ids [N] -> [N, C].
Vec embedding(const Vec &table, int64_t C, const std::vector<int64_t> &ids);
/// logits [N, V], targets [N] -> mean loss.
double crossEntropy(const Vec &logits, int64_t V, const std::vector<int64_t> &targets);
double globalNorm(const std::vector<Vec> &tensors);

} // namespace off::test::ref
