#include "runtime/model/FileIo.h"

#include "runtime/common/FileChecks.h"
#include "runtime/model/ModelError.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <csetjmp>
#include <csignal>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace off::model {

void throwFileError(const std::string &path, const std::string &what) {
  throw ModelIoError(path + ": " + what);
}

void throwSystemError(const std::string &path, const std::string &what, int err) {
  throw ModelIoError(path + ": " + what + ": " + std::strerror(err));
}

namespace {

// The injected failure: armed flag and the bytes still allowed before it.
std::atomic<bool> gFailureArmed{false};
std::atomic<int64_t> gBytesBeforeFailure{0};
std::atomic<int> gFailureErrno{0};

std::atomic<uint64_t> gTempCounter{0};

std::string baseName(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

void injectWriteFailureAfter(uint64_t bytes, int err) {
  gBytesBeforeFailure = int64_t(bytes);
  gFailureErrno = err;
  gFailureArmed = true;
}

void clearInjectedWriteFailure() { gFailureArmed = false; }

std::string parentDirectory(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

// ---------------------------------------------------------------- MappedFile

MappedFile MappedFile::open(const std::string &path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat refuses it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    throwSystemError(path, "cannot open", errno);
  struct stat info{};
  if (::fstat(fd, &info) != 0) {
    int err = errno;
    ::close(fd);
    throwSystemError(path, "cannot stat", err);
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    throwFileError(path, S_ISDIR(info.st_mode)    ? "is a directory, not a file"
                         : S_ISFIFO(info.st_mode) ? "is a FIFO, not a regular file"
                         : S_ISCHR(info.st_mode) || S_ISBLK(info.st_mode)
                             ? "is a device, not a regular file"
                             : "is not a regular file");
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = size_t(info.st_size);
  if (file.size_ > 0) {
    void *addr = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throwSystemError(path, "cannot map " + std::to_string(file.size_) + " bytes",
                       err);
    }
    file.data_ = static_cast<const unsigned char *>(addr);
    file.owned_ = true;
  }
  ::close(fd); // the mapping keeps the file alive
  return file;
}

// The SIGBUS guard: a process-wide handler and, per thread, the innermost
// guarded() call with the bytes it covers. A SIGBUS at an address one of this
// thread's guards covers jumps back into that guarded() call; any other goes
// to the handler there was before, or kills the process as it would have.
namespace {

struct MapGuard {
  const unsigned char *begin, *end;
  sigjmp_buf jump;
  MapGuard *outer;
};

// initial-exec: read from a signal handler, where the lazy TLS allocation of
// the general model is not safe.
__attribute__((tls_model("initial-exec"))) thread_local MapGuard *tInnermostGuard = nullptr;

struct sigaction gPreviousSigbus;
std::once_flag gSigbusInstalled;

void onSigbus(int signal, siginfo_t *info, void *context) {
  const auto *address = static_cast<const unsigned char *>(info->si_addr);
  for (MapGuard *guard = tInnermostGuard; guard; guard = guard->outer)
    if (address >= guard->begin && address < guard->end)
      siglongjmp(guard->jump, 1);
  if (gPreviousSigbus.sa_flags & SA_SIGINFO) {
    gPreviousSigbus.sa_sigaction(signal, info, context);
    return;
  }
  if (gPreviousSigbus.sa_handler != SIG_DFL && gPreviousSigbus.sa_handler != SIG_IGN) {
    gPreviousSigbus.sa_handler(signal);
    return;
  }
  // Not ours: back to the default action; the faulting access runs again and
  // ends the process as it would have without us.
  ::signal(SIGBUS, SIG_DFL);
}

void installSigbusHandler() {
  std::call_once(gSigbusInstalled, [] {
    struct sigaction action{};
    action.sa_sigaction = onSigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, &gPreviousSigbus);
  });
}

[[noreturn]] void throwChangedUnderneath(const std::string &path, size_t mappedSize) {
  struct stat info{};
  std::string now = ::stat(path.c_str(), &info) == 0
                        ? "it now has " + std::to_string(info.st_size) + " bytes"
                        : std::string("it is now gone");
  throwFileError(path, "the file changed while it was being read: it had " +
                           std::to_string(mappedSize) + " bytes when opened and " + now +
                           " (truncated or rewritten in place by another program?)");
}

} // namespace

void MappedFile::guarded(FunctionRef<void()> fn) const {
  if (!owned_ || size_ == 0) {
    fn();
    return;
  }
  installSigbusHandler();
  MapGuard guard{data_, data_ + size_, {}, tInnermostGuard};
  // sigsetjmp(.., 1) saves the signal mask, so the jump out of the handler
  // leaves SIGBUS unblocked for the next fault.
  if (sigsetjmp(guard.jump, 1) != 0) {
    tInnermostGuard = guard.outer;
    throwChangedUnderneath(path_, size_);
  }
  tInnermostGuard = &guard;
  try {
    fn();
  } catch (...) {
    tInnermostGuard = guard.outer;
    throw;
  }
  tInnermostGuard = guard.outer;
}

void MappedFile::read(uint64_t offset, void *dst, size_t bytes) const {
  if (offset > size_ || bytes > size_ - offset)
    throwFileError(path_, "read of " + std::to_string(bytes) + " bytes at offset " +
                              std::to_string(offset) + " is past the end (" +
                              std::to_string(size_) + " bytes)");
  if (bytes == 0)
    return;
  const unsigned char *from = data_ + offset;
  guarded([&] { std::memcpy(dst, from, bytes); });
}

MappedFile MappedFile::borrow(const void *data, size_t size, std::string path) {
  MappedFile file;
  file.path_ = std::move(path);
  file.size_ = size;
  file.data_ = size > 0 ? static_cast<const unsigned char *>(data) : nullptr;
  return file;
}

MappedFile::MappedFile(MappedFile &&other) noexcept
    : data_(other.data_), size_(other.size_), path_(std::move(other.path_)),
      owned_(other.owned_) {
  other.data_ = nullptr;
  other.size_ = 0;
  other.owned_ = false;
}

MappedFile &MappedFile::operator=(MappedFile &&other) noexcept {
  if (this != &other) {
    if (data_ && owned_)
      ::munmap(const_cast<unsigned char *>(data_), size_);
    data_ = other.data_;
    size_ = other.size_;
    path_ = std::move(other.path_);
    owned_ = other.owned_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.owned_ = false;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ && owned_)
    ::munmap(const_cast<unsigned char *>(data_), size_);
}

// ---------------------------------------------------------- AtomicFileWriter

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  OutputTarget target = outputTarget(path_);
  if (!target.error.empty())
    throwFileError(path_, target.error.substr(target.error.find(": ") + 2));
  if (target.direct) { // a device or FIFO: written in place, never replaced
    direct_ = true;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0)
      throwSystemError(path_, "cannot open for writing", errno);
    return;
  }
  tempPath_ = parentDirectory(target.path) + "/." + baseName(target.path) + ".tmp-" +
              std::to_string(::getpid()) + "-" + std::to_string(gTempCounter++);
  finalPath_ = target.path;
  fd_ = ::open(tempPath_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throwSystemError(path_, "cannot create temporary file " + tempPath_, errno);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0)
    ::close(fd_);
  if (!committed_ && !direct_)
    ::unlink(tempPath_.c_str());
}

