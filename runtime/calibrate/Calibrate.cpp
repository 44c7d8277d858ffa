// See Calibrate.h. Each rate is the best of repeated timed batches: the
// planner wants what the machine can do, and on a shared machine the best
// batch is the one least disturbed by other work.
#include "runtime/calibrate/Calibrate.h"
#include "runtime/calibrate/KernelTimes.h"
#include "runtime/calibrate/Timing.h"

#include "runtime/backend/BackendList.h"
#include "runtime/common/CliCommand.h"
#include "runtime/common/Float16.h"
#include "runtime/common/Json.h"
#include "runtime/common/Parallel.h"
#include "runtime/cpu/CpuInfo.h"
#include "runtime/io/AlignedBuffer.h"
#include "runtime/io/IoEngine.h"
#include "runtime/optim/AdamW.h"

#ifdef OFF_CALIBRATE_HAVE_CUDA
#include "runtime/cuda/CudaBackend.h"

#include <cuda_runtime_api.h>
#endif

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>

namespace off::calibrate {
namespace {

namespace fs = std::filesystem;
using backend::Backend;

std::string today() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return text;
}

std::string fixed(double x, int digits) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, x);
  return text;
}

Json number(Json value, const std::string &source) {
  Json entry;
  entry["value"] = value;
  entry["source"] = source;
  return entry;
}

/// Values in [-1, 1) with 24 random bits each: no denormals, no overflow in
/// a product of any size. A 64-bit LCG, not a distribution object: the GPU's
/// operands are 64M values each.
std::vector<float> randomFloats(size_t n, uint64_t seed) {
  std::vector<float> values(n);
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float &v : values) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    v = float(state >> 40) * (2.0f / 16777216.0f) - 1.0f;
  }
  return values;
}

class Calibration {
public:
  explicit Calibration(const Options &o) : o_(o), date_(today()) {}

  void progress(const std::string &line) const {
    std::fprintf(stderr, "%s: %s\n", o_.tool.c_str(), line.c_str());
  }
  /// "measured by offrt calibrate on AMD EPYC, 2026-12-04 17:50 UTC, ..."
  std::string source(const std::string &machine, const std::string &what) const {
    return "measured by " + o_.tool + " on " + machine + ", " + date_ + ", " + what;
  }
  double minSeconds() const { return o_.quick ? 0.25 : 1.5; }

  /// FLOP/s of the backend's matmul kernel (its own table, as a plan binds
  /// it) on [n, n] x [n, n]^T, a Linear layer's forward. Throws
  /// std::invalid_argument when the backend does not take `dtype`.
  double gemm(Backend &b, DType dtype, int64_t n, std::string &what) const {
    std::vector<backend::TensorArg> in{{nullptr, {n, n}, dtype}, {nullptr, {n, n}, dtype}};
    std::vector<backend::TensorArg> out{{nullptr, {n, n}, dtype}};
    backend::KernelAttrs attrs;
    attrs.set("transpose_lhs", backend::AttrValue(false));
    attrs.set("transpose_rhs", backend::AttrValue(true));
    backend::BoundKernel kernel(b.kernels(StreamKind::Compute), "matmul", in, out, attrs);
    const uint64_t bytes = uint64_t(n * n) * dtypeSize(dtype);
    // Room for f32 operands whatever the dtype: a kernel that misreads bf16
    // as f32 stays inside the arena, and the check below then refuses it.
    const uint64_t operands = (uint64_t(n * n) * 4 + 255) / 256 * 256;
    backend::ArenaRequest request;
    request.label = "arena 'calibrate gemm'";
    request.size = 3 * operands + std::max<uint64_t>(kernel.workspaceBytes(), 256);
    std::unique_ptr<backend::Arena> arena = b.allocateArena(request);
    std::byte *base = arena->data();
    std::vector<float> operand[2];
    for (int i = 0; i < 2; ++i) {
      operand[i] = randomFloats(size_t(n * n), 1 + i);
      if (dtype == DType::BF16) {
        std::vector<uint16_t> bits(operand[i].size());
        for (size_t j = 0; j < bits.size(); ++j) {
          bits[j] = floatToBf16(operand[i][j]);
          operand[i][j] = bf16ToFloat(bits[j]); // what the kernel multiplies
        }
        b.upload(base + i * operands, bits.data(), bytes);
      } else {
        b.upload(base + i * operands, operand[i].data(), bytes);
      }
    }
    std::unique_ptr<backend::Stream> stream = b.createStream(StreamKind::Compute, "calibrate");
    void *inputs[2] = {base, base + operands};
    void *outputs[1] = {base + 2 * operands};
    std::span<std::byte> workspace(base + 3 * operands, kernel.workspaceBytes());
    backend::StepContext step;
    double rate = bestRate(
        2.0 * double(n) * double(n) * double(n), minSeconds(),
        [&] { b.launch(*stream, kernel, inputs, outputs, workspace, step); },
        [&] { b.synchronize(*stream); });
    checkProduct(b, dtype, n, operand[0], operand[1], base + 2 * operands);
    what = "the " + b.name() + " backend's matmul kernel on " + dtypeName(dtype) + " [" +
           std::to_string(n) + ", " + std::to_string(n) + "] x [" + std::to_string(n) + ", " +
           std::to_string(n) + "]^T (2*n^3 FLOPs a call)";
    return rate;
  }

