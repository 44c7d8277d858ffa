// See DeviceProfile.h. The schema is in models/devices/README.md.

#include "compiler/Simulate/DeviceProfile.h"

#include "runtime/common/Json.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

namespace off::sim {
namespace {

// Generated from models/devices/*.json (EmbedDeviceProfiles.cmake).
const std::pair<const char *, const char *> kBuiltin[] = {
#include "DeviceProfiles.inc"
};

/// Thrown inside this file only: the first problem, already worded.
struct ProfileError {
  std::string message;
};

const std::set<std::string> kDtypes = {"f32", "bf16", "f16"};

class Reader {
public:
  explicit Reader(std::string where) : where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string &path, const std::string &problem) const {
    throw ProfileError{where_ + ": " + path + ": " + problem};
  }

  /// Refuses a member not in `known`: a misspelt field would otherwise be
  /// ignored and its default used.
  void onlyKnown(const Json &object, const std::string &path,
                 const std::set<std::string> &known) const {
    for (auto it = object.begin(); it != object.end(); ++it)
      if (!known.count(it.key()))
        fail(join(path, it.key()), "unknown field (known: " + list(known) + ")");
  }

  const Json &object(const Json &parent, const std::string &path, const std::string &key) const {
    const Json *member = jsonMember(parent, key);
    if (!member)
      fail(join(path, key), "missing");
    if (!member->is_object())
      fail(join(path, key), std::string("must be an object, got ") + jsonKindName(*member));
    return *member;
  }

  std::string text(const Json &parent, const std::string &path, const std::string &key) const {
    const Json *member = jsonMember(parent, key);
    if (!member)
      fail(join(path, key), "missing");
    if (!member->is_string() || member->get<std::string>().empty())
      fail(join(path, key), "must be a non-empty string");
    return member->get<std::string>();
  }

  /// {"value": X, "source": "..."}: X finite and > 0, the source named.
  double number(const Json &parent, const std::string &path, const std::string &key) const {
    std::string at = join(path, key);
    const Json &entry = object(parent, path, key);
    onlyKnown(entry, at, {"value", "source"});
    const Json *value = jsonMember(entry, "value");
    if (!value)
      fail(at + ".value", "missing");
    if (!value->is_number())
      fail(at + ".value", std::string("must be a number, got ") + jsonKindName(*value));
    double x = value->get<double>();
    if (!std::isfinite(x) || x <= 0)
      fail(at + ".value", "must be > 0, got " + value->dump());
    const Json *source = jsonMember(entry, "source");
    if (!source || !source->is_string() || source->get<std::string>().empty())
      fail(at + ".source", "missing (every number names its source: a datasheet, a "
                           "specification or a measurement)");
    return x;
  }

