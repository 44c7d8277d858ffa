// Checks the gradients off-autodiff writes against central finite
// differences, without kernels: a small fp64 interpreter runs the
// composite-op graphs (matmul with every flag, broadcasting arithmetic,
// element-wise, reductions, movement, fan-out, grad accumulation). The
// interpreter evaluates each op from its definition in OffOps.td; the
// reference is the finite difference of the loss computed by the same
// interpreter on the original @forward, so a wrong rule (a missing
// transpose, a lost broadcast sum, a gradient sent to the wrong operand)
// shows as a mismatch. The fused ops' grad kernels are checked by their own
// finite-difference tests in the runtime.

#include "dialects/off/IR/OffDialect.h"
#include "dialects/off/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/TypeSwitch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace mlir;

namespace {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<double> data;
};

int64_t countOf(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::vector<int64_t> unravel(int64_t linear, const std::vector<int64_t> &shape) {
  std::vector<int64_t> index(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    index[d] = linear % shape[d];
    linear /= shape[d];
  }
  return index;
}

/// The element of `shape` that a broadcast result index (aligned from the
/// right, size-1 dims stretched) reads.
int64_t ravelBroadcast(const std::vector<int64_t> &index,
                       const std::vector<int64_t> &shape) {
  int64_t linear = 0, lead = index.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d)
    linear = linear * shape[d] + (shape[d] == 1 ? 0 : index[lead + d]);
  return linear;
}

std::vector<int64_t> shapeOf(Type type) {
  auto shape = cast<RankedTensorType>(type).getShape();
  return {shape.begin(), shape.end()};
}

/// Evaluates a function of off ops in fp64. Records the grad operand of each
/// adam_step under its param's name.
class Interpreter {
public:
  explicit Interpreter(const std::map<std::string, Tensor> &params)
      : params(params) {}

  std::vector<Tensor> run(func::FuncOp func, const std::vector<Tensor> &args) {
    for (auto [arg, value] : llvm::zip(func.getArguments(), args))
      values[arg] = value;
    for (Operation &op : func.getBody().front()) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        std::vector<Tensor> results;
        for (Value v : ret.getOperands())
          results.push_back(values.at(v));
        return results;
      }
      eval(&op);
    }
    return {};
  }

  std::map<std::string, Tensor> grads;
  bool failed = false;

