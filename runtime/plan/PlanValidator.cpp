#include "runtime/plan/Plan.h"

#include <algorithm>
#include <map>
#include <set>

namespace off::plan {
namespace {

// Collects problems with a uniform "what: why" wording.
struct Problems {
  std::vector<std::string> list;
  void add(std::string text) { list.push_back(std::move(text)); }
};

std::string tensorLabel(const Plan &plan, uint64_t id) {
  return "tensor " + std::to_string(id) + " '" + plan.tensors(static_cast<int>(id)).name() + "'";
}

// product(shape) * dtype size without overflow; nullopt on overflow or bad dims.
std::optional<uint64_t> expectedBytes(const Tensor &tensor) {
  uint64_t bytes = dtypeSize(tensor.dtype());
  if (bytes == 0)
    return std::nullopt;
  for (int64_t dim : tensor.shape()) {
    if (dim < 0 || (dim > 0 && bytes > UINT64_MAX / static_cast<uint64_t>(dim)))
      return std::nullopt;
    bytes *= static_cast<uint64_t>(dim);
  }
  return bytes;
}

// Compute copies: a non-trainable float PARAM naming an f32 PARAM of its
// shape that is no copy itself.
void checkCopies(const Plan &plan, Problems &problems) {
  std::map<std::string, int> byName;
  for (int id = 0; id < plan.tensors_size(); ++id)
    byName.emplace(plan.tensors(id).name(), id);
  for (int id = 0; id < plan.tensors_size(); ++id) {
    const Tensor &t = plan.tensors(id);
    if (t.copy_of().empty())
      continue;
    std::string label = tensorLabel(plan, id);
    auto it = byName.find(t.copy_of());
    if (t.role() != PARAM || t.trainable() ||
        (t.dtype() != F32 && t.dtype() != BF16 && t.dtype() != F16)) {
      problems.add(label + " is a compute copy (copy_of '" + t.copy_of() +
                   "') but not a non-trainable float param");
      continue;
    }
    if (it == byName.end()) {
      problems.add(label + " is a copy of '" + t.copy_of() + "', which is not a tensor of the plan");
      continue;
    }
    const Tensor &master = plan.tensors(it->second);
    if (master.role() != PARAM || master.dtype() != F32 || !master.copy_of().empty() ||
        !std::equal(master.shape().begin(), master.shape().end(), t.shape().begin(),
                    t.shape().end()))
      problems.add(label + " is a copy of " + tensorLabel(plan, uint64_t(it->second)) +
                   ", which must be an f32 param (no copy itself) of the same shape");
  }
}

void checkTensors(const Plan &plan, Problems &problems) {
  std::set<std::string> names;
  for (int id = 0; id < plan.tensors_size(); ++id) {
    const Tensor &t = plan.tensors(id);
    std::string label = tensorLabel(plan, id);
    if (t.name().empty())
      problems.add("tensor " + std::to_string(id) + " has no name");
    else if (!names.insert(t.name()).second)
      problems.add(label + " repeats a name");
    if (t.role() == ROLE_UNSPECIFIED)
      problems.add(label + " has no role");
    std::optional<uint64_t> bytes = expectedBytes(t);
    if (!bytes) {
      problems.add(label + " has an unknown dtype or a bad shape");
      continue;
    }
    if (*bytes != t.size_bytes())
      problems.add(label + " is " + std::to_string(t.size_bytes()) +
                   " bytes but its shape and dtype need " + std::to_string(*bytes));
    if (t.arena() >= static_cast<uint32_t>(plan.arenas_size())) {
      problems.add(label + " names arena " + std::to_string(t.arena()) + " of " +
                   std::to_string(plan.arenas_size()));
      continue;
    }
    const Arena &arena = plan.arenas(static_cast<int>(t.arena()));
    if (t.offset() > arena.size_bytes() || t.size_bytes() > arena.size_bytes() - t.offset())
      problems.add(label + " spans bytes [" + std::to_string(t.offset()) + ", " +
                   std::to_string(t.offset() + t.size_bytes()) + ") past the end of arena " +
                   std::to_string(t.arena()) + " (" + std::to_string(arena.size_bytes()) +
                   " bytes)");
    if (arena.alignment() > 1 && t.offset() % arena.alignment() != 0)
      problems.add(label + " offset " + std::to_string(t.offset()) +
                   " is not a multiple of the arena's alignment " +
                   std::to_string(arena.alignment()));
    bool isConstant = t.role() == CONSTANT;
    if (isConstant && t.initial_data().size() != t.size_bytes())
      problems.add(label + " is a constant with " + std::to_string(t.initial_data().size()) +
                   " bytes of data for " + std::to_string(t.size_bytes()));
    if (!isConstant && !t.initial_data().empty())
      problems.add(label + " has initial data but is not a constant");
    if ((t.role() == PARAM) != (t.init() != INIT_UNSPECIFIED))
      problems.add(label + (t.role() == PARAM ? " is a parameter without an init kind"
                                              : " has an init kind but is not a parameter"));
  }
  checkCopies(plan, problems);
}

void checkArenas(const Plan &plan, Problems &problems) {
  std::vector<uint64_t> perTier(plan.tiers_size(), 0);
  for (int a = 0; a < plan.arenas_size(); ++a) {
    const Arena &arena = plan.arenas(a);
    if (arena.tier() >= static_cast<uint32_t>(plan.tiers_size())) {
      problems.add("arena " + std::to_string(a) + " names tier " + std::to_string(arena.tier()) +
                   " of " + std::to_string(plan.tiers_size()));
      continue;
    }
    uint64_t &sum = perTier[arena.tier()];
    sum = arena.size_bytes() > UINT64_MAX - sum ? UINT64_MAX : sum + arena.size_bytes();
  }
  for (int t = 0; t < plan.tiers_size(); ++t) {
    const Tier &tier = plan.tiers(t);
    if (tier.kind() == TIER_UNSPECIFIED)
      problems.add("tier " + std::to_string(t) + " has no kind");
    if (tier.budget_bytes() != 0 && perTier[t] > tier.budget_bytes())
      problems.add("tier " + std::to_string(t) + " (" + TierKind_Name(tier.kind()) +
                   ") arenas need " + std::to_string(perTier[t]) + " bytes, over its budget of " +
                   std::to_string(tier.budget_bytes()));
  }
}

// Kernels that update their operands in place (their outputs are their
// inputs by design); every other kernel reads its inputs whole while it
// writes its outputs, so an output over an input computes something else.
bool updatesInPlace(const std::string &op) { return op == "adam_step"; }

bool overlap(const Tensor &a, const Tensor &b) {
  return a.arena() == b.arena() && a.size_bytes() && b.size_bytes() &&
         a.offset() < b.offset() + b.size_bytes() && b.offset() < a.offset() + a.size_bytes();
}

void checkNoAliasing(const Plan &plan, const Kernel &k, const std::string &where,
                     Problems &problems) {
  if (updatesInPlace(k.op()))
    return;
  auto valid = [&](uint32_t id) { return id < static_cast<uint32_t>(plan.tensors_size()); };
  for (uint32_t out : k.outputs())
    for (uint32_t in : k.inputs())
      if (valid(out) && valid(in) && overlap(plan.tensors(out), plan.tensors(in))) {
        problems.add(where + " (" + k.op() + "): writes its output " + tensorLabel(plan, out) +
                     " over its input " + tensorLabel(plan, in) + " (arena " +
                     std::to_string(plan.tensors(out).arena()) + ")");
        return;
      }
  for (int a = 0; a < k.outputs_size(); ++a)
    for (int b = a + 1; b < k.outputs_size(); ++b)
      if (valid(k.outputs(a)) && valid(k.outputs(b)) &&
          overlap(plan.tensors(k.outputs(a)), plan.tensors(k.outputs(b)))) {
        problems.add(where + " (" + k.op() + "): outputs " + tensorLabel(plan, k.outputs(a)) +
                     " and " + tensorLabel(plan, k.outputs(b)) + " overlap");
        return;
      }
}

void checkStreams(const Plan &plan, Problems &problems) {
  auto tensorOk = [&](uint32_t id) { return id < static_cast<uint32_t>(plan.tensors_size()); };
  std::set<uint32_t> recorded;
  for (int s = 0; s < plan.streams_size(); ++s) {
    const Stream &stream = plan.streams(s);
    for (int i = 0; i < stream.instructions_size(); ++i) {
      const Instruction &inst = stream.instructions(i);
      std::string where = "stream " + std::to_string(s) + " instruction " + std::to_string(i);
      switch (inst.kind_case()) {
      case Instruction::kKernel: {
        const Kernel &k = inst.kernel();
        if (k.op().empty())
          problems.add(where + ": kernel without an op name");
        for (uint32_t id : k.inputs())
          if (!tensorOk(id))
            problems.add(where + " (" + k.op() + "): input tensor " + std::to_string(id) + " does not exist");
        for (uint32_t id : k.outputs())
          if (!tensorOk(id))
            problems.add(where + " (" + k.op() + "): output tensor " + std::to_string(id) + " does not exist");
        checkNoAliasing(plan, k, where, problems);
        if (k.has_workspace()) {
          if (!tensorOk(k.workspace()))
            problems.add(where + " (" + k.op() + "): workspace tensor " +
                         std::to_string(k.workspace()) + " does not exist");
          else if (plan.tensors(int(k.workspace())).role() != WORKSPACE)
            problems.add(where + " (" + k.op() + "): its workspace " +
                         tensorLabel(plan, k.workspace()) + " is not a WORKSPACE tensor");
          else
            for (const auto *ids : {&k.inputs(), &k.outputs()})
              for (uint32_t id : *ids)
                if (tensorOk(id) && overlap(plan.tensors(int(id)), plan.tensors(int(k.workspace()))))
                  problems.add(where + " (" + k.op() + "): its workspace " +
                               tensorLabel(plan, k.workspace()) + " overlaps its operand " +
                               tensorLabel(plan, id));
        }
        break;
      }
      case Instruction::kCopy: {
        const Copy &c = inst.copy();
        if (!tensorOk(c.src()) || !tensorOk(c.dst()))
          problems.add(where + ": copy between tensors that do not exist");
        else if (plan.tensors(c.src()).size_bytes() != plan.tensors(c.dst()).size_bytes())
          problems.add(where + ": copy from " + tensorLabel(plan, c.src()) + " to " +
                       tensorLabel(plan, c.dst()) + " of a different size");
        break;
      }
      case Instruction::kRecordEvent:
        if (inst.record_event() >= plan.num_events())
          problems.add(where + ": records event " + std::to_string(inst.record_event()) +
                       " of " + std::to_string(plan.num_events()));
        recorded.insert(inst.record_event());
        break;
      case Instruction::kWaitEvent:
        if (inst.wait_event() >= plan.num_events())
          problems.add(where + ": waits for event " + std::to_string(inst.wait_event()) +
                       " of " + std::to_string(plan.num_events()));
        break;
      default:
        problems.add(where + ": empty instruction");
      }
    }
  }
  for (const Stream &stream : plan.streams())
    for (const Instruction &inst : stream.instructions())
      if (inst.kind_case() == Instruction::kWaitEvent && inst.wait_event() < plan.num_events() &&
          !recorded.count(inst.wait_event()))
        problems.add("event " + std::to_string(inst.wait_event()) +
                     " is waited for but never recorded (the step would hang)");
}

} // namespace

std::vector<std::string> validatePlan(const Plan &plan) {
  Problems problems;
  if (plan.format_version() != kFormatVersion) {
    problems.add("format version " + std::to_string(plan.format_version()) +
                 ", this offrt reads version " + std::to_string(kFormatVersion) +
                 " (recompile the plan with a matching offc)");
    return problems.list;
  }
  if (plan.tiers_size() == 0 || plan.streams_size() == 0)
    problems.add("no tiers or no streams");
  checkArenas(plan, problems);
  checkTensors(plan, problems);
  checkStreams(plan, problems);
  return problems.list;
}

} // namespace off::plan