  /// A time is only a rate if the product is right: 16 entries of C (4
  /// rows, 4 columns) against double-precision dots of the operands, within
  /// 1e-2 (bf16: a rounded result) or 1e-4 of the sum of |a_k b_k|.
  static void checkProduct(Backend &b, DType dtype, int64_t n, const std::vector<float> &A,
                           const std::vector<float> &B, const std::byte *C) {
    const double tolerance = dtype == DType::BF16 ? 1e-2 : 1e-4;
    const size_t rowBytes = size_t(n) * dtypeSize(dtype);
    std::vector<std::byte> row(rowBytes);
    for (int64_t i : {int64_t(0), n / 3, 2 * n / 3, n - 1}) {
      b.download(row.data(), C + size_t(i) * rowBytes, rowBytes);
      for (int64_t j : {int64_t(0), n / 5, n / 2, n - 1}) {
        double exact = 0.0, scale = 0.0;
        for (int64_t k = 0; k < n; ++k) { // C = A B^T: row i of A, row j of B
          double term = double(A[size_t(i * n + k)]) * double(B[size_t(j * n + k)]);
          exact += term;
          scale += std::fabs(term);
        }
        double got;
        if (dtype == DType::BF16) {
          uint16_t bits;
          std::memcpy(&bits, row.data() + size_t(j) * 2, 2);
          got = bf16ToFloat(bits);
        } else {
          float value;
          std::memcpy(&value, row.data() + size_t(j) * 4, 4);
          got = value;
        }
        if (!(std::fabs(got - exact) <= tolerance * scale))
          throw std::runtime_error(
              "the " + b.name() + " backend's " + dtypeName(dtype) + " matmul computed C[" +
              std::to_string(i) + ", " + std::to_string(j) + "] = " + std::to_string(got) +
              ", expected " + std::to_string(exact) + ": its time is not a rate");
      }
    }
  }

  /// Bytes/s of the in-place triad a = a + s*b on every thread of the pool:
  /// 12 bytes an element really move (STREAM's a = b + s*c also reads `a`
  /// before writing it, which its count of 12 leaves out). Plans stream
  /// that way: AdamW and the element-wise kernels read and write in place.
  double hostBandwidth(size_t n, std::string &what) const {
    std::unique_ptr<float[]> a(new float[n]), b(new float[n]);
    float *pa = a.get(), *pb = b.get();
    const size_t grain = size_t(1) << 16;
    parallelFor(0, n, [&](size_t lo, size_t hi) {
      for (size_t i = lo; i < hi; ++i) {
        pa[i] = 0.0f;
        pb[i] = 1.0f;
      }
    }, grain);
    double rate = bestRate(
        12.0 * double(n), minSeconds(),
        [&] {
          parallelFor(0, n, [&](size_t lo, size_t hi) {
            for (size_t i = lo; i < hi; ++i)
              pa[i] = pa[i] + 3.0f * pb[i];
          }, grain);
        },
        [] {});
    what = "in-place triad a = a + 3b over two arrays of " + std::to_string(n) +
           " floats on " + std::to_string(defaultThreadCount()) +
           " threads, 12 bytes an element (read a and b, write a)";
    return rate;
  }

