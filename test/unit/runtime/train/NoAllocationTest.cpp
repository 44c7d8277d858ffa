// A training step allocates nothing after the first: the plans offc makes
// for the tiny Llama (gradient accumulation, clipping, the host-optimizer
// stream; params, grads and activations offloaded to the host tier; a
// forward plan; the same in --precision bf16-mixed) run through
// PlanProgram (executor, every kernel, AdamW) while this binary counts
// every heap allocation of the process: it interposes malloc and its family
// (which operator new, std::vector, std::function, OpenBLAS and oneDNN all
// end in), counting while a step after the first runs. The plans come from
// the ctest fixture `alloc_plans` (OFF_ALLOC_PLAN_DIR); a missing plan is a
// failure, never a skip.
//
// ctest runs it twice: `alloc.*` on the GEMM paths this CPU picks (our
// AVX-512 kernels where it has AVX-512F / AVX512_BF16, oneDNN's matmul for
// bf16 on AMX machines, else OpenBLAS and the bf16 fallback) and
// `alloc.*.openblas` with OFF_F32_GEMM=openblas OFF_BF16_GEMM=fallback.
// Where neither default path is oneDNN's, the step must allocate nothing at
// all and must not execute oneDNN; where a path is ours, the test also checks
// that the step's products ran on it. oneDNN 2.6 (Debian's) allocates inside
// every dnnl_primitive_execute (the std::unordered_map of arguments it builds
// from our array, and its execution context), which no caller can prevent:
// on a machine whose default is oneDNN (AMX) those allocations are counted
// apart (any frame of the allocating stack inside dnnl_primitive_execute) and
// bounded per execution; every other allocation fails the test.
#include "runtime/cpu/CpuBackend.h"
#include "runtime/cpu/Gemm.h"
#include "runtime/cpu/GemmBf16.h"
#include "runtime/cpu/GemmOwn.h"
#include "runtime/cpu/OneDnnMatmul.h"
#include "runtime/train/Session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <execinfo.h>
#include <link.h>
#include <malloc.h>
#include <unistd.h>

extern "C" {
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *pointer, size_t size);
void *__libc_memalign(size_t alignment, size_t size);
void __libc_free(void *pointer);
}

namespace {

std::atomic<bool> counting{false};
std::atomic<uint64_t> allocations{0};     // outside oneDNN's execute
std::atomic<uint64_t> insideExecute{0};   // inside dnnl_primitive_execute
// dnnl_primitive_execute's code, [begin, end): empty without oneDNN.
uintptr_t executeBegin = 0, executeEnd = 0;
// The call stacks of the first allocations counted (printed on failure).
constexpr int kStacks = 400, kFrames = 48;
void *stacks[kStacks][kFrames];
std::atomic<int> stackDepth[kStacks];
thread_local bool inHook = false;

void counted() {
  if (!counting.load(std::memory_order_relaxed) || inHook)
    return;
  inHook = true;
  void *frames[kFrames];
  int depth = backtrace(frames, kFrames);
  bool inExecute = false;
  for (int i = 0; i < depth && executeEnd; ++i) {
    auto pc = reinterpret_cast<uintptr_t>(frames[i]);
    inExecute |= pc > executeBegin && pc <= executeEnd; // return addresses
  }
  if (inExecute) {
    insideExecute.fetch_add(1);
  } else {
    uint64_t n = allocations.fetch_add(1);
    if (n < kStacks) {
      std::memcpy(stacks[n], frames, sizeof(void *) * size_t(depth));
      stackDepth[n] = depth;
    }
  }
  inHook = false;
}

/// Finds dnnl_primitive_execute's code range when oneDNN is loaded.
void findExecute() {
  void *symbol = dlsym(RTLD_DEFAULT, "dnnl_primitive_execute");
  if (!symbol)
    return;
  Dl_info info;
  void *extra = nullptr;
  if (!dladdr1(symbol, &info, &extra, RTLD_DL_SYMENT) || !extra)
    return;
  const auto *entry = static_cast<const ElfW(Sym) *>(extra);
  if (entry->st_size == 0)
    return;
  executeBegin = reinterpret_cast<uintptr_t>(symbol);
  executeEnd = executeBegin + entry->st_size;
}

} // namespace

extern "C" {
void *malloc(size_t size) {
  counted();
  return __libc_malloc(size);
}
void *calloc(size_t count, size_t size) {
  counted();
  return __libc_calloc(count, size);
}
void *realloc(void *pointer, size_t size) {
  counted();
  return __libc_realloc(pointer, size);
}
void free(void *pointer) { __libc_free(pointer); }
void *memalign(size_t alignment, size_t size) {
  counted();
  return __libc_memalign(alignment, size);
}
void *aligned_alloc(size_t alignment, size_t size) {
  counted();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void **out, size_t alignment, size_t size) {
  counted();
  void *p = __libc_memalign(alignment, size);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}
void *valloc(size_t size) {
  counted();
  return __libc_memalign(size_t(sysconf(_SC_PAGESIZE)), size);
}
}

