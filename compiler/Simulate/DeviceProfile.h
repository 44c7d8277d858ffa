// Device profiles (models/devices/*.json): what a machine can do per second,
// each number with its source. The simulator (Simulator.h) and, later, the
// planner cost a plan with them. Built with exceptions (nlohmann-json reads
// the files) but the interface throws none, so offc's MLIR side can use it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace off::sim {

/// The host side: CPU, its memory and its NVMe.
struct HostProfile {
  std::string name; // the profile it came from
  double memoryBytes = 0;
  double memoryBandwidth = 0;          // bytes/s
  double cores = 0;
  std::map<std::string, double> flopsPerCore; // dtype ("f32", "bf16", ...) -> FLOP/s
  double adamParamsPerCore = 0;        // AdamW updates of one fp32 param per second, one core
  double nvmeRead = 0, nvmeWrite = 0;  // bytes/s
};

/// Measured seconds per call of one kernel (a profile's "kernel_times",
/// written by offrt calibrate) as a function of its work: FLOPs for the
/// products, bytes read + written for the rest (runtime/common/KernelWork.h).
struct KernelTimeCurve {
  bool byFlops = false;
  std::vector<std::pair<double, double>> points; // (work, seconds), work increasing
  /// Linear between the points; below the first, the line through the first
  /// two (the per-call overhead it implies) but never less than the first
  /// point's rate gives; above the last, the last point's rate.
  double secondsAt(double work) const;
};

/// A whole machine as the simulator sees it. For a GPU profile, `device` is
/// the GPU and `host` comes from the profile it names in "host_profile";
/// for a CPU profile the device is the host itself (the CPU backend: the
/// "device" tier is host memory), with the rates derived in
/// deviceOfCpuHost.
struct DeviceProfile {
  std::string name, kind, description, path;
  double memoryBytes = 0;
  double memoryBandwidth = 0;            // bytes/s
  std::map<std::string, double> flops;   // dtype -> FLOP/s of the whole device
  double h2d = 0, d2h = 0;               // bytes/s, per direction
  /// The device's kernels as measured ("OP.DTYPE", matmul "matmul.DTYPE.nt"
  /// ...: work::kernelTimeKey); empty for datasheet profiles, which the
  /// roofline prices.
  std::map<std::string, KernelTimeCurve> kernelTimes;
  HostProfile host;
};

/// The names of the built-in profiles (models/devices/*.json, compiled into
/// the program), sorted.
std::vector<std::string> builtinProfileNames();

/// Parses one profile's text. `where` names the file in errors. A GPU
/// profile's host is resolved with loadDeviceProfile. Every field is
/// checked: known keys only, numbers finite and > 0, each with a non-empty
/// "source". Errors read "FILE: FIELD.PATH: problem".
std::optional<DeviceProfile> parseDeviceProfile(const std::string &text,
                                                const std::string &where, std::string &error);

/// A profile by name (`$OFF_MODELS_DIR/devices/NAME.json` when that file
/// exists, else the built-in NAME) or by path (anything with a '/' or
/// ending in ".json").
std::optional<DeviceProfile> loadDeviceProfile(const std::string &nameOrPath,
                                               std::string &error);

} // namespace off::sim
