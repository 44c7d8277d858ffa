// See PlanProgram.h.

#include "runtime/train/PlanProgram.h"

#include "runtime/common/HumanSize.h"
#include "runtime/plan/PlanKernel.h"
#include "runtime/plan/PlanVocabulary.h"

#include <cstring>
#include <span>
#include <utility>

namespace off::train {
namespace {

using backend::TensorArg;

Tier execTier(plan::TierKind kind) {
  if (std::optional<Tier> known = plan::toTier(kind))
    return *known;
  throw std::invalid_argument("tier without a kind");
}

StreamKind execStreamKind(plan::StreamKind kind) {
  if (std::optional<StreamKind> known = plan::toStreamKind(kind))
    return *known;
  throw std::invalid_argument("stream without a kind");
}

/// Binds one plan instruction list; shared state lives in the PlanProgram.
class Binder {
public:
  Binder(backend::Backend &backend, const plan::Plan &plan,
         const std::vector<exec::Slice> &slices, const std::vector<Tier> &tensorTiers)
      : backend_(backend), plan_(plan), slices_(slices), tiers_(tensorTiers) {}

  /// Kernels of the compute stream read and write the device tier; those of
  /// the host-optimizer stream work where their tensors are (host memory, or
  /// on the CPU backend the device arena, which is host memory too). Each
  /// stream's kernels come from the backend's table for its kind.
  void setStream(StreamKind kind) { stream_ = kind; }

  exec::Instruction bind(const plan::Instruction &instruction) const {
    switch (instruction.kind_case()) {
    case plan::Instruction::kKernel:
      return bindKernel(instruction.kernel());
    case plan::Instruction::kCopy:
      return bindCopy(instruction.copy());
    case plan::Instruction::kRecordEvent:
      return exec::RecordInstr{instruction.record_event()};
    case plan::Instruction::kWaitEvent:
      return exec::WaitInstr{instruction.wait_event()};
    default: throw std::invalid_argument("empty instruction");
    }
  }

private:
  /// A copy with one side on NVMe is a transfer through the NVMe backend
  /// (nvme-read into host memory, nvme-write out of it); exec checks the
  /// other side is in the host tier.
  exec::Instruction bindCopy(const plan::Copy &copy) const {
    const exec::Slice &src = slices_[copy.src()], &dst = slices_[copy.dst()];
    const bool fromNvme = tiers_[copy.src()] == Tier::Nvme;
    const bool toNvme = tiers_[copy.dst()] == Tier::Nvme;
    if (fromNvme && toNvme) {
      std::string what = "copy from NVMe to NVMe: '";
      what += plan_.tensors(int(copy.src())).name();
      what += "' -> '";
      what += plan_.tensors(int(copy.dst())).name();
      throw std::invalid_argument(what + "'");
    }
    if (fromNvme)
      return exec::NvmeReadInstr{dst, src};
    if (toNvme)
      return exec::NvmeWriteInstr{dst, src};
    return exec::CopyInstr{dst, src};
  }

  TensorArg tensorArg(uint32_t id) const { return plan::tensorArg(plan_.tensors(int(id))); }
  exec::KernelArg arg(uint32_t id, exec::Access access) const {
    Tier tier = stream_ == StreamKind::Compute ? Tier::Device : tiers_[id];
    return exec::KernelArg{slices_[id], tier, access};
  }

  /// "inputs 'x', 'w'; outputs 'y'": for messages about a kernel's operands.
  std::string operandNames(const plan::Kernel &kernel) const {
    auto names = [&](const auto &ids) {
      std::string text;
      for (uint32_t id : ids)
        text += (text.empty() ? "'" : ", '") + plan_.tensors(int(id)).name() + "'";
      return text;
    };
    return "inputs " + names(kernel.inputs()) + "; outputs " + names(kernel.outputs());
  }

