// Test-only: runs one CPU kernel, through the kernel table, on raw
// little-endian files, so that test/e2e/cpu_kernels_vs_torch.py can compare
// it with PyTorch.
//
//   cpu_kernel_driver OP [--threads N] [--attr NAME=KIND:VALUE]...
//                        [--in DTYPE:SHAPE:PATH]... [--out DTYPE:SHAPE:PATH]...
//   KIND: i (integer), f (float), b (0/1), ints (comma-separated)
//   DTYPE: f32 bf16 i32 i64;  SHAPE: 2x4x8 or "scalar"
#include "runtime/common/Parallel.h"
#include "runtime/cpu/CpuBackend.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

using off::DType;
using off::backend::TensorArg;

namespace {

std::vector<std::string> split(const std::string &text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at - start));
    if (at == std::string::npos)
      return parts;
    start = at + 1;
  }
}

DType parseDtype(const std::string &name) {
  if (name == "f32") return DType::F32;
  if (name == "bf16") return DType::BF16;
  if (name == "i32") return DType::I32;
  if (name == "i64") return DType::I64;
  throw std::invalid_argument("unknown dtype '" + name + "'");
}

struct FileTensor {
  TensorArg arg;
  std::string path;
  std::vector<std::byte> storage;
};

// DTYPE:SHAPE:PATH (the path may itself contain ':').
FileTensor parseTensor(const std::string &spec) {
  size_t first = spec.find(':'), second = spec.find(':', first + 1);
  if (first == std::string::npos || second == std::string::npos)
    throw std::invalid_argument("tensor spec '" + spec + "' is not DTYPE:SHAPE:PATH");
  FileTensor t;
  t.arg.dtype = parseDtype(spec.substr(0, first));
  std::string shape = spec.substr(first + 1, second - first - 1);
  if (shape != "scalar")
    for (const std::string &d : split(shape, 'x'))
      t.arg.shape.push_back(std::stoll(d));
  t.path = spec.substr(second + 1);
  t.storage.resize(t.arg.bytes());
  t.arg.data = t.storage.data();
  return t;
}

off::backend::AttrValue parseAttr(const std::string &kindValue) {
  size_t colon = kindValue.find(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("attribute value '" + kindValue + "' is not KIND:VALUE");
  std::string kind = kindValue.substr(0, colon), value = kindValue.substr(colon + 1);
  if (kind == "i")
    return int64_t(std::stoll(value));
  if (kind == "f")
    return std::stod(value);
  if (kind == "b")
    return value == "1" || value == "true";
  if (kind == "ints") {
    std::vector<int64_t> ints;
    if (!value.empty())
      for (const std::string &v : split(value, ','))
        ints.push_back(std::stoll(v));
    return ints;
  }
  throw std::invalid_argument("unknown attribute kind '" + kind + "'");
}

} // namespace

int main(int argc, char **argv) try {
  if (argc < 2)
    throw std::invalid_argument("usage: cpu_kernel_driver OP [--threads N] [--attr N=K:V] "
                                "[--in DTYPE:SHAPE:PATH] [--out DTYPE:SHAPE:PATH]");
  std::string op = argv[1];
  off::backend::KernelAttrs attrs;
  std::vector<FileTensor> inputs, outputs;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc)
      throw std::invalid_argument(flag + " needs a value");
    std::string value = argv[++i];
    if (flag == "--threads") {
      off::setDefaultThreadCount(unsigned(std::stoul(value)));
    } else if (flag == "--attr") {
      size_t eq = value.find('=');
      if (eq == std::string::npos)
        throw std::invalid_argument("--attr wants NAME=KIND:VALUE, got '" + value + "'");
      attrs.set(value.substr(0, eq), parseAttr(value.substr(eq + 1)));
    } else if (flag == "--in") {
      inputs.push_back(parseTensor(value));
      FileTensor &t = inputs.back();
      std::ifstream in(t.path, std::ios::binary);
      if (!in.read(reinterpret_cast<char *>(t.storage.data()), std::streamsize(t.storage.size())))
        throw std::runtime_error(t.path + ": cannot read " + std::to_string(t.storage.size()) +
                                 " bytes");
    } else if (flag == "--out") {
      outputs.push_back(parseTensor(value));
    } else {
      throw std::invalid_argument("unknown flag '" + flag + "'");
    }
  }
  std::vector<TensorArg> in, out;
  for (const FileTensor &t : inputs)
    in.push_back(t.arg);
  for (const FileTensor &t : outputs)
    out.push_back(t.arg);
  off::cpu::cpuKernels().call(op, in, out, attrs);
  for (const FileTensor &t : outputs) {
    std::ofstream file(t.path, std::ios::binary);
    if (!file.write(reinterpret_cast<const char *>(t.storage.data()),
                    std::streamsize(t.storage.size())))
      throw std::runtime_error(t.path + ": cannot write");
  }
  return 0;
} catch (const std::exception &e) {
  std::fprintf(stderr, "cpu_kernel_driver: %s\n", e.what());
  return 1;
}
