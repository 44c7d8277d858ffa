// What every offc sub-command needs besides its command line (which
// off::cli::Command reads): diagnostics printed as they come, and outputs
// written whole or not at all.
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

llvm::Error makeError(const llvm::Twine &message);

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
