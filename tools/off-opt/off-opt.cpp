// off-opt: mlir-opt with the off dialect and its passes; drives the lit tests.

#include "dialects/off/IR/OffDialect.h"
#include "dialects/off/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::off::OffDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::tensor::TensorDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::off::registerOffPasses();
  mlir::off::registerOffCompilePipeline();
  mlir::off::registerOffImportPipeline();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "off optimizer driver: the off dialect and its passes\n",
      registry));
}