private:
  Tensor &in(Operation *op, unsigned i) { return values.at(op->getOperand(i)); }
  Tensor make(Value v) {
    Tensor t{shapeOf(v.getType()), {}};
    t.data.assign(countOf(t.shape), 0.0);
    return t;
  }

  template <typename F> Tensor unary(Operation *op, F f) {
    Tensor r = make(op->getResult(0));
    for (size_t i = 0; i < r.data.size(); ++i)
      r.data[i] = f(in(op, 0).data[i]);
    return r;
  }
  template <typename F> Tensor binary(Operation *op, F f) {
    Tensor r = make(op->getResult(0));
    Tensor &a = in(op, 0), &b = in(op, 1);
    for (int64_t i = 0; i < countOf(r.shape); ++i) {
      auto idx = unravel(i, r.shape);
      r.data[i] = f(a.data[ravelBroadcast(idx, a.shape)],
                    b.data[ravelBroadcast(idx, b.shape)]);
    }
    return r;
  }
  /// Sum (or mean) over `axes` of the input, into the result's layout.
  Tensor reduce(Operation *op, ArrayRef<int64_t> axes, bool mean) {
    Tensor &a = in(op, 0);
    Tensor r = make(op->getResult(0));
    int64_t count = 1;
    for (int64_t axis : axes)
      count *= a.shape[axis];
    for (int64_t i = 0; i < countOf(a.shape); ++i) {
      auto idx = unravel(i, a.shape);
      int64_t linear = 0;
      for (size_t d = 0, k = 0; d < idx.size(); ++d) {
        bool reduced = llvm::is_contained(axes, static_cast<int64_t>(d));
        if (reduced && r.shape.size() < a.shape.size())
          continue; // dropped dim
        linear = linear * r.shape[k] + (reduced ? 0 : idx[d]);
        ++k;
      }
      r.data[linear] += a.data[i] / (mean ? count : 1);
    }
    return r;
  }

  Tensor matmul(off::MatmulOp mm) {
    Tensor &a = values.at(mm.getLhs()), &b = values.at(mm.getRhs());
    Tensor r = make(mm.getResult());
    size_t ra = a.shape.size(), rb = b.shape.size(), rr = r.shape.size();
    int64_t m = r.shape[rr - 2], n = r.shape[rr - 1];
    int64_t k = a.shape[ra - (mm.getTransposeLhs() ? 2 : 1)];
    std::vector<int64_t> batch(r.shape.begin(), r.shape.end() - 2);
    std::vector<int64_t> aBatch(a.shape.begin(), a.shape.end() - 2);
    std::vector<int64_t> bBatch(b.shape.begin(), b.shape.end() - 2);
    for (int64_t bi = 0; bi < countOf(batch); ++bi) {
      auto idx = unravel(bi, batch);
      int64_t aOff = ravelBroadcast(idx, aBatch) * a.shape[ra - 2] * a.shape[ra - 1];
      int64_t bOff = ravelBroadcast(idx, bBatch) * b.shape[rb - 2] * b.shape[rb - 1];
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double sum = 0;
          for (int64_t p = 0; p < k; ++p) {
            double x = mm.getTransposeLhs() ? a.data[aOff + p * m + i]
                                            : a.data[aOff + i * k + p];
            double y = mm.getTransposeRhs() ? b.data[bOff + j * k + p]
                                            : b.data[bOff + p * n + j];
            sum += x * y;
          }
          r.data[(bi * m + i) * n + j] = sum;
        }
    }
    return r;
  }

  /// Copies elements between the input and a strided range along `axis`.
  void sliceCopy(Tensor &full, Tensor &part, int64_t axis, int64_t start,
                 int64_t step, bool toPart) {
    for (int64_t i = 0; i < countOf(part.shape); ++i) {
      auto idx = unravel(i, part.shape);
      idx[axis] = start + idx[axis] * step;
      int64_t linear = 0;
      for (size_t d = 0; d < idx.size(); ++d)
        linear = linear * full.shape[d] + idx[d];
      if (toPart)
        part.data[i] = full.data[linear];
      else
        full.data[linear] += part.data[i];
    }
  }

  /// Rows of `data` along `axis` picked by `indices`; `scatter` adds back.
  void gatherRows(Tensor &data, Tensor &indices, Tensor &out, int64_t axis,
                  bool scatter) {
    int64_t outer = countOf({data.shape.begin(), data.shape.begin() + axis});
    int64_t inner = countOf({data.shape.begin() + axis + 1, data.shape.end()});
    int64_t rows = data.shape[axis], n = indices.data.size();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t c = 0; c < inner; ++c) {
          int64_t src = (o * rows + static_cast<int64_t>(indices.data[j])) * inner + c;
          int64_t dst = (o * n + j) * inner + c;
          if (scatter)
            data.data[src] += out.data[dst];
          else
            out.data[dst] = data.data[src];
        }
  }

  void eval(Operation *op) {
    using namespace off;
    auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    Tensor result;
    bool handled = true;
    llvm::TypeSwitch<Operation *>(op)
        .Case([&](ParamOp p) { result = params.at(p.getName().str()); })
        .Case([&](StateOp s) { result = make(s.getResult()); })
        .Case([&](ConstantOp c) {
          result = make(c.getResult());
          auto dense = cast<DenseElementsAttr>(c.getValue());
          size_t i = 0;
          if (isa<FloatType>(dense.getElementType()))
            for (APFloat v : dense.getValues<APFloat>())
              result.data[i++] = v.convertToDouble();
          else
            for (APInt v : dense.getValues<APInt>())
              result.data[i++] = static_cast<double>(v.getSExtValue());
        })
        .Case([&](ReshapeOp r) {
          result = in(op, 0);
          result.shape = shapeOf(r.getType());
        })
        .Case([&](CastOp) { result = in(op, 0); }) // fp64 throughout
        .Case([&](AddOp) { result = binary(op, [](double a, double b) { return a + b; }); })
        .Case([&](SubOp) { result = binary(op, [](double a, double b) { return a - b; }); })
        .Case([&](MulOp) { result = binary(op, [](double a, double b) { return a * b; }); })
        .Case([&](DivOp) { result = binary(op, [](double a, double b) { return a / b; }); })
        .Case([&](BroadcastToOp b) {
          result = make(b.getResult());
          for (int64_t i = 0; i < countOf(result.shape); ++i)
            result.data[i] = in(op, 0).data[ravelBroadcast(
                unravel(i, result.shape), in(op, 0).shape)];
        })
        .Case([&](NegOp) { result = unary(op, [](double x) { return -x; }); })
        .Case([&](ExpOp) { result = unary(op, [](double x) { return std::exp(x); }); })
        .Case([&](SqrtOp) { result = unary(op, [](double x) { return std::sqrt(x); }); })
        .Case([&](RsqrtOp) { result = unary(op, [](double x) { return 1 / std::sqrt(x); }); })
        .Case([&](SigmoidOp) { result = unary(op, sigmoid); })
        .Case([&](SiluOp) { result = unary(op, [&](double x) { return x * sigmoid(x); }); })
        .Case([&](MatmulOp mm) { result = matmul(mm); })
        .Case([&](TransposeOp t) {
          Tensor &a = in(op, 0);
          result = make(t.getResult());
          for (int64_t i = 0; i < countOf(result.shape); ++i) {
            auto idx = unravel(i, result.shape);
            std::vector<int64_t> src(idx.size());
            for (size_t d = 0; d < idx.size(); ++d)
              src[t.getPerm()[d]] = idx[d];
            result.data[i] = a.data[ravelBroadcast(src, a.shape)];
          }
        })
        .Case([&](ReduceSumOp r) { result = reduce(op, r.getAxes(), false); })
        .Case([&](ReduceMeanOp r) { result = reduce(op, r.getAxes(), true); })
        .Case([&](SliceOp s) {
          result = make(s.getResult());
          sliceCopy(in(op, 0), result, s.getAxis(), s.getStart(), s.getStep(), true);
        })
        .Case([&](SliceGradOp s) {
          result = make(s.getGradInput());
          sliceCopy(result, in(op, 0), s.getAxis(), s.getStart(), s.getStep(), false);
        })
        .Case([&](ConcatOp c) {
          result = make(c.getResult());
          int64_t offset = 0;
          for (unsigned i = 0; i < op->getNumOperands(); ++i) {
            Tensor part = in(op, i); // disjoint ranges of the zeros
            sliceCopy(result, part, c.getAxis(), offset, 1, false);
            offset += part.shape[c.getAxis()];
          }
        })
        .Case([&](GatherOp g) {
          result = make(g.getResult());
          gatherRows(in(op, 0), in(op, 1), result, g.getAxis(), false);
        })
        .Case([&](GatherGradOp g) {
          result = make(g.getGradData());
          gatherRows(result, in(op, 0), in(op, 1), g.getAxis(), true);
        })
        .Case([&](EmbeddingOp e) {
          result = make(e.getResult());
          gatherRows(in(op, 0), in(op, 1), result, 0, false);
        })
        .Case([&](EmbeddingGradOp e) {
          result = make(e.getGradTable());
          gatherRows(result, in(op, 0), in(op, 1), 0, true);
        })
        .Case([&](SoftmaxOp s) { result = softmax(in(op, 0), s.getAxis()); })
        .Case([&](SoftmaxGradOp s) {
          // dx = y * (dy - sum(dy * y, axis))
          Tensor &y = in(op, 0), &dy = in(op, 1);
          result = make(s.getGradInput());
          forEachRow(y.shape, s.getAxis(), [&](int64_t base, int64_t stride, int64_t n) {
            double dot = 0;
            for (int64_t j = 0; j < n; ++j)
              dot += dy.data[base + j * stride] * y.data[base + j * stride];
            for (int64_t j = 0; j < n; ++j)
              result.data[base + j * stride] =
                  y.data[base + j * stride] * (dy.data[base + j * stride] - dot);
          });
        })
        .Case([&](CrossEntropyOp ce) {
          Tensor p = softmax(in(op, 0), in(op, 0).shape.size() - 1);
          Tensor &t = in(op, 1);
          int64_t v = p.shape.back(), rows = t.data.size();
          double loss = 0;
          for (int64_t r = 0; r < rows; ++r)
            loss -= std::log(p.data[r * v + static_cast<int64_t>(t.data[r])]);
          result = make(ce.getResult());
          result.data[0] = loss / rows;
        })
        .Case([&](CrossEntropyGradOp ce) {
          result = softmax(in(op, 0), in(op, 0).shape.size() - 1);
          Tensor &t = in(op, 1);
          double scale = in(op, 2).data[0];
          int64_t v = result.shape.back(), rows = t.data.size();
          for (int64_t r = 0; r < rows; ++r) {
            result.data[r * v + static_cast<int64_t>(t.data[r])] -= 1.0;
            for (int64_t j = 0; j < v; ++j)
              result.data[r * v + j] *= scale / rows;
          }
        })
        .Case([&](GlobalNormOp g) {
          double sum = 0;
          for (Value v : g.getInputs())
            for (double x : values.at(v).data)
              sum += x * x;
          result = make(g.getNorm());
          result.data[0] = std::sqrt(sum);
        })
        .Case([&](AdamStepOp adam) {
          auto param = adam.getParam().getDefiningOp<ParamOp>();
          grads[param.getName().str()] = values.at(adam.getGrad());
        })
        .Default([&](Operation *) { handled = false; });
    if (!handled) {
      ADD_FAILURE() << "the test interpreter has no rule for "
                    << op->getName().getStringRef().str();
      failed = true;
      return;
    }
    if (op->getNumResults() == 1)
      values[op->getResult(0)] = result;
  }

  template <typename F>
  void forEachRow(const std::vector<int64_t> &shape, int64_t axis, F f) {
    int64_t n = shape[axis];
    int64_t stride = countOf({shape.begin() + axis + 1, shape.end()});
    for (int64_t i = 0; i < countOf(shape); ++i)
      if (unravel(i, shape)[axis] == 0)
        f(i, stride, n);
  }
  Tensor softmax(const Tensor &x, int64_t axis) {
    Tensor r = x;
    forEachRow(x.shape, axis, [&](int64_t base, int64_t stride, int64_t n) {
      double max = -INFINITY, sum = 0;
      for (int64_t j = 0; j < n; ++j)
        max = std::max(max, x.data[base + j * stride]);
      for (int64_t j = 0; j < n; ++j)
        sum += std::exp(x.data[base + j * stride] - max);
      for (int64_t j = 0; j < n; ++j)
        r.data[base + j * stride] = std::exp(x.data[base + j * stride] - max) / sum;
    });
    return r;
  }

  const std::map<std::string, Tensor> &params;
  llvm::DenseMap<Value, Tensor> values;
};

