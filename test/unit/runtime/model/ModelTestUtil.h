// Shared helpers of the off_model tests: a scratch directory per test and
// byte-level file writers that follow the formats' specs directly (so the
// readers are tested against files our writers did not make).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

namespace off::model::testutil {

/// A fresh directory under the system temp dir, removed afterwards.
class ScratchDir {
public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "off-model-test-XXXXXX").string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (!mkdtemp(buffer.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = buffer.data();
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

inline void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

inline std::string readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void appendLe32(std::string &out, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out += char((value >> (8 * i)) & 0xff);
}

inline void appendLe64(std::string &out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out += char((value >> (8 * i)) & 0xff);
}

/// A safetensors file by the spec: 8-byte LE length, header text, data.
inline std::string safetensorsBytes(const std::string &header, const std::string &data) {
  std::string out;
  appendLe64(out, header.size());
  return out + header + data;
}

template <typename T> std::string rawBytes(const std::vector<T> &values) {
  std::string out(values.size() * sizeof(T), '\0');
  if (!values.empty())
    std::memcpy(out.data(), values.data(), out.size());
  return out;
}

/// An llm.c token file by the spec: 256 LE int32 (magic, version, count,
/// zeros) then the tokens as uint16 (version 1) or uint32 (version 2).
inline std::string llmcTokenBytes(const std::vector<uint32_t> &tokens, int32_t version = 1,
                                  int32_t magic = 20240520,
                                  std::optional<int64_t> count = std::nullopt) {
  std::string out;
  appendLe32(out, uint32_t(magic));
  appendLe32(out, uint32_t(version));
  appendLe32(out, uint32_t(count.value_or(int64_t(tokens.size()))));
  for (int i = 3; i < 256; ++i)
    appendLe32(out, 0);
  for (uint32_t token : tokens) {
    out += char(token & 0xff);
    out += char((token >> 8) & 0xff);
    if (version == 2) {
      out += char((token >> 16) & 0xff);
      out += char((token >> 24) & 0xff);
    }
  }
  return out;
}

/// Runs `fn`, expects it to throw E, and returns what() (empty on failure).
template <typename E, typename Fn> std::string errorOf(Fn &&fn) {
  try {
    fn();
  } catch (const E &error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

} // namespace off::model::testutil
