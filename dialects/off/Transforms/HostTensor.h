//===- HostTensor.h - small host tensors for constant folding ---*- C++ -*-===//
//
// The values that fold-shapes and the ONNX importer compute at compile time:
// shape vectors, position ids, masks, rope tables. Elements are held as double
// (float element types) or int64 (integer types; i1 as 0/1) and rounded to the
// element type after every write, so a folded f32 product is the f32 product.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_TRANSFORMS_HOSTTENSOR_H
#define OFF_TRANSFORMS_HOSTTENSOR_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::off {

class HostTensor {
public:
  HostTensor() = default;
  /// A zero-filled tensor of `type` (static shape; float or integer elements).
  explicit HostTensor(RankedTensorType type);

  /// The elements of a dense attribute; nullopt for element types we do not
  /// evaluate (complex, index, ...).
  static std::optional<HostTensor> fromAttr(ElementsAttr attr);
  /// A dense attribute of the tensor's type (a splat when all are equal).
  DenseElementsAttr toAttr() const;

  RankedTensorType getType() const { return type; }
  ArrayRef<int64_t> getShape() const { return type.getShape(); }
  int64_t getRank() const { return type.getRank(); }
  Type getElementType() const { return type.getElementType(); }
  bool isFloat() const { return isFloatType; }
  int64_t size() const { return numElements; }

  /// Element `i` (row-major) as a double or an int64 (converted when needed;
  /// floats to int truncate towards zero).
  double getFloat(int64_t i) const;
  int64_t getInt(int64_t i) const;
  /// Writes element `i`, rounded (floats) or wrapped (integers) to the type.
  void setFloat(int64_t i, double value);
  void setInt(int64_t i, int64_t value);

  /// The same elements under another static shape of equal size.
  HostTensor reshaped(ArrayRef<int64_t> shape) const;

  /// Row-major strides of a shape.
  static SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape);

  /// Rounds a double to the float type `type` (f16, bf16, f32, f64).
  static double roundToFloatType(Type type, double value);
  /// Wraps an integer to the width of `type` (i1 becomes 0/1).
  static int64_t wrapToIntType(Type type, int64_t value);

private:
  RankedTensorType type;
  bool isFloatType = false;
  int64_t numElements = 0;
  std::vector<double> floats;
  std::vector<int64_t> ints;
};

/// Calls `body(outIndex, inOffsets)` for each element of `outShape` in
/// row-major order, with the offset of the matching element in each input
/// shape under NumPy broadcasting (inputs aligned from the right).
void forEachBroadcast(ArrayRef<int64_t> outShape,
                      ArrayRef<ArrayRef<int64_t>> inShapes,
                      llvm::function_ref<void(int64_t, ArrayRef<int64_t>)> body);

} // namespace mlir::off

#endif // OFF_TRANSFORMS_HOSTTENSOR_H