namespace off::train {
namespace {

std::string planPath(const char *name) {
  const char *dir = std::getenv("OFF_ALLOC_PLAN_DIR");
  return std::string(dir ? dir : ".") + "/" + name;
}

struct Counts {
  uint64_t outside, inExecute, executions, ownBlocks;
};

/// Counted allocations while `fn` runs.
template <typename F> Counts allocationsDuring(F &&fn) {
  allocations = 0;
  insideExecute = 0;
  uint64_t executionsBefore = cpu::onednn::executions(), ownBefore = cpu::own::blocks();
  counting = true;
  fn();
  counting = false;
  return {allocations.load(), insideExecute.load(),
          cpu::onednn::executions() - executionsBefore, cpu::own::blocks() - ownBefore};
}

// What oneDNN 2.6 allocates per dnnl_primitive_execute on the paths here
// (measured: 6: five for its argument map, one in the execution); a bound,
// so that a change making it allocate per element or per call site shows.
constexpr uint64_t kPerExecution = 8;

void printStacks(uint64_t count) {
  for (int i = 0; i < kStacks && uint64_t(i) < count; ++i) {
    std::fprintf(stderr, "allocation #%d during the step:\n", i);
    backtrace_symbols_fd(stacks[i], stackDepth[i], STDERR_FILENO);
  }
}

void fillIds(PlanProgram &program, const char *name, int64_t vocab, uint32_t seed) {
  uint32_t id = program.get(name);
  int32_t *ids = program.dataAs<int32_t>(id);
  uint64_t count = program.tensor(id).size_bytes() / sizeof(int32_t);
  for (uint64_t i = 0; i < count; ++i)
    ids[i] = int32_t((i * 2654435761u + seed) % uint64_t(vocab));
}

class NoAllocation : public ::testing::TestWithParam<const char *> {};

TEST_P(NoAllocation, InAStepAfterTheFirst) {
  void *warm[2];
  backtrace(warm, 2); // loads the unwinder now, not while counting
  findExecute();
  SessionOptions options;
  options.backend = &cpu::cpuBackend();
  options.planPath = planPath(GetParam());
  options.threads = 2;
  options.allowUnpinned = true; // the offloaded plan's host arena
  Session session(options);
  session.initFromSeed(1);
  session.zeroOptimizerState();
  PlanProgram &program = session.program();
  const int64_t vocab = session.plan().model().vocab_size();
  const bool training = program.find("targets").has_value();
  ThreadPool optimizerPool(1);
  for (const plan::Stream &stream : session.plan().streams())
    if (stream.kind() == plan::HOST_OPTIMIZER)
      program.step().optimizerPool = &optimizerPool;

  const bool bf16Plan = std::string(GetParam()).find("bf16") != std::string::npos;
  const bool oneDnnDefault = cpu::f32GemmPath() == cpu::F32GemmPath::OneDnn ||
                             cpu::bf16GemmPath() == cpu::Bf16GemmPath::OneDnn;
  const bool ownPath = bf16Plan ? cpu::bf16GemmPath() == cpu::Bf16GemmPath::Own
                                : cpu::f32GemmPath() == cpu::F32GemmPath::Own;
  std::printf("f32 gemm: %s\nbf16 gemm: %s\n", cpu::f32GemmDescription().c_str(),
              cpu::bf16GemmDescription().c_str());
  for (int64_t step = 1; step <= 3; ++step) {
    fillIds(program, "input_ids", vocab, uint32_t(step));
    if (training)
      fillIds(program, "targets", vocab, uint32_t(step) + 7);
    program.step().optimizerStep = step;
    Counts count = allocationsDuring([&] { program.run(); });
    if (step == 1)
      continue; // the first step may warm up (thread pools, BLAS buffers)
    EXPECT_EQ(count.outside, 0u) << GetParam() << ": step " << step << " allocated";
    if (count.outside)
      printStacks(count.outside);
    if (oneDnnDefault) {
      EXPECT_LE(count.inExecute, kPerExecution * count.executions)
          << GetParam() << ": step " << step << ", inside oneDNN's execute";
    } else {
      EXPECT_EQ(count.executions, 0u) << GetParam() << ": step " << step
                                      << " ran oneDNN, which is not a default path here";
      EXPECT_EQ(count.inExecute, 0u) << GetParam() << ": step " << step;
    }
    if (ownPath)
      EXPECT_GT(count.ownBlocks, 0u) << GetParam() << ": step " << step
                                     << " ran no product on our kernel, this CPU's default";
    std::printf("%s step %lld: %llu allocations inside %llu oneDNN executions, %llu elsewhere; "
                "%llu blocks on our GEMM kernels\n",
                GetParam(), (long long)step, (unsigned long long)count.inExecute,
                (unsigned long long)count.executions, (unsigned long long)count.outside,
                (unsigned long long)count.ownBlocks);
  }
  if (training)
    EXPECT_TRUE(std::isfinite(*program.dataAs<float>(program.get("loss"))));
}

INSTANTIATE_TEST_SUITE_P(Plans, NoAllocation,
                         ::testing::Values("train.bin", "train_optimizer_stream.bin",
                                           "train_offloaded.bin", "forward.bin",
                                           "train_bf16.bin", "forward_bf16.bin"),
                         [](const auto &info) {
                           std::string name = info.param;
                           return name.substr(0, name.find('.'));
                         });

} // namespace
} // namespace off::train
