// Device profiles (compiler/Simulate/DeviceProfile.h): the built-in
// models/devices/*.json all load and hang together, and every kind of
// mistake in a profile is refused with the file and the field named.

#include "compiler/Simulate/DeviceProfile.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

using namespace off::sim;

namespace {

/// A valid GPU profile whose host is the built-in cpu-host; `edit` replaces
/// one piece of text to make it wrong.
std::string gpuText(const std::string &from = "", const std::string &to = "") {
  std::string text = R"({
  "name": "test-gpu", "kind": "gpu", "description": "a test GPU",
  "host_profile": "cpu-host",
  "device": {
    "memory_bytes": {"value": 1000, "source": "s"},
    "memory_bandwidth_bytes_per_s": {"value": 2000, "source": "s"},
    "flops_per_s": {"f32": {"value": 3000, "source": "s"}, "bf16": {"value": 6000, "source": "s"}}
  },
  "pcie": {"h2d_bytes_per_s": {"value": 10, "source": "s"}, "d2h_bytes_per_s": {"value": 20, "source": "s"}}
})";
  if (!from.empty()) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos)
      text.replace(at, from.size(), to);
  }
  return text;
}

std::string problem(const std::string &text) {
  std::string error;
  std::optional<DeviceProfile> p = parseDeviceProfile(text, "bad.json", error);
  EXPECT_FALSE(p.has_value());
  return error;
}

TEST(DeviceProfile, EveryBuiltinLoadsWithSaneRates) {
  std::vector<std::string> names = builtinProfileNames();
  for (const char *required : {"h100-80g", "a100-80g", "a100-40g", "rtx4090-24g", "rtx3090-24g",
                               "l4-24g", "t4-16g", "cpu-host"})
    EXPECT_NE(std::find(names.begin(), names.end(), required), names.end()) << required;
  for (const std::string &name : names) {
    std::string error;
    std::optional<DeviceProfile> p = loadDeviceProfile(name, error);
    ASSERT_TRUE(p) << error;
    EXPECT_EQ(p->name, name) << "a profile's name is its file name";
    EXPECT_GT(p->host.cores, 0) << name;
    EXPECT_GT(p->host.nvmeRead, 0) << name;
    EXPECT_GT(p->host.adamParamsPerCore, 0) << name;
    // Links are slower than the memory they connect.
    EXPECT_LT(p->h2d, p->memoryBandwidth) << name;
    EXPECT_LT(p->d2h, p->memoryBandwidth) << name;
    if (p->kind == "gpu") {
      // Tensor cores: half precision is faster than f32 on every GPU here.
      for (const char *half : {"bf16", "f16"})
        if (p->flops.count(half))
          EXPECT_GT(p->flops.at(half), p->flops.at("f32")) << name << " " << half;
      EXPECT_GT(p->memoryBandwidth, p->host.memoryBandwidth) << name;
    }
  }
}

TEST(DeviceProfile, CpuHostIsItsOwnDevice) {
  std::string error;
  std::optional<DeviceProfile> p = loadDeviceProfile("cpu-host", error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->kind, "cpu");
  EXPECT_DOUBLE_EQ(p->flops.at("f32"), p->host.flopsPerCore.at("f32") * p->host.cores);
  EXPECT_DOUBLE_EQ(p->memoryBandwidth, p->host.memoryBandwidth);
  EXPECT_DOUBLE_EQ(p->h2d, p->host.memoryBandwidth / 2); // a memcpy reads and writes
  EXPECT_DOUBLE_EQ(p->memoryBytes, p->host.memoryBytes);
}

TEST(DeviceProfile, T4HasNoBf16Rate) {
  std::string error;
  std::optional<DeviceProfile> p = loadDeviceProfile("t4-16g", error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->flops.count("bf16"), 0u);
  EXPECT_EQ(p->flops.count("f16"), 1u);
}

