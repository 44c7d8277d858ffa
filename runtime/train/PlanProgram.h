// plan.bin -> an executable program on a backend: the plan's arenas, tensors
// as slices, and every instruction bound to what runs it (the backend's
// kernel for the stream's kind, looked up and validated once; the CPU AdamW
// for `adam_step`; exec's copies and events).
//
// Everything a plan can get wrong is found here, before any step runs, and
// reported naming the plan file and the instruction: an op without a
// kernel, shapes a kernel refuses, an adam_step whose operands are not a
// parameter and its two moments.
#pragma once
#include "runtime/backend/Backend.h"
#include "runtime/common/Parallel.h"
#include "runtime/exec/Executor.h"
#include "runtime/plan/Plan.h"

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

/// What the optimizer kernels read at run time (set between steps).
struct OptimizerControl {
  int64_t step = 1;               // 1-based AdamW step count
  std::optional<double> lr;       // overrides each adam_step's lr attribute
  /// Called with (param name, grad data, element count) before a param is
  /// updated, i.e. with the summed, unclipped gradient (--save-grads).
  std::function<void(const std::string &, const float *, size_t)> captureGrad;
  /// The threads AdamW uses (nullptr: the default pool, shared with the
  /// compute kernels; a plan with a host-optimizer stream gets its own).
  ThreadPool *pool = nullptr;
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
  /// Copies a whole tensor (size_bytes) from / to host memory, between runs.
  void write(uint32_t id, const void *hostSrc);
  void read(uint32_t id, void *hostDst) const;
  /// Ids of the tensors with `role`, in plan order.
  std::vector<uint32_t> withRole(plan::Role role) const;

  OptimizerControl &optimizer() { return *optimizer_; }

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
  std::unique_ptr<OptimizerControl> optimizer_;
  std::unique_ptr<exec::NvmeBackend> nvme_; // owned when made from options.nvme
  std::unique_ptr<exec::Executor> executor_;
};

} // namespace off::train
