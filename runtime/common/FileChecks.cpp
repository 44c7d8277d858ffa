#include "runtime/common/FileChecks.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

namespace off {
namespace {

PathKind kindOf(const struct stat &info) {
  if (S_ISREG(info.st_mode)) return PathKind::Regular;
  if (S_ISDIR(info.st_mode)) return PathKind::Directory;
  if (S_ISFIFO(info.st_mode)) return PathKind::Fifo;
  if (S_ISCHR(info.st_mode)) return PathKind::CharDevice;
  if (S_ISBLK(info.st_mode)) return PathKind::BlockDevice;
  if (S_ISSOCK(info.st_mode)) return PathKind::Socket;
  return PathKind::Other;
}

} // namespace

PathKind pathKind(const std::string &path) {
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0)
    return PathKind::Missing;
  return kindOf(info);
}

const char *pathKindName(PathKind kind) {
  switch (kind) {
  case PathKind::Missing: return "missing";
  case PathKind::Regular: return "a regular file";
  case PathKind::Directory: return "a directory";
  case PathKind::Fifo: return "a FIFO";
  case PathKind::CharDevice: return "a character device";
  case PathKind::BlockDevice: return "a block device";
  case PathKind::Socket: return "a socket";
  case PathKind::Other: return "not a regular file";
  }
  return "?";
}

std::string inputFileProblem(const std::string &path) {
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0)
    return path + ": cannot open: " + std::strerror(errno);
  PathKind kind = kindOf(info);
  if (kind == PathKind::Regular)
    return "";
  if (kind == PathKind::Directory)
    return path + ": is a directory, not a file";
  return path + ": is " + pathKindName(kind) + ", not a regular file";
}

OutputTarget outputTarget(const std::string &path) {
  OutputTarget target;
  target.path = path;
  struct stat info{};
  if (path.empty()) {
    target.error = "an empty output path";
    return target;
  }
  if (::stat(path.c_str(), &info) != 0)
    return target; // to be created (a dangling symlink is replaced)
  PathKind kind = kindOf(info);
  if (kind == PathKind::Directory) {
    target.error = path + ": is a directory, not a file";
  } else if (kind != PathKind::Regular) {
    target.direct = true;
  } else {
    struct stat link{};
    if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      char resolved[PATH_MAX];
      if (::realpath(path.c_str(), resolved))
        target.path = resolved;
    }
  }
  return target;
}

std::string outputIsInputProblem(const std::string &output,
                                 const std::vector<std::string> &inputs) {
  struct stat out{};
  if (output.empty() || ::stat(output.c_str(), &out) != 0 || !S_ISREG(out.st_mode))
    return ""; // a new file, or a device (writing /dev/null never destroys an input)
  for (const std::string &input : inputs) {
    struct stat in{};
    if (input.empty() || ::stat(input.c_str(), &in) != 0)
      continue;
    if (in.st_dev == out.st_dev && in.st_ino == out.st_ino)
      return output + (output == input ? " is also an input"
                                       : " is the same file as the input " + input) +
             ": refusing to overwrite it";
  }
  return "";
}

} // namespace off