TEST(DeviceProfile, ParsesAGpuAndTakesItsHost) {
  std::string error;
  std::optional<DeviceProfile> p = parseDeviceProfile(gpuText(), "t.json", error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->memoryBytes, 1000);
  EXPECT_EQ(p->memoryBandwidth, 2000);
  EXPECT_EQ(p->flops.at("f32"), 3000);
  EXPECT_EQ(p->flops.at("bf16"), 6000);
  EXPECT_EQ(p->flops.count("f16"), 0u);
  EXPECT_EQ(p->h2d, 10);
  EXPECT_EQ(p->d2h, 20);
  EXPECT_EQ(p->host.name, "cpu-host");
}

TEST(DeviceProfile, RefusesMistakesNamingFileAndField) {
  EXPECT_EQ(problem(gpuText("\"source\": \"s\"}, \"bf16\"", "\"source\": \"\"}, \"bf16\"")),
            "bad.json: device.flops_per_s.f32.source: missing (every number names its source: "
            "a datasheet, a specification or a measurement)");
  EXPECT_EQ(problem(gpuText("{\"value\": 2000, \"source\": \"s\"}", "{\"value\": 2000}")),
            "bad.json: device.memory_bandwidth_bytes_per_s.source: missing (every number names "
            "its source: a datasheet, a specification or a measurement)");
  EXPECT_EQ(problem(gpuText("\"value\": 1000", "\"value\": -1")),
            "bad.json: device.memory_bytes.value: must be > 0, got -1");
  EXPECT_EQ(problem(gpuText("\"value\": 1000", "\"value\": \"1000\"")),
            "bad.json: device.memory_bytes.value: must be a number, got a string");
  EXPECT_EQ(problem(gpuText("\"h2d_bytes_per_s\"", "\"h2d_byte_per_s\"")),
            "bad.json: pcie.h2d_byte_per_s: unknown field (known: d2h_bytes_per_s, "
            "h2d_bytes_per_s)");
  EXPECT_EQ(problem(gpuText("\"f32\": {\"value\": 3000, \"source\": \"s\"}, ", "")),
            "bad.json: device.flops_per_s.f32: missing (every device computes in f32)");
  EXPECT_EQ(problem(gpuText("\"bf16\"", "\"fp8\"")),
            "bad.json: device.flops_per_s.fp8: unknown field (known: bf16, f16, f32)");
  EXPECT_EQ(problem(gpuText("\"kind\": \"gpu\"", "\"kind\": \"tpu\"")),
            "bad.json: kind: must be \"gpu\" or \"cpu\", got \"tpu\"");
  EXPECT_EQ(problem(gpuText("\"pcie\"", "\"nvlink\"")),
            "bad.json: nvlink: unknown field (known: description, device, host_profile, "
            "kernel_times, kind, name, pcie)");
  EXPECT_EQ(problem(gpuText("\"host_profile\": \"cpu-host\",", "")),
            "bad.json: host_profile: missing");
  EXPECT_EQ(problem(gpuText("\"host_profile\": \"cpu-host\"", "\"host_profile\": \"h100-80g\"")),
            "bad.json: host_profile: 'h100-80g' is of kind \"gpu\"; a host profile must be of "
            "kind \"cpu\"");
  EXPECT_EQ(problem(gpuText("\"host_profile\": \"cpu-host\"", "\"host_profile\": \"nope\"")),
            "bad.json: host_profile: no device profile named 'nope' (built in: a100-40g, "
            "a100-80g, cpu-host, h100-80g, l4-24g, rtx3090-24g, rtx4090-24g, t4-16g; or give a "
            "path to a profile .json)");
  EXPECT_EQ(problem("[1]"), "bad.json: must be a JSON object, got an array");
  EXPECT_EQ(problem("{\"name\": 1}"), "bad.json: name: must be a non-empty string");
  std::string notJson = problem("{\"name\": ");
  EXPECT_EQ(notJson.rfind("bad.json: not a JSON profile: ", 0), 0u) << notJson;
  std::string error;
  EXPECT_FALSE(loadDeviceProfile("/nonexistent/x.json", error));
  EXPECT_EQ(error, "/nonexistent/x.json: cannot read the device profile");
}