class AutodiffGradient : public ::testing::Test {
protected:
  AutodiffGradient() {
    context.loadDialect<off::OffDialect, func::FuncDialect>();
  }

  /// Parses `forward`, makes random params (trainable or not) and ids.
  void load(StringRef forward, int64_t k) {
    accum = k;
    forwardModule = parseSourceString<ModuleOp>(forward, &context);
    ASSERT_TRUE(forwardModule);
    auto func = forwardModule->lookupSymbol<func::FuncOp>("forward");
    std::mt19937 rng(1234);
    std::normal_distribution<double> normal(0.0, 0.5);
    func.walk([&](off::ParamOp p) {
      Tensor t{shapeOf(p.getType()), {}};
      for (int64_t i = 0; i < countOf(t.shape); ++i)
        t.data.push_back(normal(rng));
      params[p.getName().str()] = t;
      if (p.getTrainable())
        trainable.push_back(p.getName().str());
    });
    auto ids = shapeOf(func.getArgument(0).getType());
    int64_t vocab = shapeOf(func.getResultTypes()[0]).back();
    std::uniform_int_distribution<int> token(0, static_cast<int>(vocab) - 1);
    for (Tensor *t : {&ids3, &targets3}) {
      t->shape = {k, ids[0], ids[1]};
      for (int64_t i = 0; i < countOf(t->shape); ++i)
        t->data.push_back(token(rng));
    }
  }

