//===- OnnxModel.cpp - read, validate and decode an ONNX file -------------===//

#include "compiler/Import/OnnxModel.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/unknown_field_set.h>

#include <climits>
#include <cstring>

using namespace mlir;
using namespace mlir::off;
using namespace mlir::off::onnx_import;

Type onnx_import::elementTypeOf(int32_t onnxType, MLIRContext &context) {
  Builder b(&context);
  switch (onnxType) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::DOUBLE: return b.getF64Type();
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  case onnx::TensorProto::INT64: return b.getI64Type();
  case onnx::TensorProto::INT32: return b.getI32Type();
  case onnx::TensorProto::INT16: return b.getI16Type();
  case onnx::TensorProto::INT8: return b.getI8Type();
  case onnx::TensorProto::BOOL: return b.getI1Type();
  default: return nullptr;
  }
}

std::string onnx_import::onnxTypeName(int32_t onnxType) {
  if (onnx::TensorProto::DataType_IsValid(onnxType))
    return onnx::TensorProto::DataType_Name(
        static_cast<onnx::TensorProto::DataType>(onnxType));
  return "type " + std::to_string(onnxType);
}

std::string onnx_import::printable(llvm::StringRef text) {
  // Names in a damaged file can hold any bytes: keep messages valid UTF-8
  // (invalid sequences become U+FFFD) without control characters.
  std::string utf8 = llvm::json::isUTF8(text) ? text.str() : llvm::json::fixUTF8(text);
  std::string out;
  for (char c : utf8) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f)
      out += llvm::formatv("\\x{0:x-2}", static_cast<unsigned>(byte)).str();
    else
      out += c;
  }
  return out;
}

llvm::Error OnnxModelFile::error(const llvm::Twine &message) const {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 printable((filePath + ": " + message).str()));
}

