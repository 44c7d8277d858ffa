//===- OnnxOpsFused.cpp - ONNX's own LLM ops (opset 23) -------------------===//
//
// From opset 23 ONNX has RMSNormalization, RotaryEmbedding and Attention, and
// torch's dynamo exporter writes them (opset_version=23). They map straight
// onto off.rms_norm, off.rope and off.attention where their attributes mean
// what those ops compute; anything else is an error naming the attribute
// (a wrong fused op would compute another model silently).
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/OnnxGraph.h"
#include "dialects/off/Transforms/AttentionMask.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::off;
using namespace mlir::off::onnx_import;

namespace {

constexpr int64_t kFusedOpsSince = 23;

LogicalResult requireOpset(NodeContext &ctx) {
  if (ctx.opset() < kFusedOpsSince)
    return ctx.fail(ctx.proto().op_type() + " exists in ONNX from opset " +
                    llvm::Twine(kFusedOpsSince));
  return success();
}

/// RMSNormalization(X, scale) {axis, epsilon, stash_type} over the last axis.
LogicalResult rmsNormalization(NodeContext &ctx) {
  if (failed(requireOpset(ctx)))
    return failure();
  RankedTensorType x = ctx.inputType(0), scale = ctx.inputType(1);
  if (!isa<FloatType>(x.getElementType()) || scale.getElementType() != x.getElementType())
    return ctx.fail("X and scale must be floating point of one type");
  auto axis = ctx.axis(ctx.intAttr("axis", -1), x.getRank());
  if (failed(axis))
    return failure();
  if (*axis != x.getRank() - 1)
    return ctx.fail("normalizes over axes " + llvm::Twine(*axis) + " to " +
                    llvm::Twine(x.getRank() - 1) +
                    "; off.rms_norm normalizes the last axis only");
  int64_t channels = x.getDimSize(x.getRank() - 1);
  if (scale.getNumElements() != channels ||
      (scale.getRank() > 0 && scale.getDimSize(scale.getRank() - 1) != channels))
    return ctx.fail("scale must hold one value per channel (" + llvm::Twine(channels) +
                    ")");
  Value weight = ctx.input(1);
  if (scale.getRank() != 1)
    weight = ReshapeOp::create(ctx.builder(), ctx.loc(),
                               RankedTensorType::get({channels}, scale.getElementType()),
                               weight);
  double eps = shortestF32Decimal(ctx.floatAttr("epsilon", 1e-5f));
  ctx.setOutput(0, RmsNormOp::create(ctx.builder(), ctx.loc(), ctx.input(0), weight,
                                     ctx.builder().getF64FloatAttr(eps)));
  return success();
}

/// The [T, D] table of a rotary cache for x [B, H, T, D]: cache [B or 1, T,
/// D/2] (or [max_pos, D/2] rows picked by constant position ids [B, T]), each
/// half-frequency repeated in both halves; the same for every batch row.
FailureOr<HostTensor> ropeTable(NodeContext &ctx, unsigned input, RankedTensorType x) {
  const HostTensor *cache = ctx.constantInput(input);
  if (!cache)
    return ctx.fail("cos_cache and sin_cache must be constants for static shapes, but '" +
                    ctx.proto().input(input) + "' is computed from the model's input");
  int64_t b = x.getDimSize(0), t = x.getDimSize(2), d = x.getDimSize(3), half = d / 2;
  const HostTensor *positions = ctx.hasInput(3) ? ctx.constantInput(3) : nullptr;
  if (ctx.hasInput(3) && !positions)
    return ctx.fail("position_ids must be a constant");
  ArrayRef<int64_t> shape = cache->getShape();
  // Row of the cache for (batch row, position t), or -1 when out of range.
  auto rowOf = [&](int64_t batch, int64_t pos) -> int64_t {
    // A cache of one batch row serves every row: the dynamo exporter writes
    // [1, T, D/2] whatever the batch (ONNX Runtime 1.32 refuses batch > 1
    // for that; the spec asks for [B, T, D/2]).
    if (!positions)
      return (shape[0] == 1 ? 0 : batch) * t + pos;
    int64_t id = positions->getInt(
        (positions->getShape().size() == 2 && positions->getShape()[0] == 1 ? 0 : batch) * t +
        pos);
    return id >= 0 && id < shape[0] ? id : -1;
  };
  bool shapeOk = positions ? (shape.size() == 2 && shape[1] == half &&
                              positions->getRank() == 2 &&
                              positions->getShape()[1] == t &&
                              (positions->getShape()[0] == 1 ||
                               positions->getShape()[0] == b))
                           : (shape.size() == 3 && (shape[0] == 1 || shape[0] == b) &&
                              shape[1] == t && shape[2] == half);
  if (!shapeOk)
    return ctx.fail("cos/sin cache of shape [" +
                    llvm::join(llvm::map_range(shape, [](int64_t v) {
                                 return std::to_string(v);
                               }),
                               ", ") +
                    "] does not fit X (" + llvm::Twine(b) + " x " + llvm::Twine(t) +
                    " positions, head size " + llvm::Twine(d) + ")");
  HostTensor table(RankedTensorType::get({t, d}, x.getElementType()));
  for (int64_t batch = 0; batch < b; ++batch)
    for (int64_t pos = 0; pos < t; ++pos) {
      int64_t row = rowOf(batch, pos);
      if (row < 0)
        return ctx.fail("position id out of the cache's range");
      for (int64_t j = 0; j < half; ++j) {
        double v = cache->getFloat(row * half + j);
        if (batch == 0) {
          table.setFloat(pos * d + j, v);
          table.setFloat(pos * d + j + half, v);
        } else if (table.getFloat(pos * d + j) != HostTensor::roundToFloatType(
                                                       x.getElementType(), v)) {
          return ctx.fail("the rotary cache differs between batch rows; off.rope "
                          "takes one [T, D] table");
        }
      }
    }
  return table;
}

/// RotaryEmbedding(X [B, H, T, D], cos_cache, sin_cache[, position_ids]),
/// rotate-half form over the whole head.
LogicalResult rotaryEmbedding(NodeContext &ctx) {
  if (failed(requireOpset(ctx)))
    return failure();
  RankedTensorType x = ctx.inputType(0);
  if (x.getRank() != 4)
    return ctx.fail("X must be 4-D [batch, heads, sequence, head size]; the 3-D "
                    "form is not supported");
  if (ctx.intAttr("interleaved", 0) != 0)
    return ctx.fail("interleaved = 1 rotates pairs (x0, x1), ...; off.rope rotates "
                    "halves (Llama's rotate_half)");
  int64_t d = x.getDimSize(3);
  int64_t rotary = ctx.intAttr("rotary_embedding_dim", 0);
  if (d % 2 != 0 || (rotary != 0 && rotary != d))
    return ctx.fail("rotates " + llvm::Twine(rotary) + " of " + llvm::Twine(d) +
                    " head dimensions; off.rope rotates the whole (even) head");
  auto cos = ropeTable(ctx, 1, x);
  if (failed(cos))
    return failure();
  auto sin = ropeTable(ctx, 2, x);
  if (failed(sin))
    return failure();
  Value cosTable = ctx.sharedConstant(*cos), sinTable = ctx.sharedConstant(*sin);
  ctx.setOutput(0, RopeOp::create(ctx.builder(), ctx.loc(), ctx.input(0), cosTable, sinTable));
  return success();
}

/// Attention(Q, K, V[, attn_mask]) on 4-D [B, heads, T, D] tensors; the mask
/// must be constant and causal or empty. off-fuse-llm later drops grouped-
/// query repeats in front of K and V.
LogicalResult attention(NodeContext &ctx) {
  if (failed(requireOpset(ctx)))
    return failure();
  RankedTensorType q = ctx.inputType(0), k = ctx.inputType(1), v = ctx.inputType(2);
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return ctx.fail("Q, K and V must be 4-D [batch, heads, sequence, head size]; the "
                    "3-D form is not supported");
  if (ctx.hasInput(4) || ctx.hasInput(5))
    return ctx.fail("past_key / past_value (a KV cache) are not supported");
  for (int i = 1; i < ctx.proto().output_size(); ++i)
    if (!ctx.proto().output(i).empty())
      return ctx.fail("only output Y is supported (present_key, present_value and "
                      "qk_matmul_output are not)");
  if (ctx.floatAttr("softcap", 0.0f) != 0.0f)
    return ctx.fail("softcap is not supported");
  if (k.getDimSize(0) != q.getDimSize(0) || v.getShape().take_front(3) != k.getShape().take_front(3) ||
      k.getDimSize(3) != q.getDimSize(3) || q.getDimSize(1) % k.getDimSize(1) != 0)
    return ctx.fail("Q, K and V shapes do not fit (query heads must be a multiple of "
                    "key/value heads)");
  int64_t t = q.getDimSize(2), s = k.getDimSize(2);
  bool causal = ctx.intAttr("is_causal", 0) != 0;
  if (causal && t != s)
    return ctx.fail("is_causal with " + llvm::Twine(t) + " queries and " + llvm::Twine(s) +
                    " keys (ONNX aligns it top-left, off.attention bottom-right)");
  if (ctx.hasInput(3)) {
    const HostTensor *mask = ctx.constantInput(3);
    if (!mask)
      return ctx.fail("attn_mask must be a constant for static shapes (a padding "
                      "mask computed from the input is not supported)");
    SmallVector<int64_t> scores = {q.getDimSize(0), q.getDimSize(1), t, s};
    AttentionMaskKind kind = mask->isFloat() ? classifyAdditiveMask(*mask, scores)
                                             : classifyBooleanMask(*mask, scores);
    if (kind == AttentionMaskKind::Other)
      return ctx.fail("attn_mask is neither causal nor empty; off.attention takes "
                      "no mask");
    causal |= kind == AttentionMaskKind::Causal;
  }
  FloatAttr scaleAttr;
  if (const auto *given = ctx.attribute("scale")) {
    double scale = given->f(), standard = 1.0 / std::sqrt(static_cast<double>(q.getDimSize(3)));
    if (std::abs(scale - standard) > 1e-6 * standard)
      scaleAttr = ctx.builder().getF64FloatAttr(scale);
  }
  ctx.setOutput(0, AttentionOp::create(ctx.builder(), ctx.loc(), ctx.input(0), ctx.input(1),
                                       ctx.input(2), causal, scaleAttr));
  return success();
}

} // namespace

void onnx_import::addFusedHandlers(llvm::StringMap<OpHandler> &handlers) {
  handlers["RMSNormalization"] = rmsNormalization;
  handlers["RotaryEmbedding"] = rotaryEmbedding;
  handlers["Attention"] = attention;
}
