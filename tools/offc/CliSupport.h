// What every offc sub-command needs from its command line and its outputs:
// option matching, number parsing, diagnostics printed as they come, and
// outputs written whole or not at all.
#pragma once

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace off::offc {

/// Matches `--name VALUE` or `--name=VALUE` at args[index]; on a match stores
/// the value, advances `index` past it and returns true (a missing value sets
/// `error`).
bool matchOption(const std::vector<std::string> &args, size_t &index,
                 llvm::StringRef name, std::string &value, std::string &error);

/// A positive integer for `option`, or false with `error` set.
bool parsePositive(llvm::StringRef option, llvm::StringRef text, int64_t &out,
                   std::string &error);

/// A finite number for `option`, or false with `error` set.
bool parseNumber(llvm::StringRef option, llvm::StringRef text, double &out,
                 std::string &error);

llvm::Error makeError(const llvm::Twine &message);

/// Prints "<command>: error: <message> (see `<command> --help`)" on stderr
/// and returns 2, the exit code of a usage error.
int usageError(llvm::StringRef command, const std::string &message);

/// Prints every diagnostic emitted on `context` as "<command>: error: ...",
/// with its location and notes, for as long as the returned handler lives.
std::unique_ptr<mlir::ScopedDiagnosticHandler>
printDiagnostics(mlir::MLIRContext &context, llvm::StringRef command);

/// One file to produce; "-" is stdout.
struct PendingOutput {
  std::string path;
  std::function<void(llvm::raw_ostream &)> write;
};

/// Writes each output to a temporary file beside it and renames them all
/// into place only after every one was written completely, so an error
/// never leaves a partial file. Stdout outputs are printed last.
llvm::Error writeOutputsAtomically(const std::vector<PendingOutput> &outputs);

} // namespace off::offc