  /// fp32 AdamW updates per second (runtime/optim's kernel, f32 gradients)
  /// on every thread of the pool.
  double adam(size_t n, std::string &what) const {
    std::unique_ptr<float[]> param(new float[n]), m(new float[n]), v(new float[n]),
        grad(new float[n]);
    float *p = param.get(), *pm = m.get(), *pv = v.get(), *g = grad.get();
    parallelFor(0, n, [&](size_t lo, size_t hi) {
      for (size_t i = lo; i < hi; ++i) {
        p[i] = 0.01f;
        pm[i] = 0.0f;
        pv[i] = 0.0f;
        g[i] = 1e-3f * float(int(i % 7) - 3);
      }
    }, size_t(1) << 16);
    optim::AdamWTensor tensor;
    tensor.param = p;
    tensor.expAvg = pm;
    tensor.expAvgSq = pv;
    tensor.grad = g;
    tensor.count = n;
    tensor.name = "calibrate";
    optim::AdamWHyper hyper;
    int64_t step = 1;
    double rate = bestRate(double(n), minSeconds(),
                           [&] { optim::adamwStep(tensor, hyper, step++); }, [] {});
    what = std::string("runtime/optim's AdamW (") +
           optim::adamIsaName(optim::defaultAdamIsa()) + ", f32 gradients) on " +
           std::to_string(n) + " parameters, " + std::to_string(defaultThreadCount()) +
           " threads, per core";
    return rate;
  }

  /// Write then read bytes/s of one file in `dir` through runtime/io's
  /// engine, as the NVMe tier uses it (O_DIRECT where the file system takes
  /// it, 1 MiB blocks, 32 in flight). The file is removed afterwards.
  std::pair<double, double> nvmeRates(uint64_t size, std::string &what) const {
    const std::string path =
        o_.nvmeDir + "/offload-calibrate-" + std::to_string(getpid()) + ".bin";
    struct Remove {
      std::string path;
      ~Remove() {
        std::error_code ignored;
        fs::remove(path, ignored);
      }
    } remove{path};
    io::EngineOptions eo;
    io::IoEngine engine(eo);
    const uint64_t block = eo.blockSize;
    const unsigned window = eo.queueDepth;
    io::AlignedBuffer buffer(window * block, 4096, io::PageSize::Huge);
    std::mt19937_64 rng(1); // incompressible, as fio writes
    auto *words = reinterpret_cast<uint64_t *>(buffer.data());
    for (size_t i = 0; i < buffer.size() / 8; ++i)
      words[i] = rng();
    engine.registerBuffer(buffer.data(), buffer.size());
    io::FileId file = engine.open(path, {.create = true, .preallocate = size});
    auto stream = [&](bool write) {
      std::deque<io::Ticket> inFlight;
      uint64_t next = 0;
      auto start = Clock::now();
      while (next < size || !inFlight.empty()) {
        while (next < size && inFlight.size() < window) {
          std::byte *slice = buffer.data() + (next / block % window) * block;
          inFlight.push_back(write ? engine.write(file, next, slice, block)
                                   : engine.read(file, next, slice, block));
          next += block;
        }
        engine.wait(inFlight.front());
        inFlight.pop_front();
      }
      return double(size) / secondsSince(start);
    };
    double write = stream(true), read = stream(false);
    engine.unregisterBuffer(buffer.data());
    what = "runtime/io's engine (" +
           (engine.isDirect(file) ? std::string(io::toString(engine.modeOf(file))) + ", O_DIRECT"
                                  : std::string("thread pool, no O_DIRECT: the page cache")) +
           ") on one file of " + std::to_string(size >> 20) + " MiB in " + o_.nvmeDir +
           ", 1 MiB requests, " + std::to_string(window) + " in flight";
    return {write, read};
  }

