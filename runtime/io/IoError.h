// The one exception the NVMe engine reports at its API: what failed, on which
// file, at which byte offset, and why (errno, or end of file).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace off::io {

enum class IoOp : uint8_t { Read, Write };

const char *toString(IoOp op);

class IoError : public std::runtime_error {
public:
  /// errnum: the errno that failed the transfer, 0 for a read past the end of
  /// the file (or any failure that has no errno).
  IoError(std::string message, std::string path, uint64_t offset, int errnum)
      : std::runtime_error(std::move(message)), path_(std::move(path)),
        offset_(offset), errnum_(errnum) {}

  const std::string &path() const { return path_; }
  uint64_t offset() const { return offset_; }
  int errnum() const { return errnum_; }

private:
  std::string path_;
  uint64_t offset_;
  int errnum_;
};

/// "No space left on device (ENOSPC)": the text and the symbolic name, so a
/// log reader can grep for either.
std::string describeErrno(int errnum);

/// "nvme write of /d/x.stripe at offset 4096 (+1048576 bytes) failed: <why>
/// [context]"; `why` is describeErrno(errnum) unless `reason` is given.
IoError makeTransferError(IoOp op, const std::string &path, uint64_t offset,
                          uint64_t length, int errnum,
                          const std::string &context,
                          const std::string &reason = {});

/// For files: "cannot open /d/x.stripe: <why>" and the like.
IoError makeFileError(const std::string &what, const std::string &path,
                      int errnum);

} // namespace off::io