  exec::KernelInstr bindKernel(const plan::Kernel &kernel) const {
    std::vector<TensorArg> inputs, outputs;
    std::vector<exec::KernelArg> args;
    for (uint32_t id : kernel.inputs()) {
      inputs.push_back(tensorArg(id));
      args.push_back(arg(id, exec::Access::Read));
    }
    for (uint32_t id : kernel.outputs()) {
      outputs.push_back(tensorArg(id));
      args.push_back(arg(id, exec::Access::Write));
    }
    // Looked up and validated now; a bad plan never starts running.
    exec::KernelInstr instr;
    instr.name = kernel.op();
    try {
      instr.kernel = std::make_shared<backend::BoundKernel>(
          backend_.kernels(stream_), kernel.op(), std::move(inputs), std::move(outputs),
          plan::kernelAttrs(kernel));
    } catch (const std::invalid_argument &error) {
      throw std::invalid_argument(std::string(error.what()) + " (" + operandNames(kernel) + ")");
    }
    // The plan's workspace: at least what the kernel's rule asks for.
    uint64_t given = kernel.has_workspace() ? slices_[kernel.workspace()].size : 0;
    if (given < instr.kernel->workspaceBytes())
      throw std::invalid_argument(
          kernel.op() + " needs " + std::to_string(instr.kernel->workspaceBytes()) +
          " bytes of workspace, the plan gives it " + std::to_string(given) +
          (kernel.has_workspace() ? " ('" + plan_.tensors(int(kernel.workspace())).name() + "')"
                                  : std::string(" (none)")) +
          "; recompile the plan with this offc");
    if (kernel.has_workspace()) {
      args.push_back(arg(kernel.workspace(), exec::Access::Write));
      instr.workspace = true;
    }
    instr.args = std::move(args);
    return instr;
  }

