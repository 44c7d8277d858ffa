//===- LlamaBuilder.cpp - the built-in Llama as graph-level off IR --------===//
//
// One decoder layer, in the canonical order (docs/frontends.md):
//   h = rms_norm(x, input_layernorm)
//   q, k, v = matmul(h, W) {transpose_rhs}; reshape [B,T,H,D]; transpose [B,H,T,D]
//   q, k = rope(q|k, cos, sin)
//   o = attention(q, k, v) {causal}; transpose [B,T,H,D]; reshape [B,T,H*D]
//   x = add(x, matmul(o, o_proj) {transpose_rhs})
//   h = rms_norm(x, post_attention_layernorm)
//   x = add(x, matmul(swiglu(matmul(h, gate), matmul(h, up)), down))
// Weights are declared where they are first used, so the IR reads top to
// bottom like the Hugging Face module tree; each op's location is the name
// of the Hugging Face module it comes from (model.layers.3.mlp.down_proj).
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/LlamaBuilder.h"

#include "compiler/Import/LlamaRope.h"
#include "dialects/off/IR/OffDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/Twine.h"

using namespace mlir;
using namespace mlir::off;

namespace {

class LlamaGraphBuilder {
public:
  LlamaGraphBuilder(MLIRContext &context, const LlamaConfig &config,
                    int64_t batch, int64_t seq)
      : builder(&context), config(config), batch(batch), seq(seq),
        f32(builder.getF32Type()) {}

  OwningOpRef<ModuleOp> build();

private:
  Location loc(const llvm::Twine &hfModule) {
    return NameLoc::get(builder.getStringAttr(hfModule));
  }
  RankedTensorType tensor(ArrayRef<int64_t> shape, Type elem = {}) {
    return RankedTensorType::get(shape, elem ? elem : f32);
  }
  Value param(const llvm::Twine &name, ArrayRef<int64_t> shape) {
    std::string text = name.str();
    return ParamOp::create(builder, loc(text), tensor(shape), text,
                           /*trainable=*/true);
  }
  /// A Linear layer without bias: x W^T with W [out, in] named `weight`.
  Value linear(Value x, const llvm::Twine &module, int64_t out, int64_t in) {
    Value weight = param(module + ".weight", {out, in});
    return MatmulOp::create(builder, loc(module), x, weight,
                            /*transpose_lhs=*/false, /*transpose_rhs=*/true);
  }
  Value rmsNorm(Value x, const llvm::Twine &module) {
    Value weight = param(module + ".weight", {config.hiddenSize});
    return RmsNormOp::create(builder, loc(module), x, weight,
                             builder.getF64FloatAttr(config.rmsNormEps));
  }
  /// [B, T, heads*D] -> [B, heads, T, D]
  Value splitHeads(Value x, int64_t heads, Location at) {
    Value split = ReshapeOp::create(
        builder, at, tensor({batch, seq, heads, config.headDim}), x);
    return TransposeOp::create(builder, at, split, ArrayRef<int64_t>{0, 2, 1, 3});
  }
  /// [B, heads, T, D] -> [B, T, heads*D]
  Value mergeHeads(Value x, int64_t heads, Location at) {
    Value swapped = TransposeOp::create(builder, at, x, ArrayRef<int64_t>{0, 2, 1, 3});
    return ReshapeOp::create(builder, at,
                             tensor({batch, seq, heads * config.headDim}), swapped);
  }

  Value attentionBlock(Value x, int64_t layer);
  Value mlpBlock(Value x, int64_t layer);
  void ropeTables();

