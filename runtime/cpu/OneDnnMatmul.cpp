#include "runtime/cpu/OneDnnMatmul.h"

#ifdef OFF_HAVE_DNNL

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace off::cpu::onednn {
namespace {

using dnnl::memory;

const dnnl::engine &engine() {
  static const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

/// oneDNN runs on OpenMP: one thread inside each call (our pool runs the
/// blocks). Set before every call: cheap, and nothing else in the process
/// (a benchmark's own oneDNN calls) can leave it otherwise.
void singleThreaded() { omp_set_num_threads(1); }

memory::data_type dataType(DType t) {
  return t == DType::F32 ? memory::data_type::f32 : memory::data_type::bf16;
}

struct Key {
  int64_t M, N, K, lda, ldb, ldc;
  bool transA, transB, accumulate;
  DType ab, cType;
  auto tie() const {
    return std::tie(M, N, K, lda, ldb, ldc, transA, transB, accumulate, ab, cType);
  }
  bool operator<(const Key &o) const { return tie() < o.tie(); }
};

struct Entry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
  memory::desc a, b, c;
  size_t scratchBytes = 0;
};

std::shared_ptr<Entry> makeEntry(const Key &key) {
  auto entry = std::make_shared<Entry>();
  memory::dims aStrides = key.transA ? memory::dims{1, key.lda} : memory::dims{key.lda, 1};
  memory::dims bStrides = key.transB ? memory::dims{1, key.ldb} : memory::dims{key.ldb, 1};
  entry->a = memory::desc({key.M, key.K}, dataType(key.ab), aStrides);
  entry->b = memory::desc({key.K, key.N}, dataType(key.ab), bStrides);
  entry->c = memory::desc({key.M, key.N}, dataType(key.cType), memory::dims{key.ldc, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (key.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  entry->pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(entry->a, entry->b, entry->c),
                                           attr, engine());
  entry->primitive = dnnl::matmul(entry->pd);
  entry->scratchBytes = entry->pd.scratchpad_desc().get_size();
  return entry;
}

std::shared_ptr<Entry> entryFor(const Key &key) {
  static std::mutex mutex;
  static std::map<Key, std::shared_ptr<Entry>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  std::shared_ptr<Entry> &entry = cache[key];
  if (!entry)
    entry = makeEntry(key);
  return entry;
}

} // namespace

bool available() { return true; }

std::string version() {
  const dnnl_version_t *v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
         std::to_string(v->patch);
}

const std::string &kernelName(DType ab) {
  auto probe = [](DType t) -> std::string {
    try {
      singleThreaded();
      Key key{256, 256, 256, 256, 256, 256, false, true, false, t, t};
      return makeEntry(key)->pd.impl_info_str();
    } catch (const dnnl::error &) {
      return "";
    }
  };
  static const std::string f32 = probe(DType::F32), bf16 = probe(DType::BF16);
  return ab == DType::F32 ? f32 : bf16;
}

namespace {

/// One thread's memory objects for one cached primitive: created on the
/// thread's first call with that shape, then only re-pointed
/// (set_data_handle), so a call creates no oneDNN objects.
struct ThreadArgs {
  memory a, b, c, pad;
};

ThreadArgs &threadArgs(const std::shared_ptr<Entry> &entry) {
  // Keyed by the entry, which the process-wide cache keeps alive.
  thread_local std::map<const Entry *, ThreadArgs> perThread;
  auto found = perThread.find(entry.get());
  if (found != perThread.end())
    return found->second;
  ThreadArgs args{memory(entry->a, engine(), nullptr), memory(entry->b, engine(), nullptr),
                  memory(entry->c, engine(), nullptr),
                  memory(entry->pd.scratchpad_desc(), engine(), nullptr)};
  return perThread.emplace(entry.get(), std::move(args)).first->second;
}

std::atomic<uint64_t> executionCount{0};

void check(dnnl_status_t status, const char *what) {
  if (status != dnnl_success)
    throw std::runtime_error(std::string("oneDNN matmul: ") + what + " failed (status " +
                             std::to_string(int(status)) + ")");
}

} // namespace

void matmulBlock(DType ab, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                 const void *A, int64_t lda, const void *B, int64_t ldb, void *C, DType cType,
                 int64_t ldc, bool accumulate) {
  singleThreaded();
  std::shared_ptr<Entry> entry =
      entryFor({M, N, K, lda, ldb, ldc, transA, transB, accumulate, ab, cType});
  thread_local dnnl::stream stream(engine());
  // The scratchpad is ours, per thread, grown to the largest primitive's
  // need (on the first step; later calls reuse it).
  thread_local std::vector<std::byte> scratch;
  if (scratch.size() < entry->scratchBytes)
    scratch.resize(entry->scratchBytes);
  ThreadArgs &args = threadArgs(entry);
  check(dnnl_memory_set_data_handle_v2(args.a.get(), const_cast<void *>(A), nullptr), "src");
  check(dnnl_memory_set_data_handle_v2(args.b.get(), const_cast<void *>(B), nullptr),
        "weights");
  check(dnnl_memory_set_data_handle_v2(args.c.get(), C, nullptr), "dst");
  check(dnnl_memory_set_data_handle_v2(args.pad.get(), scratch.data(), nullptr), "scratchpad");
  // The C API with the arguments on our stack: the C++ execute() builds a
  // std::vector of them per call.
  const dnnl_exec_arg_t execArgs[] = {{DNNL_ARG_SRC, args.a.get()},
                                      {DNNL_ARG_WEIGHTS, args.b.get()},
                                      {DNNL_ARG_DST, args.c.get()},
                                      {DNNL_ARG_SCRATCHPAD, args.pad.get()}};
  executionCount.fetch_add(1, std::memory_order_relaxed);
  check(dnnl_primitive_execute(entry->primitive.get(), stream.get(), 4, execArgs), "execute");
  check(dnnl_stream_wait(stream.get()), "stream wait");
}

uint64_t executions() { return executionCount.load(std::memory_order_relaxed); }

} // namespace off::cpu::onednn

#else // no oneDNN in this build

#include <stdexcept>

namespace off::cpu::onednn {

bool available() { return false; }
std::string version() { return ""; }
const std::string &kernelName(DType) {
  static const std::string none;
  return none;
}
void matmulBlock(DType, bool, bool, int64_t, int64_t, int64_t, const void *, int64_t,
                 const void *, int64_t, void *, DType, int64_t, bool) {
  throw std::logic_error("matmul: built without oneDNN");
}
uint64_t executions() { return 0; }

} // namespace off::cpu::onednn

#endif