  backend::Backend &backend_;
  const plan::Plan &plan_;
  const std::vector<exec::Slice> &slices_;
  const std::vector<Tier> &tiers_;
  StreamKind stream_ = StreamKind::Compute;
};

bool residentAtStart(plan::Role role) {
  return role == plan::PARAM || role == plan::OPTIMIZER_STATE ||
         role == plan::CONSTANT || role == plan::INPUT;
}

} // namespace

PlanProgram::PlanProgram(backend::Backend &backend, plan::Plan plan, std::string path,
                         PlanProgramOptions options)
    : plan_(std::move(plan)), path_(std::move(path)),
      step_(std::make_unique<backend::StepContext>()) {
  if (std::vector<std::string> problems = plan::validatePlan(plan_); !problems.empty())
    throw PlanError(path_ + ": invalid plan: " + problems.front());

  exec::Program program;
  for (int i = 0; i < plan_.arenas_size(); ++i) {
    const plan::Arena &arena = plan_.arenas(i);
    const plan::Tier &tier = plan_.tiers(int(arena.tier()));
    exec::ArenaSpec spec;
    spec.tier = execTier(tier.kind());
    spec.name = std::string(tierName(spec.tier)) + "." + std::to_string(i);
    spec.size = arena.size_bytes();
    spec.budget = tier.budget_bytes();
    program.arenas.push_back(spec);
  }
  std::vector<Tier> tensorTiers;
  for (int id = 0; id < plan_.tensors_size(); ++id) {
    const plan::Tensor &tensor = plan_.tensors(id);
    if (!byName_.emplace(tensor.name(), uint32_t(id)).second)
      throw PlanError(path_ + ": two tensors are called '" + tensor.name() + "'");
    slices_.push_back({tensor.arena(), tensor.offset(), tensor.size_bytes()});
    tensorTiers.push_back(program.arenas[tensor.arena()].tier);
    if (residentAtStart(tensor.role()) && tensor.size_bytes() > 0)
      program.residentAtStart.push_back(slices_.back());
  }
  Binder binder(backend, plan_, slices_, tensorTiers);
  for (int s = 0; s < plan_.streams_size(); ++s) {
    const plan::Stream &planStream = plan_.streams(s);
    exec::Stream stream;
    stream.spec.kind = execStreamKind(planStream.kind());
    stream.spec.name = std::string(streamKindName(stream.spec.kind)) +
                       (s ? "." + std::to_string(s) : "");
    binder.setStream(stream.spec.kind);
    for (int i = 0; i < planStream.instructions_size(); ++i) {
      try {
        stream.instructions.push_back(binder.bind(planStream.instructions(i)));
      } catch (const std::exception &error) {
        throw PlanError(path_ + ": stream " + std::to_string(s) + " instruction #" +
                        std::to_string(i) + ": " + error.what());
      }
    }
    program.streams.push_back(std::move(stream));
  }
  program.eventCount = plan_.num_events();
  bool hasNvme = false;
  uint64_t nvmeBytes = 0;
  for (const exec::ArenaSpec &arena : program.arenas)
    if (arena.tier == Tier::Nvme) {
      hasNvme = true;
      nvmeBytes += arena.size;
    }
  if (hasNvme && !options.executor.nvme) {
    if (options.nvme.directories.empty())
      throw PlanError(path_ + ": the plan keeps " + formatHumanSize(nvmeBytes) +
                      " on NVMe; give a directory for it (offrt --nvme DIR)");
    try {
      nvme_ = std::make_unique<exec::EngineNvmeBackend>(options.nvme);
    } catch (const std::exception &error) {
      throw PlanError(path_ + ": " + error.what());
    }
    options.executor.nvme = nvme_.get();
  }
  // setBeforeKernel's hook, after the caller's own.
  options.executor.beforeInstruction =
      [this, outer = std::move(options.executor.beforeInstruction)](uint32_t stream,
                                                                     uint32_t index) {
        if (outer)
          outer(stream, index);
        beforeInstruction(stream, index);
      };
  started_.resize(size_t(plan_.streams_size()));
  options.executor.afterInstruction =
      [this, outer = std::move(options.executor.afterInstruction)](uint32_t stream,
                                                                    uint32_t index) {
        if (outer)
          outer(stream, index);
        afterInstruction(stream, index);
      };
  try {
    executor_ = std::make_unique<exec::Executor>(backend, std::move(program), options.executor);
  } catch (const backend::PinningError &) {
    throw;
  } catch (const std::exception &error) {
    throw PlanError(path_ + ": " + error.what());
  }
  for (int id = 0; id < plan_.tensors_size(); ++id)
    if (plan_.tensors(id).role() == plan::CONSTANT)
      write(uint32_t(id), plan_.tensors(id).initial_data().data());
}

std::optional<uint32_t> PlanProgram::find(const std::string &name) const {
  auto it = byName_.find(name);
  if (it == byName_.end())
    return std::nullopt;
  return it->second;
}

uint32_t PlanProgram::get(const std::string &name) const {
  std::optional<uint32_t> id = find(name);
  if (!id)
    throw PlanError(path_ + ": the plan has no tensor '" + name + "'");
  return *id;
}

std::byte *PlanProgram::data(uint32_t id) const { return executor_->pointer(slices_[id]); }

void PlanProgram::write(uint32_t id, const void *hostSrc) {
  executor_->write(slices_[id], hostSrc, slices_[id].size);
}

void PlanProgram::read(uint32_t id, void *hostDst) const {
  executor_->read(slices_[id], hostDst, slices_[id].size);
}

bool PlanProgram::hostAddressable(uint32_t id) const {
  return executor_->hostAddressable(slices_.at(id));
}

void PlanProgram::write(uint32_t id, uint64_t offset, const void *hostSrc, uint64_t bytes) {
  executor_->write(slices_.at(id), offset, hostSrc, bytes);
}

void PlanProgram::read(uint32_t id, uint64_t offset, void *hostDst, uint64_t bytes) const {
  executor_->read(slices_.at(id), offset, hostDst, bytes);
}

std::vector<uint32_t> PlanProgram::withRole(plan::Role role) const {
  std::vector<uint32_t> ids;
  for (int id = 0; id < plan_.tensors_size(); ++id)
    if (plan_.tensors(id).role() == role)
      ids.push_back(uint32_t(id));
  return ids;
}

void PlanProgram::run() { executor_->run(*step_); }

void PlanProgram::readAt(uint32_t stream, uint32_t id, void *hostDst) const {
  if (!hostAddressable(id))
    executor_->synchronize(stream);
  read(id, hostDst);
}

void PlanProgram::beforeInstruction(uint32_t stream, uint32_t index) const {
  if (beforeKernel_) {
    const plan::Instruction &instruction = plan_.streams(int(stream)).instructions(int(index));
    if (instruction.has_kernel())
      beforeKernel_(instruction.kernel(), stream);
  }
  if (profile_) // last, so that the hook's own time is not counted
    started_[stream] = std::chrono::steady_clock::now();
}

void PlanProgram::afterInstruction(uint32_t stream, uint32_t index) const {
  if (!profile_)
    return;
  const plan::Instruction &instruction = plan_.streams(int(stream)).instructions(int(index));
  if (instruction.has_kernel())
    profile_->add(instruction.kernel().op(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                started_[stream])
                      .count());
}

} // namespace off::train