  OpBuilder builder;
  const LlamaConfig &config;
  int64_t batch, seq;
  Type f32;
  Value cosTable, sinTable;
};

void LlamaGraphBuilder::ropeTables() {
  RopeTables tables = llamaRopeTables(config, seq);
  auto type = tensor({seq, config.headDim});
  Location at = loc("model.rotary_emb");
  cosTable = ConstantOp::create(builder, at,
                                DenseElementsAttr::get(type, ArrayRef(tables.cos)));
  sinTable = ConstantOp::create(builder, at,
                                DenseElementsAttr::get(type, ArrayRef(tables.sin)));
}

Value LlamaGraphBuilder::attentionBlock(Value x, int64_t layer) {
  std::string prefix = ("model.layers." + llvm::Twine(layer)).str();
  std::string attn = prefix + ".self_attn";
  const int64_t hidden = config.hiddenSize, dim = config.headDim;
  const int64_t heads = config.numHeads, kvHeads = config.numKvHeads;

  Value h = rmsNorm(x, prefix + ".input_layernorm");
  Value q = linear(h, attn + ".q_proj", heads * dim, hidden);
  Value k = linear(h, attn + ".k_proj", kvHeads * dim, hidden);
  Value v = linear(h, attn + ".v_proj", kvHeads * dim, hidden);
  q = splitHeads(q, heads, loc(attn + ".q_proj"));
  k = splitHeads(k, kvHeads, loc(attn + ".k_proj"));
  v = splitHeads(v, kvHeads, loc(attn + ".v_proj"));
  q = RopeOp::create(builder, loc(attn), q, cosTable, sinTable);
  k = RopeOp::create(builder, loc(attn), k, cosTable, sinTable);
  Value o = AttentionOp::create(builder, loc(attn), q, k, v, /*causal=*/true,
                                /*scale=*/nullptr);
  o = mergeHeads(o, heads, loc(attn));
  o = linear(o, attn + ".o_proj", hidden, heads * dim);
  return AddOp::create(builder, loc(prefix), x, o);
}

Value LlamaGraphBuilder::mlpBlock(Value x, int64_t layer) {
  std::string prefix = ("model.layers." + llvm::Twine(layer)).str();
  std::string mlp = prefix + ".mlp";
  const int64_t hidden = config.hiddenSize, inter = config.intermediateSize;

  Value h = rmsNorm(x, prefix + ".post_attention_layernorm");
  Value gate = linear(h, mlp + ".gate_proj", inter, hidden);
  Value up = linear(h, mlp + ".up_proj", inter, hidden);
  Value act = SwigluOp::create(builder, loc(mlp), gate, up);
  Value down = linear(act, mlp + ".down_proj", hidden, inter);
  return AddOp::create(builder, loc(prefix), x, down);
}

OwningOpRef<ModuleOp> LlamaGraphBuilder::build() {
  Location top = loc("model");
  OwningOpRef<ModuleOp> module = ModuleOp::create(top);
  // What the graph was built from, for later stages (e.g. the runtime's
  // random initialisation reads initializer_range).
  module->getOperation()->setAttr(
      "off.source",
      builder.getDictionaryAttr({
          builder.getNamedAttr("model", builder.getStringAttr("llama")),
          builder.getNamedAttr("config", builder.getStringAttr(config.source)),
          builder.getNamedAttr("initializer_range",
                               builder.getF64FloatAttr(config.initializerRange)),
          builder.getNamedAttr("num_hidden_layers",
                               builder.getI64IntegerAttr(config.numLayers)),
      }));
  builder.setInsertionPointToEnd(module->getBody());

  auto idsType = tensor({batch, seq}, builder.getI32Type());
  auto logitsType = tensor({batch, seq, config.vocabSize});
  auto func = func::FuncOp::create(builder, top, "forward",
                                   builder.getFunctionType({idsType}, {logitsType}));
  func.setArgAttr(0, "off.name", builder.getStringAttr("input_ids"));
  func.setResultAttr(0, "off.name", builder.getStringAttr("logits"));
  builder.setInsertionPointToStart(func.addEntryBlock());

  Value embedTable = param("model.embed_tokens.weight",
                           {config.vocabSize, config.hiddenSize});
  Value x = EmbeddingOp::create(builder, loc("model.embed_tokens"), embedTable,
                                func.getArgument(0));
  ropeTables();
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    x = attentionBlock(x, layer);
    x = mlpBlock(x, layer);
  }
  x = rmsNorm(x, "model.norm");
  Value head = config.tieWordEmbeddings
                   ? embedTable
                   : param("lm_head.weight", {config.vocabSize, config.hiddenSize});
  Value logits = MatmulOp::create(builder, loc("lm_head"), x, head,
                                  /*transpose_lhs=*/false, /*transpose_rhs=*/true);
  func::ReturnOp::create(builder, loc("lm_head"), logits);
  return module;
}

} // namespace

void mlir::off::loadLlamaDialects(MLIRContext &context) {
  context.loadDialect<OffDialect, func::FuncDialect>();
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::off::buildLlamaModule(MLIRContext &context, const LlamaConfig &config,
                            int64_t batch, int64_t seq) {
  if (llvm::Error error = checkLlamaInputShape(config, batch, seq))
    return std::move(error);
  loadLlamaDialects(context);
  OwningOpRef<ModuleOp> module =
      LlamaGraphBuilder(context, config, batch, seq).build();
  // The builder only makes valid IR for a validated config; a failure here
  // is a bug in this file, reported rather than written out.
  if (failed(verify(*module)))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "internal error: the Llama graph built from " + config.source +
            " does not verify (diagnostics above)");
  return module;
}
