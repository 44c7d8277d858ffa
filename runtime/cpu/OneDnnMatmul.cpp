#include "runtime/cpu/OneDnnMatmul.h"

#ifdef OFF_HAVE_DNNL

#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <map>
#include <memory>
#include <mutex>
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

std::string kernelName(DType ab) {
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

void matmulBlock(DType ab, bool transA, bool transB, int64_t M, int64_t N, int64_t K,
                 const void *A, int64_t lda, const void *B, int64_t ldb, void *C, DType cType,
                 int64_t ldc, bool accumulate) {
  singleThreaded();
  std::shared_ptr<Entry> entry =
      entryFor({M, N, K, lda, ldb, ldc, transA, transB, accumulate, ab, cType});
  thread_local dnnl::stream stream(engine());
  thread_local std::vector<std::byte> scratch;
  if (scratch.size() < entry->scratchBytes)
    scratch.resize(entry->scratchBytes);
  memory a(entry->a, engine(), const_cast<void *>(A));
  memory b(entry->b, engine(), const_cast<void *>(B));
  memory c(entry->c, engine(), C);
  memory pad(entry->pd.scratchpad_desc(), engine(), scratch.data());
  entry->primitive.execute(stream, {{DNNL_ARG_SRC, a},
                                    {DNNL_ARG_WEIGHTS, b},
                                    {DNNL_ARG_DST, c},
                                    {DNNL_ARG_SCRATCHPAD, pad}});
  stream.wait();
}

} // namespace off::cpu::onednn

#else // no oneDNN in this build

#include <stdexcept>

namespace off::cpu::onednn {

bool available() { return false; }
std::string version() { return ""; }
std::string kernelName(DType) { return ""; }
void matmulBlock(DType, bool, bool, int64_t, int64_t, int64_t, const void *, int64_t,
                 const void *, int64_t, void *, DType, int64_t, bool) {
  throw std::logic_error("matmul: built without oneDNN");
}

} // namespace off::cpu::onednn

#endif