namespace {

int64_t byteWidth(int32_t onnxType) {
  switch (onnxType) {
  case onnx::TensorProto::DOUBLE:
  case onnx::TensorProto::INT64: return 8;
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32: return 4;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
  case onnx::TensorProto::INT16: return 2;
  default: return 1;
  }
}

bool isOnnxDomain(llvm::StringRef domain) {
  return domain.empty() || domain == "ai.onnx";
}

/// Every node input is defined before the node (graph input, initializer, or
/// an earlier output): the graph is sorted and nothing was cut off.
llvm::Error checkDefinedBeforeUse(const OnnxModelFile &file) {
  const onnx::GraphProto &graph = file.graph();
  llvm::StringSet<> defined;
  for (const auto &input : graph.input())
    defined.insert(input.name());
  for (const auto &init : graph.initializer())
    defined.insert(init.name());
  for (const auto &node : graph.node()) {
    for (const std::string &input : node.input())
      if (!input.empty() && !defined.contains(input))
        return file.error("node '" + node.name() + "' (" + node.op_type() +
                          ") reads '" + input +
                          "', which no graph input, initializer or earlier node "
                          "defines (the file may be truncated or not sorted)");
    for (const std::string &output : node.output())
      if (!output.empty())
        defined.insert(output);
  }
  if (graph.output_size() == 0)
    return file.error("the graph has no outputs (the file may be truncated)");
  for (const auto &output : graph.output())
    if (!defined.contains(output.name()))
      return file.error("graph output '" + output.name() +
                        "' is not computed by any node (the file may be truncated)");
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::unique_ptr<OnnxModelFile>>
OnnxModelFile::load(llvm::StringRef path, std::string &notes,
                    std::optional<llvm::StringRef> contents) {
  std::unique_ptr<OnnxModelFile> file(new OnnxModelFile());
  file->filePath = path.str();
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  if (!contents) {
    auto read = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
    if (!read)
      return file->error("cannot read: " + read.getError().message());
    buffer = std::move(*read);
  }
  llvm::StringRef bytes = contents ? *contents : buffer->getBuffer();
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    return file->error("is larger than 2 GiB, more than one protobuf message can "
                       "hold; export the weights as external data");
  google::protobuf::io::CodedInputStream stream(
      reinterpret_cast<const uint8_t *>(bytes.data()), static_cast<int>(bytes.size()));
  stream.SetTotalBytesLimit(INT_MAX);
  if (!file->proto.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    return file->error("not an ONNX model: the protobuf data does not parse "
                       "(the file may be truncated, or of another format)");
  const onnx::ModelProto &model = file->proto;
  if (!model.has_graph() || model.graph().node_size() == 0)
    return file->error("not an ONNX model: it has no graph nodes (" +
                       llvm::Twine(bytes.size()) +
                       " bytes; the file may be truncated, or of another format)");
  bool found = false;
  bool onlyOnnxDomains = true;
  for (const auto &import : model.opset_import()) {
    if (isOnnxDomain(import.domain())) {
      file->onnxOpset = import.version();
      found = true;
    } else if (import.domain() != "ai.onnx.ml") {
      onlyOnnxDomains = false;
    }
  }
  if (!found)
    return file->error("declares no ONNX (ai.onnx) opset");
  if (file->onnxOpset < kMinOpset || file->onnxOpset > kMaxOpset)
    return file->error("uses ONNX opset " + llvm::Twine(file->onnxOpset) +
                       "; the importer reads opsets " + llvm::Twine(kMinOpset) +
                       " to " + llvm::Twine(kMaxOpset) +
                       " (re-export with opset_version in that range)");
  if (llvm::Error error = checkDefinedBeforeUse(*file))
    return std::move(error);

  int64_t maxOpset = libonnxMaxOpset(), maxIr = libonnxMaxIrVersion();
  std::string known = "libonnx knows opsets up to " + std::to_string(maxOpset) +
                      " and IR version " + std::to_string(maxIr);
  if (file->onnxOpset <= maxOpset && model.ir_version() <= maxIr && onlyOnnxDomains) {
    std::string message = runOnnxChecker(model);
    if (!message.empty())
      return file->error("rejected by onnx::checker: " + message);
    notes = "validated with onnx::checker and strict ONNX shape inference (" +
            known + ")";
  } else {
    notes = "opset " + std::to_string(file->onnxOpset) + ", IR version " +
            std::to_string(model.ir_version()) +
            (onlyOnnxDomains ? "" : ", non-ONNX domains") + " is beyond what " +
            known +
            ": onnx::checker and ONNX shape inference skipped; the importer's own "
            "checks and its static shape inference (from --shape) apply";
  }
  return file;
}

llvm::Expected<llvm::StringRef>
OnnxModelFile::externalBytes(const onnx::TensorProto &tensor, int64_t expectedBytes) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &entry : tensor.external_data()) {
    llvm::StringRef value = entry.value();
    if (entry.key() == "location")
      location = entry.value();
    else if ((entry.key() == "offset" && value.getAsInteger(10, offset)) ||
             (entry.key() == "length" && value.getAsInteger(10, length)))
      return error("initializer '" + tensor.name() + "': external data " +
                   entry.key() + " '" + value + "' is not a number");
  }
  if (location.empty())
    return error("initializer '" + tensor.name() +
                 "' is stored externally but names no location");
  // Only files beside the model (or below it) are read.
  bool escapes = llvm::sys::path::is_absolute(location);
  for (auto part = llvm::sys::path::begin(location),
            end = llvm::sys::path::end(location);
       part != end; ++part)
    escapes |= *part == "..";
  if (escapes)
    return error("initializer '" + tensor.name() + "': external data location '" +
                 location + "' must be a relative path inside the model's folder");
  auto &slot = externalFiles[location];
  llvm::SmallString<256> full(llvm::sys::path::parent_path(filePath));
  llvm::sys::path::append(full, location);
  if (!slot) {
    auto buffer = llvm::MemoryBuffer::getFile(full, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return error("initializer '" + tensor.name() + "': cannot read external data " +
                   full + ": " + buffer.getError().message());
    slot = std::move(*buffer);
  }
  if (length < 0)
    length = expectedBytes;
  int64_t available = static_cast<int64_t>(slot->getBufferSize());
  if (length != expectedBytes || offset < 0 || offset > available ||
      length > available - offset)
    return error("initializer '" + tensor.name() + "': external data " + full +
                 " [offset " + llvm::Twine(offset) + ", length " + llvm::Twine(length) +
                 "] does not hold its " + llvm::Twine(expectedBytes) + " bytes (file has " +
                 llvm::Twine(available) + ")");
  return slot->getBuffer().substr(offset, length);
}

int64_t onnx_import::onnxByteWidth(int32_t onnxType) { return byteWidth(onnxType); }

llvm::Expected<int64_t> OnnxModelFile::elementCount(const onnx::TensorProto &tensor) const {
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0 || (dim > 0 && count > (int64_t{1} << 40) / dim))
      return error("tensor '" + tensor.name() + "' has an invalid shape");
    count *= dim;
  }
  return count;
}

