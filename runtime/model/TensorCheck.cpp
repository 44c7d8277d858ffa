#include "runtime/model/TensorCheck.h"

#include "runtime/model/ModelError.h"

#include <unordered_set>

namespace off::model {
namespace {

std::string describe(const Shape &shape, DType dtype) {
  return shapeToString(shape) + " " + std::string(safetensorsName(dtype));
}

bool isConvertibleFloat(DType dtype) {
  return dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16;
}

const std::string &where(const SafetensorsFile &file) { return file.path(); }
/// The index file, or the single file (never a bare directory).
const std::string &where(const SafetensorsSet &set) { return set.source(); }

template <typename Source>
std::vector<std::string> mismatches(const Source &file,
                                    const std::vector<ExpectedTensor> &expected,
                                    const TensorCheckOptions &options) {
  std::vector<std::string> problems;
  std::unordered_set<std::string> expectedNames;
  for (const ExpectedTensor &want : expected) {
    expectedNames.insert(want.name);
    const std::string prefix = where(file) + ": tensor '" + want.name + "': ";
    const TensorInfo *found = file.find(want.name);
    if (!found) {
      problems.push_back(prefix + "missing (expected " + describe(want.shape, want.dtype) +
                         ")");
      continue;
    }
    bool dtypeOk = found->dtype == want.dtype ||
                   (options.allowFloatConversion && want.dtype == DType::F32 &&
                    isConvertibleFloat(found->dtype));
    if (found->shape != want.shape || !dtypeOk)
      problems.push_back(prefix + "expected " + describe(want.shape, want.dtype) +
                         ", found " + describe(found->shape, found->dtype));
  }
  if (!options.allowExtra)
    for (const TensorInfo &tensor : file.tensors())
      if (!expectedNames.count(tensor.name))
        problems.push_back(where(file) + ": tensor '" + tensor.name +
                           "': not expected (found " +
                           describe(tensor.shape, tensor.dtype) + ")");
  return problems;
}

} // namespace

std::vector<std::string> findTensorMismatches(const SafetensorsFile &file,
                                              const std::vector<ExpectedTensor> &expected,
                                              const TensorCheckOptions &options) {
  return mismatches(file, expected, options);
}

std::vector<std::string> findTensorMismatches(const SafetensorsSet &set,
                                              const std::vector<ExpectedTensor> &expected,
                                              const TensorCheckOptions &options) {
  return mismatches(set, expected, options);
}

void throwProblems(const std::vector<std::string> &problems) {
  std::string message = std::to_string(problems.size()) +
                        (problems.size() == 1 ? " problem:" : " problems:");
  for (const std::string &line : problems)
    message += "\n  " + line;
  throw ModelIoError(message);
}

void checkTensors(const SafetensorsFile &file, const std::vector<ExpectedTensor> &expected,
                  const TensorCheckOptions &options) {
  std::vector<std::string> problems = findTensorMismatches(file, expected, options);
  if (!problems.empty())
    throwProblems(problems);
}

void checkTensors(const SafetensorsSet &set, const std::vector<ExpectedTensor> &expected,
                  const TensorCheckOptions &options) {
  std::vector<std::string> problems = findTensorMismatches(set, expected, options);
  if (!problems.empty())
    throwProblems(problems);
}

} // namespace off::model