  /// Micro-batch `mb` of a [K, B, T] tensor.
  Tensor microBatch(const Tensor &t, int64_t mb) {
    int64_t n = t.shape[1] * t.shape[2];
    return {{t.shape[1], t.shape[2]},
            {t.data.begin() + mb * n, t.data.begin() + (mb + 1) * n}};
  }

  /// mean over micro-batches of CE(forward(ids_k), targets_k), in fp64.
  double referenceLoss() {
    auto func = forwardModule->lookupSymbol<func::FuncOp>("forward");
    double sum = 0;
    for (int64_t mb = 0; mb < accum; ++mb) {
      Interpreter interp(params);
      Tensor logits = interp.run(func, {microBatch(ids3, mb)}).at(0);
      Tensor targets = microBatch(targets3, mb);
      int64_t v = logits.shape.back(), rows = targets.data.size();
      double loss = 0;
      for (int64_t r = 0; r < rows; ++r) {
        double max = -INFINITY, z = 0;
        for (int64_t j = 0; j < v; ++j)
          max = std::max(max, logits.data[r * v + j]);
        for (int64_t j = 0; j < v; ++j)
          z += std::exp(logits.data[r * v + j] - max);
        loss += max + std::log(z) -
                logits.data[r * v + static_cast<int64_t>(targets.data[r])];
      }
      sum += loss / rows;
    }
    return sum / accum;
  }