  /// The CPU profile (kind "cpu") of this machine.
  Json hostProfile(const std::string &name) const {
    const std::string cpu = cpu::cpuModelName();
    const unsigned cores = defaultThreadCount();
    Backend &host = backend::backendNamed("cpu");
    Json flops;
    for (DType dtype : {DType::F32, DType::BF16}) {
      std::string what;
      try {
        double rate = gemm(host, dtype, 1024, what);
        progress(std::string("cpu ") + dtypeName(dtype) + " matmul: " +
                 fixed(rate / 1e9, 1) + " GFLOP/s on " + std::to_string(cores) + " threads");
        flops[dtypeName(dtype)] =
            number(rate / cores, source(cpu, what + ", " + fixed(rate / 1e9, 1) + " GFLOP/s on " +
                                                 std::to_string(cores) + " threads, per core"));
      } catch (const std::exception &e) {
        if (dtype == DType::F32)
          throw;
        progress(std::string("cpu ") + dtypeName(dtype) + " matmul: not measured (" + e.what() +
                 ")");
      }
    }
    std::string what;
    // Arrays well past any cache (256 MB each time) even with --quick: a
    // cache-sized one would measure the cache, not the memory plans stream.
    double bandwidth = hostBandwidth(size_t(32) << 20, what);
    progress("host memory: " + fixed(bandwidth / 1e9, 1) + " GB/s");
    Json h;
    h["memory_bytes"] = number(uint64_t(sysconf(_SC_PHYS_PAGES)) * uint64_t(sysconf(_SC_PAGE_SIZE)),
                               "sysconf on " + cpu + ", " + date_ +
                                   ": physical pages x page size");
    h["memory_bandwidth_bytes_per_s"] = number(bandwidth, source(cpu, what));
    h["cores"] = number(cores, source(cpu, "the threads the measurements ran on (the CPUs this "
                                           "process may run on, or --threads)"));
    h["flops_per_s_per_core"] = flops;
    double adamRate = adam(size_t(16) << 20, what);
    progress("cpu adamw: " + fixed(adamRate / 1e6, 1) + " M params/s");
    h["adam_params_per_s_per_core"] =
        number(adamRate / cores, source(cpu, what + " (" + fixed(adamRate / 1e6, 1) +
                                                 " M params/s in all)"));
    Json nvme;
    if (!o_.nvmeDir.empty()) {
      auto [write, read] = nvmeRates(o_.quick ? (uint64_t(256) << 20) : (uint64_t(1) << 30), what);
      progress("nvme (" + o_.nvmeDir + "): write " + fixed(write / 1e9, 2) + " GB/s, read " +
               fixed(read / 1e9, 2) + " GB/s");
      nvme["read_bytes_per_s"] = number(read, source(cpu, what + ", read back after the write"));
      nvme["write_bytes_per_s"] = number(write, source(cpu, what + ", written"));
    } else {
      // The loader needs the section; a plan without an NVMe tier never
      // reads it. Say so rather than invent a measurement.
      progress("nvme: not measured (no --nvme DIR): the profile carries cpu-host's datasheet "
               "rates, marked as such");
      const std::string placeholder =
          "NOT measured (" + o_.tool + " ran without --nvme DIR, " + date_ +
          "): models/devices/cpu-host.json's figure (Samsung 990 PRO data sheet), a placeholder";
      nvme["read_bytes_per_s"] = number(7.45e9, placeholder);
      nvme["write_bytes_per_s"] = number(6.9e9, placeholder);
    }
    Json root;
    root["name"] = name;
    root["kind"] = "cpu";
    root["description"] = cpu + ", " + std::to_string(cores) + " threads, measured by " +
                          o_.tool + " on " + date_;
    root["host"] = h;
    root["nvme"] = nvme;
    KernelTimesOptions kt;
    kt.quick = o_.quick;
    kt.minSeconds = o_.quick ? 0.03 : 0.1;
    kt.progress = [this](const std::string &line) { progress(line); };
    kt.source = "measured by " + o_.tool + " on " + cpu + ", " + date_ + ", " +
                std::to_string(cores) + " threads";
    root["kernel_times"] = measureKernelTimes(host, kt);
    return root;
  }

#ifdef OFF_CALIBRATE_HAVE_CUDA
  /// The GPU profile (kind "gpu") of device 0 (OFF_CUDA_DEVICE), naming
  /// `hostPath` as its host.
  Json gpuProfile(const std::string &name, const std::string &hostPath) const {
    Backend &gpu = backend::backendNamed("cuda");
    gpu.createStream(StreamKind::Compute, "probe"); // selects the backend's device
    int device = 0;
    cudaGetDevice(&device);
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, device) != cudaSuccess)
      throw std::runtime_error("cannot read the CUDA device's properties");
    const std::string gpuName = prop.name;
    Json flops;
    for (DType dtype : {DType::F32, DType::BF16}) {
      std::string what;
      try {
        double rate = gemm(gpu, dtype, 8192, what);
        progress(std::string("gpu ") + dtypeName(dtype) + " matmul: " + fixed(rate / 1e12, 1) +
                 " TFLOP/s");
        flops[dtypeName(dtype)] =
            number(rate, source(gpuName, what + " through " + cuda::cudaGemmPath()));
      } catch (const std::exception &e) {
        if (dtype == DType::F32)
          throw;
        progress(std::string("gpu ") + dtypeName(dtype) + " matmul: not measured (" + e.what() +
                 ")");
      }
    }
    // Device memory: a copy inside it reads and writes each byte.
    const uint64_t bytes = o_.quick ? (uint64_t(256) << 20) : (uint64_t(1) << 30);
    backend::ArenaRequest request;
    request.label = "arena 'calibrate device'";
    request.size = 2 * bytes;
    auto deviceArena = gpu.allocateArena(request);
    auto compute = gpu.createStream(StreamKind::Compute, "compute");
    std::byte *d = deviceArena->data();
    double hbm = bestRate(
        2.0 * double(bytes), minSeconds(), [&] { gpu.copy(*compute, d + bytes, d, bytes); },
        [&] { gpu.synchronize(*compute); });
    progress("gpu memory: " + fixed(hbm / 1e9, 1) + " GB/s");
    // PCIe from and to a pinned host arena, on the plan's h2d and d2h streams.
    backend::ArenaRequest hostRequest;
    hostRequest.label = "arena 'calibrate pinned'";
    hostRequest.tier = Tier::Host;
    hostRequest.size = bytes;
    hostRequest.pinned = true;
    auto hostArena = gpu.allocateArena(hostRequest);
    if (!hostArena->pinned())
      progress("warning: the host arena could not be pinned: PCIe rates are pageable memory's");
    std::memset(hostArena->data(), 1, bytes);
    auto h2dStream = gpu.createStream(StreamKind::H2D, "h2d");
    auto d2hStream = gpu.createStream(StreamKind::D2H, "d2h");
    double h2d = bestRate(
        double(bytes), minSeconds(), [&] { gpu.copy(*h2dStream, d, hostArena->data(), bytes); },
        [&] { gpu.synchronize(*h2dStream); });
    double d2h = bestRate(
        double(bytes), minSeconds(), [&] { gpu.copy(*d2hStream, hostArena->data(), d, bytes); },
        [&] { gpu.synchronize(*d2hStream); });
    progress("pcie: h2d " + fixed(h2d / 1e9, 1) + " GB/s, d2h " + fixed(d2h / 1e9, 1) + " GB/s");
    size_t freeBytes = 0, totalBytes = 0;
    cudaMemGetInfo(&freeBytes, &totalBytes);
    const std::string copies = std::to_string(bytes >> 20) + " MiB copies";
    const std::string pinned = hostArena->pinned() ? "pinned" : "pageable (pinning refused)";
    Json dev;
    dev["memory_bytes"] = number(uint64_t(totalBytes), "cudaMemGetInfo on " + gpuName + ", " +
                                                         date_ + ": total device memory");
    dev["memory_bandwidth_bytes_per_s"] = number(
        hbm, source(gpuName, "the cuda backend's device-to-device copy on the compute stream, " +
                                 copies + ", read + written bytes"));
    dev["flops_per_s"] = flops;
    Json link;
    link["h2d_bytes_per_s"] = number(
        h2d, source(gpuName, "the cuda backend's copy on an h2d stream from a " + pinned +
                                 " host arena, " + copies));
    link["d2h_bytes_per_s"] = number(
        d2h, source(gpuName, "the cuda backend's copy on a d2h stream to a " + pinned +
                                 " host arena, " + copies));
    Json root;
    root["name"] = name;
    root["kind"] = "gpu";
    root["description"] = gpuName + " (sm_" + std::to_string(prop.major) +
                          std::to_string(prop.minor) + "), measured by " + o_.tool + " on " +
                          date_;
    root["host_profile"] = hostPath;
    root["device"] = dev;
    root["pcie"] = link;
    return root;
  }
