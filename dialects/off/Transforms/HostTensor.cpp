//===- HostTensor.cpp - small host tensors for constant folding -----------===//

#include "dialects/off/Transforms/HostTensor.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>

using namespace mlir;
using namespace mlir::off;

HostTensor::HostTensor(RankedTensorType tensorType)
    : type(tensorType), isFloatType(isa<FloatType>(tensorType.getElementType())),
      numElements(tensorType.getNumElements()) {
  if (isFloatType)
    floats.assign(numElements, 0.0);
  else
    ints.assign(numElements, 0);
}

double HostTensor::roundToFloatType(Type elementType, double value) {
  if (elementType.isF64())
    return value;
  if (elementType.isF32())
    return static_cast<double>(static_cast<float>(value));
  auto floatType = cast<FloatType>(elementType);
  llvm::APFloat converted(value);
  bool losesInfo = false;
  converted.convert(floatType.getFloatSemantics(),
                    llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  converted.convert(llvm::APFloat::IEEEdouble(),
                    llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  return converted.convertToDouble();
}

int64_t HostTensor::wrapToIntType(Type elementType, int64_t value) {
  unsigned width = cast<IntegerType>(elementType).getWidth();
  if (width == 1)
    return value != 0 ? 1 : 0;
  if (width >= 64)
    return value;
  // Two's complement wrap, then sign-extend: signless integers are read as
  // signed everywhere in the off dialect.
  uint64_t mask = (uint64_t{1} << width) - 1;
  uint64_t bits = static_cast<uint64_t>(value) & mask;
  if (bits >> (width - 1))
    bits |= ~mask;
  return static_cast<int64_t>(bits);
}

double HostTensor::getFloat(int64_t i) const {
  return isFloatType ? floats[i] : static_cast<double>(ints[i]);
}

int64_t HostTensor::getInt(int64_t i) const {
  if (!isFloatType)
    return ints[i];
  double value = floats[i];
  if (std::isnan(value))
    return 0;
  return static_cast<int64_t>(std::trunc(value));
}

void HostTensor::setFloat(int64_t i, double value) {
  if (isFloatType)
    floats[i] = roundToFloatType(type.getElementType(), value);
  else
    ints[i] = wrapToIntType(type.getElementType(),
                            std::isnan(value) ? 0
                                              : static_cast<int64_t>(std::trunc(value)));
}

void HostTensor::setInt(int64_t i, int64_t value) {
  if (isFloatType)
    floats[i] = roundToFloatType(type.getElementType(), static_cast<double>(value));
  else
    ints[i] = wrapToIntType(type.getElementType(), value);
}

HostTensor HostTensor::reshaped(ArrayRef<int64_t> shape) const {
  HostTensor result = *this;
  result.type = RankedTensorType::get(shape, type.getElementType());
  return result;
}

SmallVector<int64_t> HostTensor::stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

std::optional<HostTensor> HostTensor::fromAttr(ElementsAttr attr) {
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  auto type = dyn_cast<RankedTensorType>(attr.getType());
  if (!dense || !type || !type.hasStaticShape())
    return std::nullopt;
  Type element = type.getElementType();
  if (!isa<FloatType, IntegerType>(element))
    return std::nullopt;
  HostTensor tensor(type);
  int64_t n = tensor.size();
  if (dense.isSplat()) {
    if (tensor.isFloat())
      tensor.floats.assign(n, dense.getSplatValue<APFloat>().convertToDouble());
    else
      tensor.ints.assign(
          n, wrapToIntType(element, dense.getSplatValue<APInt>().getSExtValue()));
    return tensor;
  }
  if (element.isF32()) {
    int64_t i = 0;
    for (float v : dense.getValues<float>())
      tensor.floats[i++] = v;
  } else if (element.isF64()) {
    int64_t i = 0;
    for (double v : dense.getValues<double>())
      tensor.floats[i++] = v;
  } else if (tensor.isFloat()) {
    int64_t i = 0;
    for (const APFloat &v : dense.getValues<APFloat>()) {
      APFloat wide = v;
      bool losesInfo = false;
      wide.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
                   &losesInfo);
      tensor.floats[i++] = wide.convertToDouble();
    }
  } else {
    int64_t i = 0;
    for (const APInt &v : dense.getValues<APInt>())
      tensor.ints[i++] = wrapToIntType(element, v.getBitWidth() == 1
                                                    ? static_cast<int64_t>(v.getZExtValue())
                                                    : v.getSExtValue());
  }
  return tensor;
}

DenseElementsAttr HostTensor::toAttr() const {
  Type element = type.getElementType();
  bool allEqual = true;
  for (int64_t i = 1; i < numElements && allEqual; ++i)
    allEqual = isFloatType ? (floats[i] == floats[0] ||
                              (std::isnan(floats[i]) && std::isnan(floats[0])))
                           : ints[i] == ints[0];
  auto elementAttr = [&](int64_t i) -> Attribute {
    if (isFloatType)
      return FloatAttr::get(element, floats[i]);
    return IntegerAttr::get(element, APInt(cast<IntegerType>(element).getWidth(),
                                           static_cast<uint64_t>(ints[i]),
                                           /*isSigned=*/true, /*implicitTrunc=*/true));
  };
  if (numElements > 0 && allEqual)
    return DenseElementsAttr::get(type, ArrayRef<Attribute>{elementAttr(0)});
  if (element.isF32()) {
    std::vector<float> values(floats.begin(), floats.end());
    return DenseElementsAttr::get(type, ArrayRef<float>(values));
  }
  if (element.isF64())
    return DenseElementsAttr::get(type, ArrayRef<double>(floats));
  if (element.isInteger(64))
    return DenseElementsAttr::get(type, ArrayRef<int64_t>(ints));
  if (element.isInteger(32)) {
    std::vector<int32_t> values(ints.begin(), ints.end());
    return DenseElementsAttr::get(type, ArrayRef<int32_t>(values));
  }
  if (element.isInteger(1)) {
    SmallVector<bool> values;
    for (int64_t v : ints)
      values.push_back(v != 0);
    return DenseElementsAttr::get(type, ArrayRef<bool>(values));
  }
  SmallVector<Attribute> values;
  values.reserve(numElements);
  for (int64_t i = 0; i < numElements; ++i)
    values.push_back(elementAttr(i));
  return DenseElementsAttr::get(type, values);
}

void mlir::off::forEachBroadcast(
    ArrayRef<int64_t> outShape, ArrayRef<ArrayRef<int64_t>> inShapes,
    llvm::function_ref<void(int64_t, ArrayRef<int64_t>)> body) {
  int64_t rank = outShape.size();
  int64_t total = 1;
  for (int64_t d : outShape)
    total *= d;
  if (total == 0)
    return;
  // Per input, the stride of each output dimension (0 where it broadcasts).
  SmallVector<SmallVector<int64_t>> strides;
  for (ArrayRef<int64_t> shape : inShapes) {
    SmallVector<int64_t> own = HostTensor::stridesOf(shape);
    SmallVector<int64_t> aligned(rank, 0);
    int64_t offset = rank - static_cast<int64_t>(shape.size());
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
      aligned[offset + d] = shape[d] == 1 ? 0 : own[d];
    strides.push_back(std::move(aligned));
  }
  SmallVector<int64_t> index(rank, 0);
  SmallVector<int64_t> offsets(inShapes.size(), 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    body(flat, offsets);
    // Odometer step: bump the last dimension, carry into earlier ones.
    for (int64_t d = rank - 1; d >= 0; --d) {
      ++index[d];
      for (size_t k = 0; k < offsets.size(); ++k)
        offsets[k] += strides[k][d];
      if (index[d] < outShape[d])
        break;
      for (size_t k = 0; k < offsets.size(); ++k)
        offsets[k] -= strides[k][d] * outShape[d];
      index[d] = 0;
    }
  }
}
