// AtomicFileWriter's output policy: a regular file is replaced whole (temp
// file and rename), anything else is written in place and never replaced.

#include "ModelTestUtil.h"

#include "runtime/model/FileIo.h"
#include "runtime/model/ModelError.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <stdexcept>
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


// ------------------------------------------------- files truncated while mapped
// A file truncated while mapped raises SIGBUS on every page past its new end;
// reads go through MappedFile's guard, which turns that into an error naming
// the file. These truncate for real (ftruncate) after the file is opened.

std::string pagesOf(char fill, size_t pages) { return std::string(pages * 4096, fill); }

void truncateTo(const std::string &path, off_t size) {
  ASSERT_EQ(::truncate(path.c_str(), size), 0) << path;
}

TEST(MappedFileGuard, AReadPastATruncationIsAnErrorNamingTheFile) {
  ScratchDir dir;
  const std::string path = dir.file("data.bin");
  testutil::writeBytes(path, pagesOf('x', 4));
  MappedFile file = MappedFile::open(path);
  std::string out(4096, '\0');
  file.read(4096, out.data(), out.size()); // intact: reads
  EXPECT_EQ(out, pagesOf('x', 1));
  truncateTo(path, 4096);
  for (int attempt = 0; attempt < 2; ++attempt) { // the guard holds after a fault
    try {
      file.read(2 * 4096, out.data(), out.size());
      FAIL() << "no error for a read past the truncation";
    } catch (const ModelIoError &error) {
      std::string what = error.what();
      EXPECT_NE(what.find(path + ": the file changed while it was being read: it had 16384 "
                                 "bytes when opened and it now has 4096 bytes"),
                std::string::npos)
          << what;
    }
  }
  file.read(0, out.data(), out.size()); // the page still in the file reads
  EXPECT_EQ(out, pagesOf('x', 1));
}

TEST(MappedFileGuard, GuardedRunsTheFunctionAndPassesItsErrorsOn) {
  ScratchDir dir;
  const std::string path = dir.file("data.bin");
  testutil::writeBytes(path, pagesOf('y', 2));
  MappedFile file = MappedFile::open(path);
  size_t sum = 0;
  file.guarded([&] {
    for (size_t i = 0; i < file.size(); ++i)
      sum += file.data()[i];
  });
  EXPECT_EQ(sum, size_t('y') * 8192);
  EXPECT_THROW(file.guarded([] { throw std::runtime_error("inner"); }), std::runtime_error);
  truncateTo(path, 0);
  volatile unsigned char sink = 0;
  EXPECT_THROW(file.guarded([&] { sink = file.data()[5000]; }), ModelIoError);
  (void)sink;
}

// The handler only takes faults inside a guard: an unguarded read of a
// truncated mapping still dies of SIGBUS, as it would without it.
TEST(MappedFileGuardDeathTest, AnUnguardedFaultStillKillsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ScratchDir dir;
  const std::string path = dir.file("data.bin");
  testutil::writeBytes(path, pagesOf('z', 2));
  EXPECT_EXIT(
      {
        MappedFile file = MappedFile::open(path);
        file.read(0, nullptr, 0);
        file.guarded([] {}); // installs the handler
        if (::truncate(path.c_str(), 0) != 0)
          std::_Exit(3);
        volatile unsigned char byte = file.data()[4096];
        (void)byte;
        std::_Exit(4);
      },
      ::testing::KilledBySignal(SIGBUS), "");
}

} // namespace
} // namespace off::model
