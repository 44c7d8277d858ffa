// ModelStats on modules that did not come from the Llama builder: the path
// the ONNX importer's output takes.

#include "compiler/Import/ModelStats.h"
#include "dialects/off/IR/OffDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace mlir;
using namespace mlir::off;

namespace {

OwningOpRef<ModuleOp> parse(MLIRContext &context, StringRef text) {
  context.loadDialect<OffDialect, func::FuncDialect>();
  return parseSourceString<ModuleOp>(text, &context);
}

TEST(ModelStats, CountsParamsFlopsAndLayersOfAnyModule) {
  MLIRContext context;
  // Two attention blocks, weights with ONNX-style names (no "layers.N."),
  // one frozen weight.
  OwningOpRef<ModuleOp> module = parse(context, R"mlir(
    func.func @main(%x: tensor<2x3x8xf32> {off.name = "hidden"}) -> tensor<2x4x3x8xf32> {
      %w = off.param "onnx::MatMul_12" {trainable} : tensor<8x8xf32>
      %f = off.param "frozen" : tensor<5xf32>
      %y = off.matmul %x, %w : (tensor<2x3x8xf32>, tensor<8x8xf32>) -> tensor<2x3x8xf32>
      %r = off.reshape %y : tensor<2x3x8xf32> to tensor<2x1x3x8xf32>
      %q = off.reshape %y : tensor<2x3x8xf32> to tensor<2x1x3x8xf32>
      %a = off.attention %q, %r, %r {causal} : (tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>) -> tensor<2x1x3x8xf32>
      %b = off.attention %a, %r, %r : (tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>) -> tensor<2x1x3x8xf32>
      %s = off.add %b, %a : (tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>) -> tensor<2x1x3x8xf32>
      %c = off.concat %s, %s, %s, %s {axis = 1 : i64} : (tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>) -> tensor<2x4x3x8xf32>
      return %c : tensor<2x4x3x8xf32>
    })mlir");
  ASSERT_TRUE(module);
  ModelStats stats = llvm::cantFail(computeModelStats(*module));
  EXPECT_EQ(stats.parameters, 64 + 5);
  EXPECT_EQ(stats.trainableParameters, 64);
  EXPECT_EQ(stats.parameterTensors, 2);
  EXPECT_EQ(stats.layers, 2); // no layers.N. names: one per attention op
  // [2,3,8] x [8,8]: 2 * 2*3*8 outputs * K=8.
  EXPECT_EQ(stats.flopsMatmul, uint64_t(2 * 48 * 8));
  // Each attention: B*H*T*S = 2*1*3*3 scores, 2 * scores * (D + Dv).
  EXPECT_EQ(stats.flopsAttention, uint64_t(2 * (2 * 18 * 16)));
  // add: 1 per element (48); softmax inside attention: 5 per score (2 * 18).
  EXPECT_EQ(stats.flopsElementwise, uint64_t(48 + 2 * 5 * 18));
  EXPECT_EQ(stats.opCounts["off.attention"], 2);
  EXPECT_EQ(stats.opCounts["off.reshape"], 2);
  EXPECT_EQ(stats.opCounts["func.return"], 1);
  ASSERT_EQ(stats.inputs.size(), 1u);
  EXPECT_EQ(stats.inputs[0].name, "hidden");

  llvm::json::Object json = modelStatsToJson(stats);
  EXPECT_EQ(json.getInteger("parameters"), 69);
  EXPECT_EQ(json.getInteger("trainable_parameters"), 64);
  EXPECT_EQ(json.getInteger("layers"), 2);
  ASSERT_TRUE(json.getObject("op_counts"));
  EXPECT_EQ(json.getObject("op_counts")->getInteger("off.matmul"), 1);
}

TEST(ModelStats, LayerIndicesComeFromHuggingFaceNames) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module = parse(context, R"mlir(
    func.func @f() {
      %a = off.param "model.layers.0.mlp.up_proj.weight" {trainable} : tensor<4xf32>
      %b = off.param "model.layers.0.mlp.down_proj.weight" {trainable} : tensor<4xf32>
      %c = off.param "model.layers.11.input_layernorm.weight" {trainable} : tensor<4xf32>
      %d = off.param "model.norm.weight" {trainable} : tensor<4xf32>
      %e = off.param "encoder_layers.3.x" {trainable} : tensor<4xf32>
      return
    })mlir");
  ASSERT_TRUE(module);
  EXPECT_EQ(llvm::cantFail(computeModelStats(*module)).layers, 2); // indices 0 and 11
}

} // namespace

TEST(ModelStats, AnOpWithoutAFlopRuleIsAnErrorNotZero) {
  MLIRContext context;
  context.allowUnregisteredDialects();
  OwningOpRef<ModuleOp> module = parse(context, R"mlir(
    func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = "mystery.op"(%x) : (tensor<4xf32>) -> tensor<4xf32>
      %z = off.add %y, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      return %z : tensor<4xf32>
    })mlir");
  ASSERT_TRUE(module);
  llvm::Expected<ModelStats> stats = computeModelStats(*module);
  ASSERT_FALSE(stats);
  std::string message = llvm::toString(stats.takeError());
  EXPECT_NE(message.find("no FLOP rule for 'mystery.op'"), std::string::npos) << message;
}

TEST(ModelStats, EveryOffOpHasAFlopRule) {
  MLIRContext context;
  context.loadDialect<OffDialect, func::FuncDialect>();
  // Ops whose rule reads their operands are checked with real operands in
  // the tests above and in LlamaBuilderTest; every other one is created
  // bare (no operands, one result) and must have a rule, 0 or not.
  const std::set<std::string> readsOperands = {
      "off.matmul", "off.attention", "off.reduce_sum", "off.reduce_mean", "off.reduce_max",
      "off.cross_entropy"};
  OpBuilder builder(&context);
  Type tensor = RankedTensorType::get({4}, builder.getF32Type());
  int checked = 0;
  for (RegisteredOperationName name : context.getRegisteredOperations()) {
    if (name.getDialectNamespace() != "off" ||
        readsOperands.count(name.getStringRef().str()))
      continue;
    OperationState state(builder.getUnknownLoc(), name);
    state.addTypes(tensor);
    Operation *op = Operation::create(state);
    EXPECT_TRUE(opFlops(op).has_value()) << name.getStringRef().str() << " has no FLOP rule";
    op->destroy();
    ++checked;
  }
  EXPECT_GT(checked, 40);
}
