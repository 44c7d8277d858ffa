// See CliSupport.h.

#include "tools/offc/CliSupport.h"

#include "runtime/common/FileChecks.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Signals.h"

using llvm::StringRef;

namespace off::offc {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::unique_ptr<mlir::ScopedDiagnosticHandler>
printDiagnostics(mlir::MLIRContext &context, StringRef command) {
  std::string name = command.str();
  return std::make_unique<mlir::ScopedDiagnosticHandler>(
      &context, [name](mlir::Diagnostic &diag) {
        static const char *const kSeverity[] = {"note", "warning", "error",
                                                "remark"};
        llvm::errs() << name << ": "
                     << kSeverity[static_cast<int>(diag.getSeverity())] << ": ";
        if (!llvm::isa<mlir::UnknownLoc>(diag.getLocation()))
          llvm::errs() << diag.getLocation() << ": ";
        llvm::errs() << diag << "\n";
        for (const mlir::Diagnostic &note : diag.getNotes())
          llvm::errs() << name << ": note: " << note << "\n";
        return mlir::success();
      });
}

llvm::Error writeOutputsAtomically(const std::vector<PendingOutput> &outputs) {
  std::vector<std::pair<std::string, std::string>> written; // temp, final
  auto removeTemps = [&] {
    for (auto &[temp, final] : written) {
      llvm::sys::fs::remove(temp);
      llvm::sys::DontRemoveFileOnSignal(temp);
    }
  };
  std::vector<const PendingOutput *> direct; // devices and FIFOs, written in place
  for (const PendingOutput &output : outputs) {
    if (output.path == "-")
      continue;
    OutputTarget target = outputTarget(output.path);
    if (!target.error.empty()) {
      removeTemps();
      return makeError(target.error);
    }
    if (target.direct) {
      direct.push_back(&output);
      continue;
    }
    int fd = -1;
    llvm::SmallString<256> temp;
    if (std::error_code ec = llvm::sys::fs::createUniqueFile(
            target.path + ".tmp-%%%%%%", fd, temp)) {
      removeTemps();
      return makeError("cannot write " + output.path + ": " + ec.message());
    }
    llvm::sys::RemoveFileOnSignal(temp);
    written.emplace_back(temp.str().str(), target.path);
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    output.write(os);
    os.close();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error();
      removeTemps();
      return makeError("cannot write " + output.path + ": " + message);
    }
  }
  for (auto &[temp, final] : written) {
    if (std::error_code ec = llvm::sys::fs::rename(temp, final)) {
      removeTemps();
      return makeError("cannot write " + final + ": " + ec.message());
    }
    llvm::sys::DontRemoveFileOnSignal(temp);
  }
  for (const PendingOutput *output : direct) { // never replaced, only written
    std::error_code ec;
    llvm::raw_fd_ostream os(output->path, ec, llvm::sys::fs::OF_None);
    if (ec)
      return makeError("cannot write " + output->path + ": " + ec.message());
    output->write(os);
    os.close();
    if (os.has_error()) {
      std::string message = os.error().message();
      os.clear_error();
      return makeError("cannot write " + output->path + ": " + message);
    }
  }
  for (const PendingOutput &output : outputs) {
    if (output.path != "-")
      continue;
    output.write(llvm::outs());
    llvm::outs().flush();
  }
  return llvm::Error::success();
}

} // namespace off::offc
