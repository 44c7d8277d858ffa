// Measures the machine this process runs on into a device profile
// (models/devices/README.md's format, read by compiler/Simulate's loader):
// what `offrt calibrate` and `offc calibrate` write. Every rate is timed
// through the code a plan runs: the matmul kernel of the backend's own
// table, runtime/optim's AdamW, the backend's copies (PCIe, device memory)
// and runtime/io's engine (NVMe). No MLIR/LLVM here: offrt links this and
// is carried alone to GPU machines.
#pragma once

#include <string>
#include <vector>

namespace off::calibrate {

struct Options {
  std::string output;   // -o PROFILE.json
  std::string nvmeDir;  // --nvme DIR ("" : NVMe not measured)
  std::string backend = "cpu";
  bool quick = false;   // a few seconds instead of up to a minute
  unsigned threads = 0; // 0: every CPU this process may run on
  std::string tool = "offrt calibrate"; // who measured, for sources and messages
};

/// Measures and writes `o.output` (and, for a GPU, the host profile it
/// names beside it, OUTPUT_STEM.host.json). Progress on stderr. Throws
/// std::runtime_error with a worded message on any failure; nothing is
/// written then (an existing file is replaced only by a complete profile).
/// Returns the paths written.
std::vector<std::string> calibrate(const Options &o);

/// The `calibrate` sub-command of offrt and offc (`tool` is "offrt" or
/// "offc"): parses `args`, runs calibrate(), prints errors as
/// "TOOL calibrate: error: ...". Returns the exit code; never throws (offc
/// is built without exceptions).
int runCalibrateCommand(const std::string &tool, const std::vector<std::string> &args);

} // namespace off::calibrate
