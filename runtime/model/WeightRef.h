// Weights a plan references in place (plan.proto WeightSource): an ONNX export's external data file
// (read where it is, never copied) or the weights file `offc compile` wrote
// beside plan.bin for initializers stored inside the .onnx file. The plan
// records, per parameter, the file, the byte range, the stored dtype and
// layout, the file's size and a checksum of a sample of the bytes; reading
// checks all of them before converting, so a replaced or re-exported file is
// an error naming it, not a silent different model.
#pragma once

#include "runtime/common/DType.h"

#include <cstdint>
#include <string>
#include <vector>

namespace off::model {

struct WeightRef {
  std::string name;        // the parameter (for messages)
  std::string path;        // the file, as the reader should open it
  uint64_t offset = 0;     // first byte of the tensor in the file
  DType dtype = DType::F32; // as stored: F32, F16, BF16 or F64
  std::vector<int64_t> storedShape; // row-major, as stored
  bool transposed = false; // stored [K, N]; the parameter is [N, K]
  uint64_t fileSize = 0;   // the file's size when the plan was made
  uint64_t checksum = 0;   // off::sampleChecksum of the tensor's bytes
};

/// Reads the tensor into `count` fp32 values at dst ([N, K] when transposed),
/// converting F16/BF16/F64. Throws ModelIoError naming the file and the
/// parameter when the file is missing, has another size, is too short for
/// the range, or the sample checksum differs.
void readWeightRef(const WeightRef &ref, float *dst, uint64_t count);

} // namespace off::model
