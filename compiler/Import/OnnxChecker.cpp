//===- OnnxChecker.cpp - libonnx's checker and shape inference ------------===//
//
// libonnx reports problems by throwing, so this one file is compiled with
// exceptions (OnnxImport.cmake) and turns every exception into a message;
// nothing thrown here crosses into the rest of the compiler, which is built
// without exceptions.
//
//===----------------------------------------------------------------------===//

#include "compiler/Import/OnnxModel.h"

#include "onnx/checker.h"
#include "onnx/defs/schema.h"
#include "onnx/shape_inference/implementation.h"

#include <exception>

namespace mlir::off::onnx_import {

std::string runOnnxChecker(const onnx::ModelProto &model) {
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto copy = model;
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1,
                                        /*data_prop=*/false);
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(),
                                       options);
  } catch (const std::exception &e) {
    // One line: libonnx separates its context with blank lines.
    std::string message;
    for (char c : std::string(e.what()))
      if (c != '\n')
        message += c;
      else if (!message.empty() && message.back() != ' ')
        message += ' ';
    while (!message.empty() && message.back() == ' ')
      message.pop_back();
    return message.empty() ? "rejected by the ONNX checker" : message;
  } catch (...) {
    return "rejected by the ONNX checker (unknown error)";
  }
  return "";
}

int64_t libonnxMaxOpset() {
  try {
    const auto &map = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
    auto found = map.find(onnx::ONNX_DOMAIN);
    return found == map.end() ? 0 : found->second.second;
  } catch (...) {
    return 0;
  }
}

int64_t libonnxMaxIrVersion() { return onnx::Version::IR_VERSION; }

} // namespace mlir::off::onnx_import