llvm::Expected<std::optional<llvm::StringRef>>
OnnxModelFile::rawBytes(const onnx::TensorProto &tensor) {
  auto count = elementCount(tensor);
  if (!count)
    return count.takeError();
  int64_t bytes = *count * byteWidth(tensor.data_type());
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    auto external = externalBytes(tensor, bytes);
    if (!external)
      return external.takeError();
    return std::optional<llvm::StringRef>(*external);
  }
  if (tensor.raw_data().empty() && *count != 0)
    return std::optional<llvm::StringRef>(); // typed fields
  if (static_cast<int64_t>(tensor.raw_data().size()) != bytes)
    return error("tensor '" + tensor.name() + "' holds " +
                 llvm::Twine(tensor.raw_data().size()) + " bytes of data, its shape needs " +
                 llvm::Twine(bytes));
  return std::optional<llvm::StringRef>(tensor.raw_data());
}

std::vector<std::pair<std::string, std::string>>
onnx_import::unknownMetadataOf(const google::protobuf::UnknownFieldSet &unknown,
                               int field) {
  std::vector<std::pair<std::string, std::string>> entries;
  for (int f = 0; f < unknown.field_count(); ++f) {
    const auto &item = unknown.field(f);
    onnx::StringStringEntryProto entry;
    if (item.number() == field &&
        item.type() == google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED &&
        entry.ParseFromString(item.length_delimited()))
      entries.emplace_back(entry.key(), entry.value());
  }
  return entries;
}

llvm::Expected<FloatElements>
OnnxModelFile::floatElements(const onnx::TensorProto &tensor, MLIRContext &context) {
  FloatElements elements;
  elements.dataType = tensor.data_type();
  auto count = elementCount(tensor);
  if (!count)
    return count.takeError();
  elements.count = *count;
  auto bytes = rawBytes(tensor);
  if (!bytes)
    return bytes.takeError();
  if (bytes->has_value()) {
    elements.raw = **bytes;
    return elements;
  }
  auto value = readTensor(tensor, context);
  if (!value)
    return value.takeError();
  elements.typed = std::make_shared<HostTensor>(std::move(*value));
  return elements;
}

double FloatElements::operator[](int64_t i) const {
  if (typed)
    return typed->getFloat(i);
  auto bits16 = [&] {
    uint16_t bits;
    std::memcpy(&bits, raw.data() + i * 2, 2);
    return llvm::APInt(16, bits);
  };
  switch (dataType) {
  case onnx::TensorProto::FLOAT: {
    float v;
    std::memcpy(&v, raw.data() + i * 4, 4);
    return v;
  }
  case onnx::TensorProto::DOUBLE: {
    double v;
    std::memcpy(&v, raw.data() + i * 8, 8);
    return v;
  }
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16: {
    llvm::APFloat value(dataType == onnx::TensorProto::FLOAT16 ? llvm::APFloat::IEEEhalf()
                                                                : llvm::APFloat::BFloat(),
                        bits16());
    bool losesInfo = false;
    value.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
                  &losesInfo);
    return value.convertToDouble();
  }
  default:
    return 0.0; // not a floating-point tensor: callers check the type first
  }
}

