// Helpers for the NVMe engine tests: temporary directories, small mounts
// (root only), random bytes, and reading a file back without the engine
// (the independent reference for what is on disk).
#pragma once

#include "runtime/io/IoEngine.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <string>
#include <sys/mount.h>
#include <unistd.h>
#include <vector>

namespace off::io::test {

/// A fresh directory under /tmp (ext4 here: O_DIRECT works), removed at the
/// end of the test.
class TempDir {
public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "off-io-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &name) const {
    return path_ + "/" + name;
  }

private:
  std::string path_;
};

/// mount(2) of a small filesystem on a fresh directory; unmounted at the end.
/// ok() is false when not root or the kernel refuses (the test then skips).
class ScopedMount {
public:
  ScopedMount(const char *type, const std::string &options,
              unsigned long flags = 0) {
    if (geteuid() != 0)
      return;
    ok_ = mount(type, dir_.path().c_str(), type, flags, options.c_str()) == 0;
  }
  ~ScopedMount() {
    if (ok_)
      umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }
  const std::string &path() const { return dir_.path(); }
  std::string operator/(const std::string &name) const { return dir_ / name; }

private:
  TempDir dir_;
  bool ok_ = false;
};

inline std::vector<std::byte> randomBytes(size_t n, std::mt19937_64 &rng) {
  std::vector<std::byte> bytes(n);
  for (size_t i = 0; i < n; ++i)
    bytes[i] = static_cast<std::byte>(rng() & 0xff);
  return bytes;
}

/// The file's bytes through an ordinary buffered stream (not the engine).
inline std::vector<std::byte> readWholeFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

/// Index of the first differing byte, or -1: clearer failures than EXPECT_EQ
/// on megabyte vectors.
inline long firstDifference(const std::byte *a, const std::byte *b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i])
      return static_cast<long>(i);
  return -1;
}

/// The two modes every engine test runs in.
inline EngineOptions optionsFor(bool forceThreadPool) {
  EngineOptions options;
  options.forceThreadPool = forceThreadPool;
  options.queueDepth = 8;
  options.blockSize = 64 << 10; // small blocks: requests span many chunks
  return options;
}

inline std::string modeName(const testing::TestParamInfo<bool> &info) {
  return info.param ? "ThreadPool" : "IoUring";
}

} // namespace off::io::test
