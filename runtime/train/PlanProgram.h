// plan.bin -> an executable program on a backend: the plan's arenas, tensors
// as slices, and every instruction bound to what runs it (the backend's
// kernel for the stream's kind, looked up and validated once, `adam_step`
// included; exec's copies and events).
//
// Everything a plan can get wrong is found here, before any step runs, and
// reported naming the plan file and the instruction: an op without a
// kernel, shapes, dtypes or attributes a kernel refuses (an adam_step's
// operands of other shapes, hyper-parameters torch rejects).
#pragma once
#include "runtime/backend/Backend.h"
#include "runtime/common/Parallel.h"
#include "runtime/exec/Executor.h"
#include "runtime/plan/Plan.h"
#include "runtime/train/KernelProfile.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace off::train {

/// A plan that cannot be run as written; the message names the file.
class PlanError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct PlanProgramOptions {
  exec::ExecutorOptions executor;
  /// Where a plan with NVMe arenas keeps them (offrt --nvme DIR): the
  /// program then runs its NVMe copies on an exec::EngineNvmeBackend (the
  /// io_uring engine) that it owns, unless executor.nvme names a backend.
  exec::NvmeStorageOptions nvme;
};

/// A loaded plan, ready to run steps. Tensors are addressed by plan id or
/// name; their memory is valid between runs.
class PlanProgram {
public:
  /// Validates `plan` (read from `path`, named in errors), binds every
  /// instruction to `backend`'s kernels and allocates the arenas there.
  /// Throws PlanError. `backend` must outlive the program.
  PlanProgram(backend::Backend &backend, plan::Plan plan, std::string path,
              PlanProgramOptions options = {});
  PlanProgram(const PlanProgram &) = delete; // its executor calls back into it
  PlanProgram &operator=(const PlanProgram &) = delete;

  const plan::Plan &plan() const { return plan_; }
  const std::string &path() const { return path_; }

  /// Id of the tensor called `name`, or nullopt.
  std::optional<uint32_t> find(const std::string &name) const;
  /// Id of `name`; throws PlanError naming the plan when it is missing.
  uint32_t get(const std::string &name) const;
  const plan::Tensor &tensor(uint32_t id) const { return plan_.tensors(int(id)); }
  /// The host address of a tensor's bytes (throws when the backend's memory
  /// is not host-accessible: use write / read).
  std::byte *data(uint32_t id) const;
  template <typename T> T *dataAs(uint32_t id) const {
    return reinterpret_cast<T *>(data(id));
  }
  /// Whether data(id) works: the tensor's arena is memory the host can
  /// address (not the NVMe tier, not a GPU's memory).
  bool hostAddressable(uint32_t id) const;
  /// Copies a whole tensor (size_bytes) from / to host memory, between runs,
  /// whatever its tier (NVMe through the program's NVMe backend).
  void write(uint32_t id, const void *hostSrc);
  void read(uint32_t id, void *hostDst) const;
  /// The same for the bytes [offset, offset + bytes) of a tensor.
  void write(uint32_t id, uint64_t offset, const void *hostSrc, uint64_t bytes);
  void read(uint32_t id, uint64_t offset, void *hostDst, uint64_t bytes) const;
  /// Ids of the tensors with `role`, in plan order.
  std::vector<uint32_t> withRole(plan::Role role) const;

  /// What the step's kernels read that changes between runs: the AdamW step
  /// count, a learning-rate override, the host optimizer's thread pool
  /// (nullptr: the default pool, shared with the compute kernels; a plan
  /// with a host-optimizer stream gets its own). Set between runs.
  backend::StepContext &step() { return *step_; }

  /// Called with each kernel instruction of the plan just before it runs
  /// (from the stream's thread; several streams may call at once), e.g. to
  /// copy the gradient an adam_step is about to read (--save-grads). Set
  /// between runs; an empty function removes it.
  void setBeforeKernel(std::function<void(const plan::Kernel &, uint32_t stream)> hook) {
    beforeKernel_ = std::move(hook);
  }
  /// From a before-kernel hook on `stream`: copies tensor `id` to host
  /// memory as the stream sees it at that instruction. Where the memory is
  /// not host-addressable (a GPU's), the stream is synchronized first: its
  /// earlier kernels and the events it waited for have then completed.
  void readAt(uint32_t stream, uint32_t id, void *hostDst) const;

  /// Adds each kernel instruction's time (from before its launch to its
  /// completion on the stream's thread: the kernel's wall time on a
  /// synchronous backend such as the CPU's) to `profile`, by op name, while
  /// set. Set between runs; nullptr stops it. Not owned.
  void setProfile(KernelProfile *profile) { profile_ = profile; }

  /// Runs every stream of the plan once. Throws exec::ExecError.
  void run();

  const exec::Executor &executor() const { return *executor_; }
  /// The NVMe backend the program made (null when the plan has no NVMe
  /// arena or the caller gave one).
  const exec::EngineNvmeBackend *nvme() const {
    return static_cast<const exec::EngineNvmeBackend *>(nvme_.get());
  }

private:
  plan::Plan plan_;
  std::string path_;
  std::map<std::string, uint32_t> byName_;
  std::vector<exec::Slice> slices_;
  void beforeInstruction(uint32_t stream, uint32_t index) const;
  void afterInstruction(uint32_t stream, uint32_t index) const;

  std::unique_ptr<backend::StepContext> step_;
  std::function<void(const plan::Kernel &, uint32_t)> beforeKernel_;
  KernelProfile *profile_ = nullptr;
  /// Per stream: when its current instruction started (profiling).
  mutable std::vector<std::chrono::steady_clock::time_point> started_;
  std::unique_ptr<exec::NvmeBackend> nvme_; // owned when made from options.nvme
  std::unique_ptr<exec::Executor> executor_;
};

} // namespace off::train
