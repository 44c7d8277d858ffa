// What a path is before a program reads or writes it, so that a FIFO, a
// device or a directory given where a regular file is needed is refused up
// front (opening a FIFO would block), an output never replaces a device
// node, and an output that is one of the inputs is refused before anything
// is overwritten. Non-throwing (offc builds without exceptions): problems
// come back as messages that start with the path.
#pragma once

#include <string>
#include <vector>

namespace off {

enum class PathKind { Missing, Regular, Directory, Fifo, CharDevice, BlockDevice, Socket, Other };

/// What `path` is, following symlinks (stat); Missing when it cannot be
/// stat'ed at all.
PathKind pathKind(const std::string &path);

/// "a directory", "a FIFO", "a character device", ...
const char *pathKindName(PathKind kind);

/// Empty when `path` is a regular file (or a link to one); otherwise
/// "<path>: <why>": missing (with strerror), a directory, a FIFO, a device.
std::string inputFileProblem(const std::string &path);

/// Where and how an output file is written.
struct OutputTarget {
  /// Non-empty: the path cannot be an output file ("<path>: is a directory").
  std::string error;
  /// A device, FIFO or socket (e.g. /dev/null): opened and written in
  /// place, never created, replaced or renamed over.
  bool direct = false;
  /// Missing or regular: the file to create next to and rename over (a
  /// symlink to a regular file is resolved, so the link stays a link).
  std::string path;
};
OutputTarget outputTarget(const std::string &path);

/// Empty unless `output` names the same file (device and inode) as one of
/// `inputs`; then "<output> is also the input <input>: refusing to overwrite it".
/// Inputs that do not exist are ignored.
std::string outputIsInputProblem(const std::string &output,
                                 const std::vector<std::string> &inputs);

} // namespace off