  std::map<std::string, double> perDtype(const Json &parent, const std::string &path,
                                         const std::string &key) const {
    std::string at = join(path, key);
    const Json &entry = object(parent, path, key);
    onlyKnown(entry, at, kDtypes);
    std::map<std::string, double> rates;
    for (const std::string &dtype : kDtypes)
      if (jsonMember(entry, dtype))
        rates[dtype] = number(entry, at, dtype);
    if (!rates.count("f32"))
      fail(at + ".f32", "missing (every device computes in f32)");
    return rates;
  }

private:
  static std::string join(const std::string &path, const std::string &key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string list(const std::set<std::string> &names) {
    std::string text;
    for (const std::string &name : names)
      text += (text.empty() ? "" : ", ") + name;
    return text;
  }
  std::string where_;
};

/// "kernel_times": {"source": "...", "ops": {KEY: {"work": "flops"|"bytes",
/// "points": [[work, seconds], ...]}}}: one source for the whole table (one
/// calibration measured it), work strictly increasing, every number > 0.
std::map<std::string, KernelTimeCurve> readKernelTimes(const Reader &r, const Json &root) {
  std::map<std::string, KernelTimeCurve> curves;
  if (!jsonMember(root, "kernel_times"))
    return curves;
  const Json &section = r.object(root, "", "kernel_times");
  r.onlyKnown(section, "kernel_times", {"source", "ops"});
  r.text(section, "kernel_times", "source");
  const Json &ops = r.object(section, "kernel_times", "ops");
  for (auto it = ops.begin(); it != ops.end(); ++it) {
    const std::string at = "kernel_times.ops." + it.key();
    const Json &entry = r.object(ops, "kernel_times.ops", it.key());
    r.onlyKnown(entry, at, {"work", "points"});
    KernelTimeCurve curve;
    const std::string work = r.text(entry, at, "work");
    if (work != "flops" && work != "bytes")
      r.fail(at + ".work", "must be \"flops\" or \"bytes\", got \"" + work + "\"");
    curve.byFlops = work == "flops";
    const Json *points = jsonMember(entry, "points");
    if (!points || !points->is_array() || points->empty())
      r.fail(at + ".points", "must be a non-empty array of [work, seconds] pairs");
    for (size_t i = 0; i < points->size(); ++i) {
      const Json &point = (*points)[i];
      const std::string where = at + ".points[" + std::to_string(i) + "]";
      if (!point.is_array() || point.size() != 2 || !point[0].is_number() ||
          !point[1].is_number())
        r.fail(where, "must be a [work, seconds] pair of numbers");
      double w = point[0].get<double>(), seconds = point[1].get<double>();
      if (!std::isfinite(w) || !(w > 0) || !std::isfinite(seconds) || !(seconds > 0))
        r.fail(where, "work and seconds must be finite and > 0");
      if (!curve.points.empty() && !(w > curve.points.back().first))
        r.fail(where, "work must increase from one point to the next");
      curve.points.emplace_back(w, seconds);
    }
    curves[it.key()] = std::move(curve);
  }
  return curves;
}

HostProfile readHost(const Reader &r, const Json &root, const std::string &name) {
  HostProfile host;
  host.name = name;
  const Json &h = r.object(root, "", "host");
  r.onlyKnown(h, "host",
              {"memory_bytes", "memory_bandwidth_bytes_per_s", "cores", "flops_per_s_per_core",
               "adam_params_per_s_per_core"});
  host.memoryBytes = r.number(h, "host", "memory_bytes");
  host.memoryBandwidth = r.number(h, "host", "memory_bandwidth_bytes_per_s");
  host.cores = r.number(h, "host", "cores");
  if (host.cores != std::floor(host.cores))
    r.fail("host.cores.value", "must be a whole number");
  host.flopsPerCore = r.perDtype(h, "host", "flops_per_s_per_core");
  host.adamParamsPerCore = r.number(h, "host", "adam_params_per_s_per_core");
  const Json &nvme = r.object(root, "", "nvme");
  r.onlyKnown(nvme, "nvme", {"read_bytes_per_s", "write_bytes_per_s"});
  host.nvmeRead = r.number(nvme, "nvme", "read_bytes_per_s");
  host.nvmeWrite = r.number(nvme, "nvme", "write_bytes_per_s");
  return host;
}

/// The CPU backend's machine: the "device" tier is host memory and kernels
/// run on every core; a copy between tiers is a memcpy, which reads and
/// writes each byte, so it moves at half the memory bandwidth.
void deviceOfCpuHost(DeviceProfile &p) {
  p.memoryBytes = p.host.memoryBytes;
  p.memoryBandwidth = p.host.memoryBandwidth;
  for (auto &[dtype, rate] : p.host.flopsPerCore)
    p.flops[dtype] = rate * p.host.cores;
  p.h2d = p.d2h = p.host.memoryBandwidth / 2;
}

std::optional<std::string> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool looksLikePath(const std::string &s) {
  return s.find('/') != std::string::npos ||
         (s.size() > 5 && s.compare(s.size() - 5, 5, ".json") == 0);
}

std::optional<DeviceProfile> load(const std::string &nameOrPath, std::string &error, int depth);

std::optional<DeviceProfile> parse(const std::string &text, const std::string &where,
                                   std::string &error, int depth) {
  try {
    Json root;
    try {
      root = parseJson(text);
    } catch (const JsonError &e) {
      throw ProfileError{where + ": not a JSON profile: " + e.what()};
    }
    Reader r(where);
    if (!root.is_object())
      throw ProfileError{where + ": must be a JSON object, got " + jsonKindName(root)};
    DeviceProfile p;
    p.path = where;
    p.name = r.text(root, "", "name");
    p.kind = r.text(root, "", "kind");
    p.description = r.text(root, "", "description");
    if (p.kind == "cpu") {
      r.onlyKnown(root, "", {"name", "kind", "description", "host", "nvme", "kernel_times"});
      p.host = readHost(r, root, p.name);
      p.kernelTimes = readKernelTimes(r, root);
      deviceOfCpuHost(p);
    } else if (p.kind == "gpu") {
      r.onlyKnown(root, "",
                  {"name", "kind", "description", "host_profile", "device", "pcie", "kernel_times"});
      p.kernelTimes = readKernelTimes(r, root);
      const Json &d = r.object(root, "", "device");
      r.onlyKnown(d, "device", {"memory_bytes", "memory_bandwidth_bytes_per_s", "flops_per_s"});
      p.memoryBytes = r.number(d, "device", "memory_bytes");
      p.memoryBandwidth = r.number(d, "device", "memory_bandwidth_bytes_per_s");
      p.flops = r.perDtype(d, "device", "flops_per_s");
      const Json &link = r.object(root, "", "pcie");
      r.onlyKnown(link, "pcie", {"h2d_bytes_per_s", "d2h_bytes_per_s"});
      p.h2d = r.number(link, "pcie", "h2d_bytes_per_s");
      p.d2h = r.number(link, "pcie", "d2h_bytes_per_s");
      std::string hostName = r.text(root, "", "host_profile");
      if (depth > 0)
        return p; // named as a host: the caller refuses its kind
      // A relative path is read from the GPU profile's own directory, so a
      // pair of files (offrt calibrate's PROFILE.json and PROFILE.host.json)
      // can be moved together.
      std::string hostRef = hostName;
      if (looksLikePath(hostName) && hostName.front() != '/')
        if (size_t slash = where.rfind('/'); slash != std::string::npos)
          hostRef = where.substr(0, slash + 1) + hostName;
      std::string hostError;
      std::optional<DeviceProfile> host = load(hostRef, hostError, depth + 1);
      if (!host)
        throw ProfileError{where + ": host_profile: " + hostError};
      if (host->kind != "cpu")
        r.fail("host_profile", "'" + hostName + "' is of kind \"" + host->kind +
                                   "\"; a host profile must be of kind \"cpu\"");
      p.host = host->host;
    } else {
      r.fail("kind", "must be \"gpu\" or \"cpu\", got \"" + p.kind + "\"");
    }
    return p;
  } catch (const ProfileError &e) {
    error = e.message;
    return std::nullopt;
  } catch (const std::exception &e) { // nlohmann's type errors, out of memory
    error = where + ": " + e.what();
    return std::nullopt;
  }
}

std::optional<DeviceProfile> load(const std::string &nameOrPath, std::string &error, int depth) {
  if (looksLikePath(nameOrPath)) {
    std::optional<std::string> text = readFile(nameOrPath);
    if (!text) {
      error = nameOrPath + ": cannot read the device profile";
      return std::nullopt;
    }
    return parse(*text, nameOrPath, error, depth);
  }
  if (const char *dir = std::getenv("OFF_MODELS_DIR"); dir && *dir) {
    std::string path = std::string(dir) + "/devices/" + nameOrPath + ".json";
    if (std::optional<std::string> text = readFile(path))
      return parse(*text, path, error, depth);
  }
  for (const auto &[name, text] : kBuiltin)
    if (nameOrPath == name)
      return parse(text, "models/devices/" + nameOrPath + ".json", error, depth);
  std::string names;
  for (const std::string &name : builtinProfileNames())
    names += (names.empty() ? "" : ", ") + name;
  error = "no device profile named '" + nameOrPath + "' (built in: " + names +
          "; or give a path to a profile .json)";
  return std::nullopt;
}

} // namespace

double KernelTimeCurve::secondsAt(double work) const {
  if (points.empty() || !(work > 0))
    return 0.0;
  const auto &[w0, t0] = points.front();
  if (work <= w0) {
    double proportional = t0 * work / w0;
    if (points.size() == 1)
      return proportional;
    const auto &[w1, t1] = points[1];
    return std::max(proportional, t0 + (work - w0) * (t1 - t0) / (w1 - w0));
  }
  const auto &[wn, tn] = points.back();
  if (work >= wn)
    return tn * work / wn;
  size_t i = 1;
  while (points[i].first < work)
    ++i;
  const auto &[wa, ta] = points[i - 1];
  const auto &[wb, tb] = points[i];
  return ta + (work - wa) * (tb - ta) / (wb - wa);
}

std::vector<std::string> builtinProfileNames() {
  std::vector<std::string> names;
  for (const auto &entry : kBuiltin)
    names.push_back(entry.first);
  return names;
}

std::optional<DeviceProfile> parseDeviceProfile(const std::string &text, const std::string &where,
                                                std::string &error) {
  return parse(text, where, error, 0);
}

std::optional<DeviceProfile> loadDeviceProfile(const std::string &nameOrPath,
                                               std::string &error) {
  return load(nameOrPath, error, 0);
}

} // namespace off::sim
