// A training step allocates nothing after the first: the plans offc makes
// for the tiny Llama (gradient accumulation, clipping, the host-optimizer
// stream; params, grads and activations offloaded to the host tier; a
// forward plan) run through PlanProgram (executor, every kernel,
// AdamW) while this binary counts every heap allocation of the process: it
// interposes malloc and its family (which operator new, std::vector,
// std::function and OpenBLAS all end in), counting while a step after the
// first runs. The plans come from the ctest fixture `alloc_plans`
// (OFF_ALLOC_PLAN_DIR); a missing plan is a failure, never a skip. f32
// GEMM runs on the OpenBLAS path (see openBlasGemm below).
#include "runtime/cpu/CpuBackend.h"
#include "runtime/train/Session.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <execinfo.h>
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

// f32 GEMM on our OpenBLAS path. oneDNN's matmul (chosen by default where
// its f32 kernel is AVX-512/AMX brgemm) allocates inside every
// primitive execute (its argument map and memory objects), which a plan
// cannot size: that path is not covered by this test (docs/blas.md). Set
// before the first GEMM picks its path.
const bool openBlasGemm = [] { return setenv("OFF_F32_GEMM", "openblas", 1) == 0; }();

std::atomic<bool> counting{false};
std::atomic<uint64_t> allocations{0};
// The call stacks of the first allocations counted (printed on failure).
constexpr int kStacks = 400, kFrames = 24;
void *stacks[kStacks][kFrames];
std::atomic<int> stackDepth[kStacks];
thread_local bool inHook = false;

void counted() {
  if (!counting.load(std::memory_order_relaxed) || inHook)
    return;
  inHook = true;
  uint64_t n = allocations.fetch_add(1);
  if (n < kStacks)
    stackDepth[n] = backtrace(stacks[n], kFrames);
  inHook = false;
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

/// Counted allocations while `fn` runs.
template <typename F> uint64_t allocationsDuring(F &&fn) {
  allocations = 0;
  counting = true;
  fn();
  counting = false;
  return allocations.load();
}

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

  for (int64_t step = 1; step <= 3; ++step) {
    fillIds(program, "input_ids", vocab, uint32_t(step));
    if (training)
      fillIds(program, "targets", vocab, uint32_t(step) + 7);
    program.step().optimizerStep = step;
    uint64_t count = allocationsDuring([&] { program.run(); });
    if (step == 1)
      continue; // the first step may warm up (thread pools, BLAS buffers)
    EXPECT_EQ(count, 0u) << GetParam() << ": step " << step << " allocated";
    if (count)
      printStacks(count);
  }
  if (training)
    EXPECT_TRUE(std::isfinite(*program.dataAs<float>(program.get("loss"))));
}

INSTANTIATE_TEST_SUITE_P(Plans, NoAllocation,
                         ::testing::Values("train.bin", "train_optimizer_stream.bin",
                                           "train_offloaded.bin", "forward.bin"),
                         [](const auto &info) {
                           std::string name = info.param;
                           return name.substr(0, name.find('.'));
                         });

} // namespace
} // namespace off::train
