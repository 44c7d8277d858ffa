// AtomicFileWriter's output policy: a regular file is replaced whole (temp
// file and rename), anything else is written in place and never replaced.

#include "ModelTestUtil.h"

#include "runtime/model/FileIo.h"
#include "runtime/model/ModelError.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace off::model {
namespace {

using testutil::ScratchDir;

TEST(AtomicFileWriter, AFifoIsWrittenInPlaceNotReplaced) {
  ScratchDir dir;
  const std::string fifo = dir.file("out.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  std::string received;
  std::thread reader([&] {
    int fd = ::open(fifo.c_str(), O_RDONLY);
    char buffer[64];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0)
      received.append(buffer, size_t(got));
    ::close(fd);
  });
  writeFileAtomically(fifo, "through the pipe");
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  struct stat info{};
  ASSERT_EQ(::stat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode)) << "the FIFO was replaced by a regular file";
}

TEST(AtomicFileWriter, ADirectoryIsRefused) {
  ScratchDir dir;
  try {
    writeFileAtomically(dir.path(), "x");
    FAIL() << "wrote over a directory";
  } catch (const ModelIoError &error) {
    EXPECT_EQ(std::string(error.what()), dir.path() + ": is a directory, not a file");
  }
}

TEST(AtomicFileWriter, ASymlinkStaysALinkToTheNewContents) {
  ScratchDir dir;
  writeFileAtomically(dir.file("target"), "old");
  ASSERT_EQ(::symlink("target", dir.file("link").c_str()), 0);
  writeFileAtomically(dir.file("link"), "new");
  struct stat info{};
  ASSERT_EQ(::lstat(dir.file("link").c_str(), &info), 0);
  EXPECT_TRUE(S_ISLNK(info.st_mode));
  EXPECT_EQ(readTextFile(dir.file("target")), "new");
}

} // namespace
} // namespace off::model