#endif

private:
  const Options &o_;
  std::string date_;
};

/// The problem with writing `path`, or "".
std::string unwritable(const std::string &path) {
  fs::path p(path);
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return "its directory " + dir.string() + " does not exist";
  if (fs::is_directory(p, ec))
    return "is a directory";
  if (access(dir.c_str(), W_OK) != 0)
    return "its directory " + dir.string() + " is not writable";
  if (fs::exists(p, ec) && access(path.c_str(), W_OK) != 0)
    return "is not writable";
  return "";
}

/// Writes `text` to `path` through a temporary file renamed over it, so a
/// failure never leaves half a profile.
void writeFile(const std::string &path, const std::string &text) {
  const std::string temp = path + ".tmp" + std::to_string(getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(temp, ignored);
      throw std::runtime_error(path + ": cannot write the profile");
    }
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    fs::remove(temp, ec);
    throw std::runtime_error(path + ": cannot write the profile: " + ec.message());
  }
}

} // namespace

std::vector<std::string> calibrate(const Options &o) {
  if (o.output.empty())
    throw std::runtime_error("-o PROFILE.json is required");
  if (std::string why = unwritable(o.output); !why.empty())
    throw std::runtime_error("-o " + o.output + ": " + why);
  if (!o.nvmeDir.empty()) {
    std::error_code ec;
    if (!fs::is_directory(o.nvmeDir, ec))
      throw std::runtime_error("--nvme " + o.nvmeDir + ": not a directory");
    if (access(o.nvmeDir.c_str(), W_OK) != 0)
      throw std::runtime_error("--nvme " + o.nvmeDir + ": not writable");
  }
  if (o.backend != "cpu" && o.backend != "cuda")
    throw std::runtime_error("--backend " + o.backend + ": must be cpu or cuda");
  if (o.backend == "cuda") {
#ifndef OFF_CALIBRATE_HAVE_CUDA
    throw std::runtime_error("--backend cuda: this build has no CUDA backend");
#else
    try {
      backend::backendNamed("cuda");
    } catch (const std::invalid_argument &e) {
      throw std::runtime_error(std::string("--backend cuda: ") + e.what());
    }
#endif
  }
  setDefaultThreadCount(o.threads);
  Calibration run(o);
  const fs::path out(o.output);
  const std::string stem = out.stem().string();
  if (o.backend == "cpu") {
    Json profile = run.hostProfile(stem);
    writeFile(o.output, profile.dump(2) + "\n");
    run.progress("wrote " + o.output);
    return {o.output};
  }
#ifdef OFF_CALIBRATE_HAVE_CUDA
  // A GPU profile names its host profile; the loader reads a relative path
  // from the GPU profile's own directory.
  const std::string hostFile = stem + ".host.json";
  const std::string hostPath = (out.parent_path() / hostFile).string();
  Json host = run.hostProfile(stem + "-host");
  Json gpu = run.gpuProfile(stem, hostFile);
  writeFile(hostPath, host.dump(2) + "\n");
  writeFile(o.output, gpu.dump(2) + "\n");
  run.progress("wrote " + o.output + " and its host profile " + hostPath);
  return {o.output, hostPath};
#else
  return {};
#endif
}

