// FileChecks: what a path is before it is read or written.

#include "runtime/common/FileChecks.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace off {
namespace {

namespace fs = std::filesystem;

class FileChecks : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("filechecks-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    file_ = (dir_ / "file.bin").string();
    std::FILE *f = std::fopen(file_.c_str(), "w");
    std::fputs("data", f);
    std::fclose(f);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string file_;
};

TEST_F(FileChecks, KindsOfPaths) {
  EXPECT_EQ(pathKind(file_), PathKind::Regular);
  EXPECT_EQ(pathKind(dir_.string()), PathKind::Directory);
  EXPECT_EQ(pathKind((dir_ / "missing").string()), PathKind::Missing);
  EXPECT_EQ(pathKind("/dev/null"), PathKind::CharDevice);
  std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_EQ(pathKind(fifo), PathKind::Fifo);
}

TEST_F(FileChecks, InputsMustBeRegularFiles) {
  EXPECT_EQ(inputFileProblem(file_), "");
  EXPECT_EQ(inputFileProblem(dir_.string()), dir_.string() + ": is a directory, not a file");
  std::string fifo = (dir_ / "fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_EQ(inputFileProblem(fifo), fifo + ": is a FIFO, not a regular file");
  EXPECT_EQ(inputFileProblem("/dev/zero"), "/dev/zero: is a character device, not a regular file");
  std::string missing = (dir_ / "missing").string();
  EXPECT_EQ(inputFileProblem(missing), missing + ": cannot open: No such file or directory");
}

TEST_F(FileChecks, OutputTargets) {
  OutputTarget regular = outputTarget(file_);
  EXPECT_EQ(regular.error, "");
  EXPECT_FALSE(regular.direct);
  EXPECT_EQ(regular.path, file_);
  OutputTarget fresh = outputTarget((dir_ / "new.bin").string());
  EXPECT_FALSE(fresh.direct);
  EXPECT_EQ(fresh.error, "");
  OutputTarget device = outputTarget("/dev/null");
  EXPECT_TRUE(device.direct);
  EXPECT_EQ(device.error, "");
  EXPECT_EQ(outputTarget(dir_.string()).error, dir_.string() + ": is a directory, not a file");
  // A symlink to a regular file: the temporary file goes beside the target
  // and the rename replaces the target, so the link stays a link.
  std::string link = (dir_ / "link").string();
  fs::create_symlink(file_, link);
  OutputTarget linked = outputTarget(link);
  EXPECT_FALSE(linked.direct);
  EXPECT_EQ(fs::path(linked.path), fs::canonical(file_));
}

TEST_F(FileChecks, AnOutputThatIsAnInputIsRefused) {
  EXPECT_EQ(outputIsInputProblem(file_, {file_}),
            file_ + " is also an input: refusing to overwrite it");
  std::string other = (dir_ / "." / "file.bin").string();
  EXPECT_EQ(outputIsInputProblem(other, {file_}),
            other + " is the same file as the input " + file_ + ": refusing to overwrite it");
  std::string hard = (dir_ / "hard").string();
  fs::create_hard_link(file_, hard);
  EXPECT_NE(outputIsInputProblem(hard, {file_}), "");
  EXPECT_EQ(outputIsInputProblem((dir_ / "new.bin").string(), {file_}), "");
  EXPECT_EQ(outputIsInputProblem(file_, {(dir_ / "missing").string(), ""}), "");
  // Writing a device never destroys an input, even one read from it.
  EXPECT_EQ(outputIsInputProblem("/dev/null", {"/dev/null"}), "");
}

} // namespace
} // namespace off
