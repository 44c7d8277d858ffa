// Checking a safetensors file against the tensors a run expects (from the
// plan: name, shape, dtype), reporting every mismatch rather than the first.
#pragma once

#include "runtime/model/Safetensors.h"
#include "runtime/model/SafetensorsSet.h"

#include <string>
#include <vector>

namespace off::model {

struct ExpectedTensor {
  std::string name;
  Shape shape;
  DType dtype = DType::F32;
};

struct TensorCheckOptions {
  /// Tensors in the file that are not expected are ignored (e.g. an HF
  /// checkpoint with buffers the plan does not use) rather than reported.
  bool allowExtra = false;
  /// An expected F32 tensor may be stored as BF16 or F16 (loaded with
  /// SafetensorsFile::readFloat32).
  bool allowFloatConversion = false;
};

/// One line per problem, each naming the file and tensor:
///   "<file>: tensor 'x': missing (expected [64, 64] F32)"
///   "<file>: tensor 'x': expected [64, 64] F32, found [64, 32] BF16"
///   "<file>: tensor 'y': not expected (found [3] I64)"
/// Empty when the file matches.
std::vector<std::string> findTensorMismatches(const SafetensorsFile &file,
                                              const std::vector<ExpectedTensor> &expected,
                                              const TensorCheckOptions &options = {});

/// The same for a single file or shards (a tensor's problem names the
/// index or the file, `set.source()`).
std::vector<std::string> findTensorMismatches(const SafetensorsSet &set,
                                              const std::vector<ExpectedTensor> &expected,
                                              const TensorCheckOptions &options = {});

/// Throws ModelIoError listing every mismatch (first line: how many).
void checkTensors(const SafetensorsFile &file, const std::vector<ExpectedTensor> &expected,
                  const TensorCheckOptions &options = {});
void checkTensors(const SafetensorsSet &set, const std::vector<ExpectedTensor> &expected,
                  const TensorCheckOptions &options = {});

/// Joins problem lines into one ModelIoError: "N problem(s):\n  line\n  ...".
[[noreturn]] void throwProblems(const std::vector<std::string> &problems);

} // namespace off::model