llvm::Expected<HostTensor> OnnxModelFile::readTensor(const onnx::TensorProto &tensor,
                                                     MLIRContext &context) {
  int32_t dataType = tensor.data_type();
  Type element = elementTypeOf(dataType, context);
  if (!element)
    return error("tensor '" + tensor.name() + "' has element type " +
                 onnxTypeName(dataType) + ", which off does not support");
  auto counted = elementCount(tensor);
  if (!counted)
    return counted.takeError();
  int64_t count = *counted;
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  HostTensor result(RankedTensorType::get(shape, element));
  int64_t width = byteWidth(dataType);
  auto bytes = rawBytes(tensor);
  if (!bytes)
    return bytes.takeError();
  bool fromBytes = bytes->has_value();
  llvm::StringRef raw = fromBytes ? **bytes : llvm::StringRef();
  auto fromBits = [&](const llvm::fltSemantics &semantics, uint64_t bits) {
    llvm::APFloat value(semantics, llvm::APInt(16, bits));
    bool losesInfo = false;
    value.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
                  &losesInfo);
    return value.convertToDouble();
  };
  auto decode = [&](int64_t i, uint64_t bits) {
    switch (dataType) {
    case onnx::TensorProto::FLOAT: {
      float v;
      uint32_t b = static_cast<uint32_t>(bits);
      std::memcpy(&v, &b, 4);
      result.setFloat(i, v);
      break;
    }
    case onnx::TensorProto::DOUBLE: {
      double v;
      std::memcpy(&v, &bits, 8);
      result.setFloat(i, v);
      break;
    }
    case onnx::TensorProto::FLOAT16:
      result.setFloat(i, fromBits(llvm::APFloat::IEEEhalf(), bits));
      break;
    case onnx::TensorProto::BFLOAT16:
      result.setFloat(i, fromBits(llvm::APFloat::BFloat(), bits));
      break;
    case onnx::TensorProto::INT32: result.setInt(i, static_cast<int32_t>(bits)); break;
    case onnx::TensorProto::INT16: result.setInt(i, static_cast<int16_t>(bits)); break;
    case onnx::TensorProto::INT8: result.setInt(i, static_cast<int8_t>(bits)); break;
    case onnx::TensorProto::BOOL: result.setInt(i, bits != 0); break;
    default: result.setInt(i, static_cast<int64_t>(bits)); break;
    }
  };
  if (fromBytes) {
    for (int64_t i = 0; i < count; ++i) {
      uint64_t bits = 0;
      std::memcpy(&bits, raw.data() + i * width, width); // little-endian host
      decode(i, bits);
    }
    return result;
  }
  // Typed fields: floats, doubles and int64 in their own; every narrower type
  // (including f16/bf16 bit patterns and bools) in int32_data.
  int64_t have = dataType == onnx::TensorProto::FLOAT    ? tensor.float_data_size()
                 : dataType == onnx::TensorProto::DOUBLE ? tensor.double_data_size()
                 : dataType == onnx::TensorProto::INT64  ? tensor.int64_data_size()
                                                         : tensor.int32_data_size();
  if (have != count)
    return error("tensor '" + tensor.name() + "' holds " + llvm::Twine(have) +
                 " values, its shape needs " + llvm::Twine(count));
  for (int64_t i = 0; i < count; ++i) {
    switch (dataType) {
    case onnx::TensorProto::FLOAT: result.setFloat(i, tensor.float_data(i)); break;
    case onnx::TensorProto::DOUBLE: result.setFloat(i, tensor.double_data(i)); break;
    case onnx::TensorProto::INT64: result.setInt(i, tensor.int64_data(i)); break;
    default: decode(i, static_cast<uint32_t>(tensor.int32_data(i))); break;
    }
  }
  return result;
}
