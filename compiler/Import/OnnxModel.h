//===- OnnxModel.h - an ONNX file read, validated, with external data -*- C++ -*-===//
//
// Internal to the ONNX importer. Parsing uses the protobuf schema only (it
// reads every opset); libonnx's checker and shape inference run in addition
// when the model is within what this libonnx knows (see OnnxChecker.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef OFF_COMPILER_IMPORT_ONNXMODEL_H
#define OFF_COMPILER_IMPORT_ONNXMODEL_H

#include "dialects/off/Transforms/HostTensor.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include "onnx/onnx_pb.h"

#include <google/protobuf/unknown_field_set.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlir::off::onnx_import {

/// The oldest and newest ONNX-domain opsets the importer reads. The newest
/// is what the onnx 1.23 schema defines; ops whose meaning changed across
/// these versions are handled per version.
constexpr int64_t kMinOpset = 13;
constexpr int64_t kMaxOpset = 25;

/// The elements of a floating-point tensor as doubles, decoded one at a time
/// on demand: a check that stops at the first element that fails reads a
/// few bytes of a large weight, not the weight.
class FloatElements {
public:
  int64_t size() const { return count; }
  double operator[](int64_t i) const;

private:
  friend class OnnxModelFile;
  int32_t dataType = 0;
  int64_t count = 0;
  llvm::StringRef raw;                // raw_data or external data
  std::shared_ptr<HostTensor> typed;  // typed fields (small tensors)
};

class OnnxModelFile {
public:
  /// Reads and parses `path` and checks what the importer relies on: a
  /// graph, an ONNX-domain opset in [kMinOpset, kMaxOpset], defined inputs
  /// for every node. Runs libonnx's checker and shape inference when the
  /// model's opsets and IR version are within libonnx's; `notes` receives
  /// one line saying which validation ran. With `contents` the model is
  /// parsed from those bytes (`path` still names it and locates external
  /// data).
  static llvm::Expected<std::unique_ptr<OnnxModelFile>>
  load(llvm::StringRef path, std::string &notes,
       std::optional<llvm::StringRef> contents = std::nullopt);

  const onnx::ModelProto &model() const { return proto; }
  const onnx::GraphProto &graph() const { return proto.graph(); }
  llvm::StringRef path() const { return filePath; }
  int64_t opset() const { return onnxOpset; }

  /// The elements of a tensor (inline typed fields, raw_data, or a range of
  /// an external data file, opened on first use relative to the model).
  llvm::Expected<HostTensor> readTensor(const onnx::TensorProto &tensor,
                                        MLIRContext &context);

  /// The little-endian bytes of a tensor stored as raw_data or external data
  /// (checked against its shape); nullopt when it uses the typed fields.
  llvm::Expected<std::optional<llvm::StringRef>> rawBytes(const onnx::TensorProto &tensor);
  /// A floating-point tensor's elements, decoded lazily (see FloatElements).
  llvm::Expected<FloatElements> floatElements(const onnx::TensorProto &tensor,
                                              MLIRContext &context);
  /// The number of elements of a tensor's shape (an error when invalid).
  llvm::Expected<int64_t> elementCount(const onnx::TensorProto &tensor) const;

  /// The whole of an external data file already opened by rawBytes or
  /// readTensor (empty when it was not).
  llvm::StringRef externalFileBytes(llvm::StringRef location) const {
    auto found = externalFiles.find(location);
    return found == externalFiles.end() || !found->second ? llvm::StringRef()
                                                          : found->second->getBuffer();
  }

  /// An error message that starts with the model's path.
  llvm::Error error(const llvm::Twine &message) const;

private:
  OnnxModelFile() = default;
  llvm::Expected<llvm::StringRef> externalBytes(const onnx::TensorProto &tensor,
                                                int64_t expectedBytes);

  onnx::ModelProto proto;
  std::string filePath;
  int64_t onnxOpset = 0;
  llvm::StringMap<std::unique_ptr<llvm::MemoryBuffer>> externalFiles;
};

/// The metadata_props (key, value) entries of a message whose field
/// `field` is newer than this libonnx's schema, so that protobuf keeps it
/// among the unknown fields (NodeProto 9, ValueInfoProto 4).
std::vector<std::pair<std::string, std::string>>
unknownMetadataOf(const google::protobuf::UnknownFieldSet &unknown, int field);
template <typename Proto>
std::vector<std::pair<std::string, std::string>> unknownMetadata(const Proto &message,
                                                                 int field) {
  return unknownMetadataOf(message.unknown_fields(), field);
}

/// `text` for a message: invalid UTF-8 replaced, control characters as \xNN.
std::string printable(llvm::StringRef text);

/// The MLIR element type of an ONNX TensorProto.DataType, or null.
Type elementTypeOf(int32_t onnxType, MLIRContext &context);
/// Bytes per element of an ONNX data type as stored in raw_data.
int64_t onnxByteWidth(int32_t onnxType);
/// Its name for messages ("FLOAT", "INT64", ...).
std::string onnxTypeName(int32_t onnxType);

/// Runs onnx::checker::check_model and strict ONNX shape inference (on a
/// copy). Returns "" or the checker's message. Compiled with exceptions.
std::string runOnnxChecker(const onnx::ModelProto &model);

/// The newest ONNX-domain opset and IR version this libonnx knows.
int64_t libonnxMaxOpset();
int64_t libonnxMaxIrVersion();

} // namespace mlir::off::onnx_import

#endif // OFF_COMPILER_IMPORT_ONNXMODEL_H
