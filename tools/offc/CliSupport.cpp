// See CliSupport.h.

#include "tools/offc/CliSupport.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Signals.h"

#include <cmath>
#include <cstdlib>

using llvm::StringRef;

namespace off::offc {

bool matchOption(const std::vector<std::string> &args, size_t &index,
                 StringRef name, std::string &value, std::string &error) {
  StringRef arg = args[index];
  if (arg == name) {
    if (index + 1 >= args.size()) {
      error = (name + " needs a value").str();
      return true;
    }
    value = args[++index];
    return true;
  }
  if (arg.starts_with(name) && arg.size() > name.size() &&
      arg[name.size()] == '=') {
    value = arg.drop_front(name.size() + 1).str();
    return true;
  }
  return false;
}

bool parsePositive(StringRef option, StringRef text, int64_t &out,
                   std::string &error) {
  int64_t value = 0;
  if (text.getAsInteger(10, value) || value < 1) {
    error = (option + " needs a positive integer, got '" + text + "'").str();
    return false;
  }
  out = value;
  return true;
}

bool parseNumber(StringRef option, StringRef text, double &out,
                 std::string &error) {
  std::string copy = text.str();
  char *end = nullptr;
  double value = copy.empty() ? NAN : std::strtod(copy.c_str(), &end);
  if (copy.empty() || *end != '\0' || !std::isfinite(value)) {
    error = (option + " needs a number, got '" + text + "'").str();
    return false;
  }
  out = value;
  return true;
}

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

int usageError(StringRef command, const std::string &message) {
  llvm::errs() << command << ": error: " << message << " (see `" << command
               << " --help`)\n";
  return 2;
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
  for (const PendingOutput &output : outputs) {
    if (output.path == "-")
      continue;
    int fd = -1;
    llvm::SmallString<256> temp;
    if (std::error_code ec = llvm::sys::fs::createUniqueFile(
            output.path + ".tmp-%%%%%%", fd, temp)) {
      removeTemps();
      return makeError("cannot write " + output.path + ": " + ec.message());
    }
    llvm::sys::RemoveFileOnSignal(temp);
    written.emplace_back(temp.str().str(), output.path);
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
  for (const PendingOutput &output : outputs) {
    if (output.path != "-")
      continue;
    output.write(llvm::outs());
    llvm::outs().flush();
  }
  return llvm::Error::success();
}

} // namespace off::offc
