#include "test/unit/runtime/cpu/Reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace off::test::ref {

static int64_t product(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

std::vector<int64_t> unravel(int64_t index, const Shape &shape) {
  std::vector<int64_t> out(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    out[d] = index % shape[d];
    index /= shape[d];
  }
  return out;
}

int64_t ravel(const std::vector<int64_t> &index, const Shape &shape) {
  int64_t flat = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    flat = flat * shape[d] + index[d];
  return flat;
}

Shape broadcastShape(const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw std::invalid_argument("shapes do not broadcast");
    out[i] = std::max(da, db);
  }
  return out;
}

double broadcastAt(const Vec &x, const Shape &xs, const std::vector<int64_t> &index) {
  std::vector<int64_t> own(xs.size());
  size_t lead = index.size() - xs.size();
  for (size_t d = 0; d < xs.size(); ++d)
    own[d] = xs[d] == 1 ? 0 : index[lead + d];
  return x[size_t(ravel(own, xs))];
}

Vec broadcastTo(const Vec &x, const Shape &xs, const Shape &ys) {
  Vec y(size_t(product(ys)));
  for (int64_t i = 0; i < int64_t(y.size()); ++i)
    y[size_t(i)] = broadcastAt(x, xs, unravel(i, ys));
  return y;
}

Vec matmul(const Vec &a, const Shape &as, bool ta, const Vec &b, const Shape &bs, bool tb,
           Shape &outShape) {
  size_t ar = as.size(), br = bs.size();
  int64_t M = ta ? as[ar - 1] : as[ar - 2], K = ta ? as[ar - 2] : as[ar - 1];
  int64_t N = tb ? bs[br - 2] : bs[br - 1];
  Shape aBatch(as.begin(), as.end() - 2), bBatch(bs.begin(), bs.end() - 2);
  Shape batch = broadcastShape(aBatch, bBatch);
  outShape = batch;
  outShape.push_back(M);
  outShape.push_back(N);
  Vec out(size_t(product(outShape)));
  for (int64_t flat = 0; flat < int64_t(out.size()); ++flat) {
    std::vector<int64_t> idx = unravel(flat, outShape);
    int64_t m = idx[idx.size() - 2], n = idx.back();
    std::vector<int64_t> bi(idx.begin(), idx.end() - 2);
    // Batch index of each operand (1-sized dims pinned to 0).
    auto batchIndex = [&](const Shape &own) {
      std::vector<int64_t> r(own.size());
      for (size_t d = 0; d < own.size(); ++d)
        r[d] = own[d] == 1 ? 0 : bi[bi.size() - own.size() + d];
      return ravel(r, own);
    };
    int64_t abase = batchIndex(aBatch) * M * K, bbase = batchIndex(bBatch) * K * N;
    double sum = 0.0;
    for (int64_t k = 0; k < K; ++k) {
      double av = a[size_t(abase + (ta ? k * M + m : m * K + k))];
      double bv = b[size_t(bbase + (tb ? n * K + k : k * N + n))];
      sum += av * bv;
    }
    out[size_t(flat)] = sum;
  }
  return out;
}

Vec binary(char op, const Vec &a, const Shape &as, const Vec &b, const Shape &bs,
           Shape &outShape) {
  outShape = broadcastShape(as, bs);
  Vec out(size_t(product(outShape)));
  for (int64_t i = 0; i < int64_t(out.size()); ++i) {
    std::vector<int64_t> idx = unravel(i, outShape);
    double x = broadcastAt(a, as, idx), y = broadcastAt(b, bs, idx);
    out[size_t(i)] = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
  }
  return out;
}

double unary(const std::string &op, double x) {
  if (op == "neg")
    return -x;
  if (op == "exp")
    return std::exp(x);
  if (op == "sqrt")
    return std::sqrt(x);
  if (op == "rsqrt")
    return 1.0 / std::sqrt(x);
  if (op == "silu")
    return x / (1.0 + std::exp(-x));
  if (op == "sigmoid")
    return 1.0 / (1.0 + std::exp(-x));
  throw std::invalid_argument("unary: " + op);
}