int runCalibrateCommand(const std::string &tool, const std::vector<std::string> &args) {
  Options o;
  o.tool = tool + " calibrate";
  cli::Command cmd(o.tool, "-o PROFILE.json [--nvme DIR] [--backend cpu|cuda] [--quick]",
                   "Measures this machine into a device profile (models/devices/README.md):\n"
                   "matmul FLOP/s per dtype through the backend's kernel, host memory\n"
                   "bandwidth, CPU AdamW, NVMe with --nvme; with --backend cuda also the GPU's\n"
                   "matmul, memory and PCIe rates (then PROFILE.json is the GPU's profile and\n"
                   "PROFILE.host.json, beside it, the host's). Progress on stderr.");
  cmd.option("-o,--output", o.output, "FILE", "where the profile goes (required)");
  cmd.option("--nvme", o.nvmeDir, "DIR",
             "measure NVMe read/write on a file in DIR (on\nthe drive to measure; removed "
             "after)");
  cmd.choice("--backend", o.backend, {"cpu", "cuda"}, "the device to profile (default cpu)");
  cmd.flag("--quick", o.quick, "a few seconds of measuring instead of up to a\nminute");
  cmd.threads("--threads", o.threads,
              "threads (default: every CPU this process may\nrun on)");
  if (std::optional<int> exit = cmd.parse(args))
    return *exit;
  if (o.output.empty())
    return cmd.usageError("-o PROFILE.json is required");
  try {
    calibrate(o);
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "%s: error: %s\n", o.tool.c_str(), e.what());
    return 1;
  }
}

} // namespace off::calibrate
