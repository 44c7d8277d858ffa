// Files as off_model uses them: read-only memory maps whose reads are guarded
// (a file truncated underneath is an error naming it, not SIGBUS), and atomic, durable
// writes (temp file in the same directory, write, fsync, rename, fsync the
// directory), so that a crash or a full disk never leaves a half-written
// file under the final name.
#pragma once

#include "runtime/common/FunctionRef.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace off::model {

/// A whole file mapped read-only (MAP_PRIVATE). Move-only; unmaps on
/// destruction. An empty file maps to data() == nullptr, size() == 0.
///
/// A file truncated while mapped makes every read of a page past its new end
/// raise SIGBUS, which would kill the process without a word. Reads of the
/// mapped bytes therefore go through guarded() (or read()): a SIGBUS inside
/// the mapping during `fn` becomes a ModelIoError naming the file. (A file
/// replaced by rename keeps the mapped, old contents: no error is needed.)
class MappedFile {
public:
  /// Throws ModelIoError naming `path` when it is missing, a directory or
  /// cannot be mapped.
  static MappedFile open(const std::string &path);

  /// A view of `size` bytes the caller owns and keeps alive as long as the
  /// result (or anything built on it) is used; nothing is unmapped. For
  /// parsing bytes already in memory (tests, fuzzers); `path` names them in
  /// errors.
  static MappedFile borrow(const void *data, size_t size, std::string path);

  MappedFile() = default;
  MappedFile(MappedFile &&other) noexcept;
  MappedFile &operator=(MappedFile &&other) noexcept;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();

  const unsigned char *data() const { return data_; }
  size_t size() const { return size_; }

  /// Runs `fn`, which reads data(), so that a SIGBUS on the mapping during it
  /// (the file truncated underneath) throws ModelIoError naming the file.
  /// `fn` is left by a jump at the fault: it must own nothing that needs
  /// destroying (no strings, vectors, locks), only read and write plain
  /// memory; it may throw. Runs `fn` as is for borrowed memory.
  void guarded(FunctionRef<void()> fn) const;

  /// Copies [offset, offset + bytes) into dst, guarded; the range must lie
  /// within size().
  void read(uint64_t offset, void *dst, size_t bytes) const;
  const std::string &path() const { return path_; }

private:
  const unsigned char *data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
  bool owned_ = false; // data_ is our mapping (munmap on destruction)
};

/// Writes a file under a temporary name next to `path` and renames it over
/// `path` on commit(). Destroying it without commit() (an exception on the
/// way) removes the temporary file and leaves `path` as it was. Only regular
/// files are replaced: a device, FIFO or socket (`-o /dev/null`) is opened
/// and written in place; a directory is refused; a symlink to a regular
/// file is resolved, so the link stays.
class AtomicFileWriter {
public:
  explicit AtomicFileWriter(std::string path); // throws ModelIoError
  AtomicFileWriter(const AtomicFileWriter &) = delete;
  AtomicFileWriter &operator=(const AtomicFileWriter &) = delete;
  ~AtomicFileWriter();

  /// Writes all of [data, data+size) (retrying short writes); throws
  /// ModelIoError naming the final path on any failure (ENOSPC, EIO, ...).
  void write(const void *data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }

  /// fsync, close, rename over the final path, fsync the directory.
  void commit();

  const std::string &path() const { return path_; }
  uint64_t bytesWritten() const { return bytesWritten_; }

private:
  std::string path_;
  std::string tempPath_;
  std::string finalPath_; // path_ with a symlink resolved
  int fd_ = -1;
  bool direct_ = false;   // a device or FIFO, written in place
  uint64_t bytesWritten_ = 0;
  bool committed_ = false;
};

/// AtomicFileWriter in one call.
void writeFileAtomically(const std::string &path, std::string_view contents);

/// Reads a whole (small) file; throws ModelIoError naming it.
std::string readTextFile(const std::string &path);

/// fsync on a directory, so that renames inside it are durable.
void fsyncDirectory(const std::string &dir);

/// "a/b/c.bin" -> "a/b"; "c.bin" -> "."
std::string parentDirectory(const std::string &path);

/// Test seam: makes every AtomicFileWriter::write in this process fail with
/// `err` (e.g. ENOSPC) once `bytes` more bytes have been written, as a full
/// disk would. clearInjectedWriteFailure() turns it off.
void injectWriteFailureAfter(uint64_t bytes, int err);
void clearInjectedWriteFailure();

} // namespace off::model