Vec reduce(const std::string &op, const Vec &x, const Shape &xs,
           const std::vector<int64_t> &axes) {
  std::vector<bool> reduced(xs.size(), false);
  for (int64_t a : axes)
    reduced[size_t(a)] = true;
  Shape kept;
  for (size_t d = 0; d < xs.size(); ++d)
    if (!reduced[d])
      kept.push_back(xs[d]);
  int64_t outCount = product(kept), count = product(xs) / std::max<int64_t>(outCount, 1);
  double init = op == "max" ? -std::numeric_limits<double>::infinity() : 0.0;
  Vec out(size_t(outCount), init);
  for (int64_t i = 0; i < int64_t(x.size()); ++i) {
    std::vector<int64_t> idx = unravel(i, xs), k;
    for (size_t d = 0; d < xs.size(); ++d)
      if (!reduced[d])
        k.push_back(idx[d]);
    double &o = out[size_t(ravel(k, kept))];
    o = op == "max" ? std::max(o, x[size_t(i)]) : o + x[size_t(i)];
  }
  if (op == "mean")
    for (double &o : out)
      o /= double(count);
  return out;
}

Vec softmax(const Vec &x, const Shape &xs, int64_t axis) {
  Vec y(x.size());
  int64_t A = xs[size_t(axis)];
  for (int64_t i = 0; i < int64_t(x.size()); ++i) {
    std::vector<int64_t> idx = unravel(i, xs);
    if (idx[size_t(axis)] != 0)
      continue; // one pass per row, from its first element
    double max = -std::numeric_limits<double>::infinity(), sum = 0.0;
    std::vector<int64_t> at = idx;
    for (int64_t a = 0; a < A; ++a) {
      at[size_t(axis)] = a;
      max = std::max(max, x[size_t(ravel(at, xs))]);
    }
    for (int64_t a = 0; a < A; ++a) {
      at[size_t(axis)] = a;
      sum += std::exp(x[size_t(ravel(at, xs))] - max);
    }
    for (int64_t a = 0; a < A; ++a) {
      at[size_t(axis)] = a;
      int64_t j = ravel(at, xs);
      y[size_t(j)] = std::exp(x[size_t(j)] - max) / sum;
    }
  }
  return y;
}

Vec transpose(const Vec &x, const Shape &xs, const std::vector<int64_t> &perm) {
  Shape ys;
  for (int64_t p : perm)
    ys.push_back(xs[size_t(p)]);
  Vec y(x.size());
  for (int64_t i = 0; i < int64_t(y.size()); ++i) {
    std::vector<int64_t> yi = unravel(i, ys), xi(xs.size());
    for (size_t d = 0; d < perm.size(); ++d)
      xi[size_t(perm[d])] = yi[d];
    y[size_t(i)] = x[size_t(ravel(xi, xs))];
  }
  return y;
}

Vec slice(const Vec &x, const Shape &xs, int64_t axis, int64_t start, int64_t end, int64_t step) {
  Vec y;
  for (int64_t i = 0; i < int64_t(x.size()); ++i) {
    int64_t a = unravel(i, xs)[size_t(axis)];
    if (a >= start && a < end && (a - start) % step == 0)
      y.push_back(x[size_t(i)]); // row-major order is kept by the filter
  }
  return y;
}

Vec concat(const std::vector<Vec> &xs, const std::vector<Shape> &shapes, int64_t axis) {
  Shape out = shapes[0];
  out[size_t(axis)] = 0;
  for (const Shape &s : shapes)
    out[size_t(axis)] += s[size_t(axis)];
  Vec y(size_t(product(out)));
  for (int64_t i = 0; i < int64_t(y.size()); ++i) {
    std::vector<int64_t> idx = unravel(i, out);
    size_t k = 0;
    while (idx[size_t(axis)] >= shapes[k][size_t(axis)])
      idx[size_t(axis)] -= shapes[k++][size_t(axis)];
    y[size_t(i)] = xs[k][size_t(ravel(idx, shapes[k]))];
  }
  return y;
}

Vec gather(const Vec &data, const Shape &ds, const std::vector<int64_t> &indices, int64_t axis) {
  int64_t outer = 1, inner = 1, A = ds[size_t(axis)];
  for (int64_t d = 0; d < axis; ++d)
    outer *= ds[size_t(d)];
  for (size_t d = size_t(axis) + 1; d < ds.size(); ++d)
    inner *= ds[d];
  Vec y;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t index : indices) {
      int64_t a = index < 0 ? index + A : index;
      for (int64_t i = 0; i < inner; ++i)
        y.push_back(data[size_t((o * A + a) * inner + i)]);
    }
  return y;
}