  /// Runs off-autodiff and compares its loss and gradients with the
  /// reference loss and its central finite differences.
  void check() {
    OwningOpRef<ModuleOp> step(forwardModule->clone());
    PassManager pm(&context);
    off::AutodiffPassOptions options;
    options.gradAccum = accum;
    pm.addPass(off::createAutodiffPass(options));
    ASSERT_TRUE(succeeded(pm.run(*step)));
    Interpreter interp(params);
    auto results = interp.run(step->lookupSymbol<func::FuncOp>("train_step"),
                              {ids3, targets3});
    ASSERT_FALSE(interp.failed);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_NEAR(results[0].data[0], referenceLoss(), 1e-12);

    double normSq = 0;
    ASSERT_EQ(interp.grads.size(), trainable.size());
    for (const std::string &name : trainable) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(interp.grads.count(name));
      const Tensor &grad = interp.grads[name];
      ASSERT_EQ(grad.shape, params[name].shape);
      for (size_t i = 0; i < grad.data.size(); ++i) {
        double &w = params[name].data[i], saved = w, h = 1e-5;
        w = saved + h;
        double up = referenceLoss();
        w = saved - h;
        double down = referenceLoss();
        w = saved;
        double fd = (up - down) / (2 * h);
        EXPECT_NEAR(grad.data[i], fd, 1e-7 + 1e-6 * std::abs(fd))
            << "element " << i;
        normSq += grad.data[i] * grad.data[i];
      }
    }
    EXPECT_NEAR(results[1].data[0], std::sqrt(normSq), 1e-12);
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> forwardModule;
  std::map<std::string, Tensor> params;
  std::vector<std::string> trainable;
  Tensor ids3, targets3;
  int64_t accum = 1;
};

