#include "runtime/io/IoError.h"

#include <cstring>

namespace off::io {

const char *toString(IoOp op) { return op == IoOp::Read ? "read" : "write"; }

std::string describeErrno(int errnum) {
  const char *name = strerrorname_np(errnum);
  std::string text = std::strerror(errnum);
  if (name)
    text += std::string(" (") + name + ")";
  return text;
}

IoError makeTransferError(IoOp op, const std::string &path, uint64_t offset,
                          uint64_t length, int errnum,
                          const std::string &context,
                          const std::string &reason) {
  std::string message = std::string("nvme ") + toString(op) + " of " + path +
                        " at offset " + std::to_string(offset) + " (+" +
                        std::to_string(length) + " bytes) failed: " +
                        (reason.empty() ? describeErrno(errnum) : reason);
  if (!context.empty())
    message += " [" + context + "]";
  return IoError(std::move(message), path, offset, errnum);
}

IoError makeFileError(const std::string &what, const std::string &path,
                      int errnum) {
  return IoError("nvme: " + what + " " + path + ": " + describeErrno(errnum),
                 path, 0, errnum);
}

} // namespace off::io