Vec rmsNorm(const Vec &x, int64_t C, const Vec &w, double eps) {
  Vec y(x.size());
  for (size_t r = 0; r < x.size() / size_t(C); ++r) {
    double ss = 0.0;
    for (int64_t c = 0; c < C; ++c)
      ss += x[r * size_t(C) + size_t(c)] * x[r * size_t(C) + size_t(c)];
    double inv = 1.0 / std::sqrt(ss / double(C) + eps);
    for (int64_t c = 0; c < C; ++c)
      y[r * size_t(C) + size_t(c)] = x[r * size_t(C) + size_t(c)] * inv * w[size_t(c)];
  }
  return y;
}

Vec rope(const Vec &x, int64_t B, int64_t H, int64_t T, int64_t D, const Vec &cos,
         const Vec &sin) {
  Vec y(x.size());
  int64_t half = D / 2;
  for (int64_t row = 0; row < B * H * T; ++row) {
    int64_t t = row % T;
    for (int64_t d = 0; d < D; ++d) {
      // rotate_half(x) = concat(-x[D/2:], x[:D/2])
      double rotated = d < half ? -x[size_t(row * D + d + half)] : x[size_t(row * D + d - half)];
      y[size_t(row * D + d)] =
          x[size_t(row * D + d)] * cos[size_t(t * D + d)] + rotated * sin[size_t(t * D + d)];
    }
  }
  return y;
}

Vec attention(const Vec &q, const Vec &k, const Vec &v, const AttentionShape &s) {
  Vec out(size_t(s.B * s.Hq * s.T * s.Dv), 0.0);
  int64_t group = s.Hq / s.Hkv;
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.Hq; ++h) {
      int64_t kh = h / group;
      for (int64_t t = 0; t < s.T; ++t) {
        std::vector<double> score(static_cast<size_t>(s.S));
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < s.S; ++j) {
          bool visible = !s.causal || j <= t + (s.S - s.T);
          double dot = 0.0;
          for (int64_t d = 0; d < s.D; ++d)
            dot += q[size_t(((b * s.Hq + h) * s.T + t) * s.D + d)] *
                   k[size_t(((b * s.Hkv + kh) * s.S + j) * s.D + d)];
          score[size_t(j)] = visible ? dot * s.scale : -std::numeric_limits<double>::infinity();
          max = std::max(max, score[size_t(j)]);
        }
        double sum = 0.0;
        for (double &sc : score)
          sum += (sc = std::exp(sc - max));
        for (int64_t j = 0; j < s.S; ++j)
          for (int64_t d = 0; d < s.Dv; ++d)
            out[size_t(((b * s.Hq + h) * s.T + t) * s.Dv + d)] +=
                score[size_t(j)] / sum * v[size_t(((b * s.Hkv + kh) * s.S + j) * s.Dv + d)];
      }
    }
  return out;
}

Vec swiglu(const Vec &gate, const Vec &up) {
  Vec y(gate.size());
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
  return y;
}

Vec embedding(const Vec &table, int64_t C, const std::vector<int64_t> &ids) {
  Vec y;
  for (int64_t id : ids)
    for (int64_t c = 0; c < C; ++c)
      y.push_back(table[size_t(id * C + c)]);
  return y;
}

double crossEntropy(const Vec &logits, int64_t V, const std::vector<int64_t> &targets) {
  double total = 0.0;
  for (size_t n = 0; n < targets.size(); ++n) {
    const double *row = logits.data() + n * size_t(V);
    double max = *std::max_element(row, row + V), sum = 0.0;
    for (int64_t v = 0; v < V; ++v)
      sum += std::exp(row[v] - max);
    total += max + std::log(sum) - row[targets[n]];
  }
  return total / double(targets.size());
}

double globalNorm(const std::vector<Vec> &tensors) {
  double sum = 0.0;
  for (const Vec &t : tensors)
    for (double x : t)
      sum += x * x;
  return std::sqrt(sum);
}

} // namespace off::test::ref