TEST(DeviceProfile, CpuHostFieldsAreChecked) {
  std::string error;
  std::optional<DeviceProfile> host = loadDeviceProfile("cpu-host", error);
  ASSERT_TRUE(host) << error;
  std::string text = R"({"name": "h", "kind": "cpu", "description": "d",
    "host": {"memory_bytes": {"value": 8, "source": "s"},
             "memory_bandwidth_bytes_per_s": {"value": 100, "source": "s"},
             "cores": {"value": 2.5, "source": "s"},
             "flops_per_s_per_core": {"f32": {"value": 10, "source": "s"}},
             "adam_params_per_s_per_core": {"value": 5, "source": "s"}},
    "nvme": {"read_bytes_per_s": {"value": 1, "source": "s"},
             "write_bytes_per_s": {"value": 1, "source": "s"}}})";
  EXPECT_EQ(problem(text), "bad.json: host.cores.value: must be a whole number");
  std::string noNvme = text.substr(0, text.find(",\n    \"nvme\"")) + "}";
  size_t cores = noNvme.find("2.5");
  noNvme.replace(cores, 3, "2");
  EXPECT_EQ(problem(noNvme), "bad.json: nvme: missing");
}

TEST(DeviceProfile, ModelsDirOverridesAName) {
  std::string dir = ::testing::TempDir() + "off_profiles";
  std::string devices = dir + "/devices";
  ASSERT_EQ(std::system(("mkdir -p " + devices).c_str()), 0);
  {
    std::ofstream out(devices + "/test-gpu.json");
    out << gpuText();
  }
  setenv("OFF_MODELS_DIR", dir.c_str(), 1);
  std::string error;
  std::optional<DeviceProfile> p = loadDeviceProfile("test-gpu", error);
  unsetenv("OFF_MODELS_DIR");
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->description, "a test GPU");
  EXPECT_EQ(p->path, devices + "/test-gpu.json");
  // By path as well.
  p = loadDeviceProfile(devices + "/test-gpu.json", error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->flops.at("f32"), 3000);
}

TEST(DeviceProfile, RelativeHostPathIsReadFromTheGpuProfilesDirectory) {
  // offrt calibrate --backend cuda writes PROFILE.json naming
  // PROFILE.host.json beside it; the pair must load from any working
  // directory. The host file here has a rate no built-in has.
  std::string dir = ::testing::TempDir() + "off_profile_pair";
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  std::string error;
  std::optional<DeviceProfile> cpuHost = loadDeviceProfile("cpu-host", error);
  ASSERT_TRUE(cpuHost) << error;
  {
    std::ofstream out(dir + "/pair.host.json");
    out << R"({"name": "pair-host", "kind": "cpu", "description": "d",
  "host": {"memory_bytes": {"value": 1e9, "source": "s"},
           "memory_bandwidth_bytes_per_s": {"value": 1e10, "source": "s"},
           "cores": {"value": 3, "source": "s"},
           "flops_per_s_per_core": {"f32": {"value": 1e9, "source": "s"}},
           "adam_params_per_s_per_core": {"value": 12345, "source": "s"}},
  "nvme": {"read_bytes_per_s": {"value": 1e9, "source": "s"},
           "write_bytes_per_s": {"value": 1e9, "source": "s"}}})";
  }
  {
    std::ofstream out(dir + "/pair.json");
    out << gpuText("\"host_profile\": \"cpu-host\"", "\"host_profile\": \"pair.host.json\"");
  }
  std::optional<DeviceProfile> p = loadDeviceProfile(dir + "/pair.json", error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->host.adamParamsPerCore, 12345);
  EXPECT_EQ(p->host.cores, 3);
  EXPECT_NE(cpuHost->host.adamParamsPerCore, 12345);
  // Missing beside it: the error names the path it looked at.
  std::remove((dir + "/pair.host.json").c_str());
  p = loadDeviceProfile(dir + "/pair.json", error);
  ASSERT_FALSE(p);
  EXPECT_NE(error.find(dir + "/pair.host.json: cannot read"), std::string::npos) << error;
}

} // namespace

