// The one exception type of off_model. Every message names the file (and,
// where there is one, the tensor or token position) it is about, so a caller
// at the program's edge can print what() and exit non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace off::model {

class ModelIoError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// "<path>: <what>" — the shape of every message in this library.
[[noreturn]] void throwFileError(const std::string &path, const std::string &what);

/// As throwFileError, with ": <strerror(err)>" appended.
[[noreturn]] void throwSystemError(const std::string &path, const std::string &what,
                                   int err);

} // namespace off::model