// A Linear layer with a bias, a residual and a weight tied between the
// embedding and the head, over a frozen param: dW over flattened rows,
// the bias summed over broadcast dims, fan-out sums.
TEST_F(AutodiffGradient, LinearResidualTiedWeights) {
  load(R"mlir(
    func.func @forward(%ids: tensor<2x3xi32>) -> tensor<2x3x7xf32> {
      %e = off.param "embed" {trainable} : tensor<7x5xf32>
      %x = off.embedding %e, %ids : (tensor<7x5xf32>, tensor<2x3xi32>) -> tensor<2x3x5xf32>
      %w = off.param "w" {trainable} : tensor<5x5xf32>
      %f = off.param "frozen" : tensor<5xf32>
      %b = off.param "b" {trainable} : tensor<5xf32>
      %a = off.matmul %x, %w {transpose_rhs = true} : (tensor<2x3x5xf32>, tensor<5x5xf32>) -> tensor<2x3x5xf32>
      %ab = off.add %a, %b : (tensor<2x3x5xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
      %af = off.mul %ab, %f : (tensor<2x3x5xf32>, tensor<5xf32>) -> tensor<2x3x5xf32>
      %h = off.add %af, %x : (tensor<2x3x5xf32>, tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
      %y = off.matmul %h, %e {transpose_rhs = true} : (tensor<2x3x5xf32>, tensor<7x5xf32>) -> tensor<2x3x7xf32>
      return %y : tensor<2x3x7xf32>
    })mlir", 1);
  check();
}

// Every transpose flag combination and broadcast batch dims.
TEST_F(AutodiffGradient, MatmulFlagsAndBatchBroadcast) {
  load(R"mlir(
    func.func @forward(%ids: tensor<2x3xi32>) -> tensor<2x3x6xf32> {
      %e = off.param "embed" {trainable} : tensor<6x4xf32>
      %x = off.embedding %e, %ids : (tensor<6x4xf32>, tensor<2x3xi32>) -> tensor<2x3x4xf32>
      %xt = off.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
      %p = off.param "p" {trainable} : tensor<4x4xf32>
      %q = off.param "q" {trainable} : tensor<1x4x4xf32>
      %r = off.param "r" {trainable} : tensor<4x6xf32>
      %a = off.matmul %xt, %p {transpose_lhs = true} : (tensor<2x4x3xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32>
      %b = off.matmul %a, %q {transpose_rhs = true} : (tensor<2x3x4xf32>, tensor<1x4x4xf32>) -> tensor<2x3x4xf32>
      %c = off.matmul %p, %b {transpose_lhs = true, transpose_rhs = true} : (tensor<4x4xf32>, tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
      %d = off.matmul %c, %r {transpose_lhs = true} : (tensor<2x4x3xf32>, tensor<4x6xf32>) -> tensor<2x3x6xf32>
      return %d : tensor<2x3x6xf32>
    })mlir", 1);
  check();
}

// Broadcasting arithmetic (leading and stretched dims) and every
// element-wise rule.
TEST_F(AutodiffGradient, ElementwiseAndBroadcasting) {
  load(R"mlir(
    func.func @forward(%ids: tensor<2x3xi32>) -> tensor<2x3x5xf32> {
      %e = off.param "embed" {trainable} : tensor<5x5xf32>
      %x = off.embedding %e, %ids : (tensor<5x5xf32>, tensor<2x3xi32>) -> tensor<2x3x5xf32>
      %s = off.param "s" {trainable} : tensor<3x1xf32>
      %c = off.param "c" {trainable} : tensor<1x3x5xf32>
      %one = off.constant dense<1.5> : tensor<f32>
      %a = off.mul %x, %s : (tensor<2x3x5xf32>, tensor<3x1xf32>) -> tensor<2x3x5xf32>
      %b = off.sub %a, %c : (tensor<2x3x5xf32>, tensor<1x3x5xf32>) -> tensor<2x3x5xf32>
      %g = off.sigmoid %b : tensor<2x3x5xf32>
      %ex = off.exp %g : tensor<2x3x5xf32>
      %sq = off.sqrt %ex : tensor<2x3x5xf32>
      %rs = off.rsqrt %ex : tensor<2x3x5xf32>
      %dv = off.div %sq, %rs : (tensor<2x3x5xf32>, tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
      %dc = off.div %dv, %c : (tensor<2x3x5xf32>, tensor<1x3x5xf32>) -> tensor<2x3x5xf32>
      %si = off.silu %dc : tensor<2x3x5xf32>
      %n = off.neg %si : tensor<2x3x5xf32>
      %y = off.add %n, %one : (tensor<2x3x5xf32>, tensor<f32>) -> tensor<2x3x5xf32>
      return %y : tensor<2x3x5xf32>
    })mlir", 1);
  // Keep c away from 0: it divides.
  for (double &v : params["c"].data)
    v = 1.0 + std::abs(v);
  check();
}

// Softmax, reductions with and without keepdims, slices, concat, gather,
// broadcast_to, reshape and transpose.
TEST_F(AutodiffGradient, ReductionsAndMovement) {
  load(R"mlir(
    func.func @forward(%ids: tensor<2x3xi32>) -> tensor<2x3x6xf32> {
      %e = off.param "embed" {trainable} : tensor<6x6xf32>
      %t = off.param "table" {trainable} : tensor<4x6xf32>
      %idx = off.constant dense<[3, 0, 3]> : tensor<3xi64>
      %x = off.embedding %e, %ids : (tensor<6x6xf32>, tensor<2x3xi32>) -> tensor<2x3x6xf32>
      %p = off.softmax %x {axis = 2 : i64} : tensor<2x3x6xf32>
      %lo = off.slice %p {axis = 2 : i64, start = 0 : i64, end = 6 : i64, step = 2 : i64} : (tensor<2x3x6xf32>) -> tensor<2x3x3xf32>
      %hi = off.slice %x {axis = 2 : i64, start = 3 : i64, end = 6 : i64} : (tensor<2x3x6xf32>) -> tensor<2x3x3xf32>
      %cat = off.concat %hi, %lo {axis = 2 : i64} : (tensor<2x3x3xf32>, tensor<2x3x3xf32>) -> tensor<2x3x6xf32>
      %m = off.reduce_mean %cat {axes = array<i64: 0, 2>, keepdims = true} : (tensor<2x3x6xf32>) -> tensor<1x3x1xf32>
      %g = off.gather %t, %idx {axis = 0 : i64} : (tensor<4x6xf32>, tensor<3xi64>) -> tensor<3x6xf32>
      %gs = off.reduce_sum %g {axes = array<i64: 0>} : (tensor<3x6xf32>) -> tensor<6xf32>
      %gb = off.broadcast_to %gs : tensor<6xf32> to tensor<3x6xf32>
      %xr = off.reshape %cat : tensor<2x3x6xf32> to tensor<2x6x3xf32>
      %xt = off.transpose %xr {perm = array<i64: 0, 2, 1>} : (tensor<2x6x3xf32>) -> tensor<2x3x6xf32>
      %d = off.sub %xt, %m : (tensor<2x3x6xf32>, tensor<1x3x1xf32>) -> tensor<2x3x6xf32>
      %y = off.mul %d, %gb : (tensor<2x3x6xf32>, tensor<3x6xf32>) -> tensor<2x3x6xf32>
      return %y : tensor<2x3x6xf32>
    })mlir", 1);
  check();
}

// Two micro-batches: the loss is their mean and each gradient the sum of
// the micro-batch gradients of loss_k / 2.
TEST_F(AutodiffGradient, GradientAccumulation) {
  load(R"mlir(
    func.func @forward(%ids: tensor<2x3xi32>) -> tensor<2x3x7xf32> {
      %e = off.param "embed" {trainable} : tensor<7x4xf32>
      %w = off.param "w" {trainable} : tensor<7x4xf32>
      %x = off.embedding %e, %ids : (tensor<7x4xf32>, tensor<2x3xi32>) -> tensor<2x3x4xf32>
      %y = off.matmul %x, %w {transpose_rhs = true} : (tensor<2x3x4xf32>, tensor<7x4xf32>) -> tensor<2x3x7xf32>
      return %y : tensor<2x3x7xf32>
    })mlir", 2);
  check();
}

} // namespace