// "kernel_times" (offrt calibrate's measured kernels): hand-computed
// interpolation, and each kind of mistake refused with its field named.
TEST(DeviceProfile, KernelTimeCurvesInterpolateByHand) {
  KernelTimeCurve c;
  c.points = {{100, 1.0}, {300, 2.0}, {1000, 4.0}};
  EXPECT_DOUBLE_EQ(c.secondsAt(200), 1.5);  // between the first two
  EXPECT_DOUBLE_EQ(c.secondsAt(650), 3.0);  // between the last two
  EXPECT_DOUBLE_EQ(c.secondsAt(300), 2.0);  // on a point
  EXPECT_DOUBLE_EQ(c.secondsAt(2000), 8.0); // past the last: its rate (250 per second)
  // Below the first: the first segment's line (0.5 s of per-call overhead)...
  EXPECT_DOUBLE_EQ(c.secondsAt(50), 0.75);
  // ... but never faster than the first point's rate (a line with no overhead).
  KernelTimeCurve steep;
  steep.points = {{100, 1.0}, {200, 4.0}};
  EXPECT_DOUBLE_EQ(steep.secondsAt(50), 0.5);
  KernelTimeCurve one;
  one.points = {{100, 2.0}};
  EXPECT_DOUBLE_EQ(one.secondsAt(300), 6.0);
  EXPECT_DOUBLE_EQ(one.secondsAt(0), 0.0);
}

TEST(DeviceProfile, KernelTimesAreCheckedFieldByField) {
  auto withTimes = [](const std::string &ops) {
    return gpuText("\"pcie\":", "\"kernel_times\": {\"source\": \"s\", \"ops\": {" + ops +
                                    "}},\n  \"pcie\":");
  };
  std::string error;
  std::optional<DeviceProfile> p = parseDeviceProfile(
      withTimes(R"("matmul.f32.nt": {"work": "flops", "points": [[10, 1e-6], [20, 1.5e-6]]})"),
      "t.json", error);
  ASSERT_TRUE(p) << error;
  ASSERT_EQ(p->kernelTimes.size(), 1u);
  EXPECT_TRUE(p->kernelTimes.at("matmul.f32.nt").byFlops);
  EXPECT_DOUBLE_EQ(p->kernelTimes.at("matmul.f32.nt").secondsAt(15), 1.25e-6);
  EXPECT_EQ(problem(withTimes(R"("add.f32": {"work": "ops", "points": [[1, 1]]})")),
            "bad.json: kernel_times.ops.add.f32.work: must be \"flops\" or \"bytes\", got \"ops\"");
  EXPECT_EQ(problem(withTimes(R"("add.f32": {"work": "bytes", "points": [[2, 1], [2, 3]]})")),
            "bad.json: kernel_times.ops.add.f32.points[1]: work must increase from one point to "
            "the next");
  EXPECT_EQ(problem(withTimes(R"("add.f32": {"work": "bytes", "points": [[2, 0]]})")),
            "bad.json: kernel_times.ops.add.f32.points[0]: work and seconds must be finite and > 0");
  EXPECT_EQ(problem(withTimes(R"("add.f32": {"work": "bytes", "points": []})")),
            "bad.json: kernel_times.ops.add.f32.points: must be a non-empty array of [work, "
            "seconds] pairs");
  EXPECT_EQ(problem(withTimes(R"("add.f32": {"work": "bytes", "points": [[1, 1]], "x": 1})")),
            "bad.json: kernel_times.ops.add.f32.x: unknown field (known: points, work)");
  EXPECT_EQ(problem(gpuText("\"pcie\":", "\"kernel_times\": {\"ops\": {}},\n  \"pcie\":")),
            "bad.json: kernel_times.source: missing");
}