void AtomicFileWriter::write(const void *data, size_t size) {
  if (fd_ < 0)
    throwFileError(path_, "write after commit");
  const auto *bytes = static_cast<const unsigned char *>(data);
  while (size > 0) {
    size_t chunk = std::min<size_t>(size, size_t(1) << 30);
    if (gFailureArmed) {
      int64_t allowed = gBytesBeforeFailure.load();
      if (allowed <= 0)
        throwSystemError(path_, "write failed after " + std::to_string(bytesWritten_) +
                                    " bytes", gFailureErrno.load());
      chunk = std::min<size_t>(chunk, size_t(allowed));
    }
    ssize_t written = ::write(fd_, bytes, chunk);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      throwSystemError(path_, "write failed after " + std::to_string(bytesWritten_) +
                                  " bytes", errno);
    }
    if (gFailureArmed)
      gBytesBeforeFailure -= written;
    bytes += written;
    size -= size_t(written);
    bytesWritten_ += uint64_t(written);
  }
}

void AtomicFileWriter::commit() {
  if (fd_ < 0)
    throwFileError(path_, "commit called twice");
  if (direct_) {
    int fd = fd_;
    fd_ = -1;
    committed_ = true;
    // Devices and pipes may refuse fsync (EINVAL, EROFS): nothing to make durable.
    if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP) {
      int err = errno;
      ::close(fd);
      throwSystemError(path_, "fsync failed", err);
    }
    if (::close(fd) != 0)
      throwSystemError(path_, "close failed", errno);
    return;
  }
  if (::fsync(fd_) != 0)
    throwSystemError(path_, "fsync failed", errno);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) // NFS and friends report write errors here
    throwSystemError(path_, "close failed", errno);
  if (::rename(tempPath_.c_str(), finalPath_.c_str()) != 0)
    throwSystemError(path_, "cannot rename " + tempPath_ + " into place", errno);
  committed_ = true;
  fsyncDirectory(parentDirectory(finalPath_));
}

void writeFileAtomically(const std::string &path, std::string_view contents) {
  AtomicFileWriter writer(path);
  writer.write(contents);
  writer.commit();
}

std::string readTextFile(const std::string &path) {
  MappedFile file = MappedFile::open(path);
  std::string text(file.size(), '\0');
  file.read(0, text.data(), text.size());
  return text;
}

void fsyncDirectory(const std::string &dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throwSystemError(dir, "cannot open directory to fsync it", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems refuse fsync on directories (EINVAL); the rename
  // itself has happened, so only real I/O errors are reported.
  if (rc != 0 && err != EINVAL)
    throwSystemError(dir, "fsync of the directory failed", err);
}

} // namespace off::model
