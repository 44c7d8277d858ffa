// offrt inspect PLAN.bin [--tensors]: what a plan holds, read the way the
// runtime reads it (framing, checksum and validation first). For people
// looking at a plan, and for tests that check what offc wrote.

#include "runtime/common/CliCommand.h"
#include "runtime/common/HumanSize.h"
#include "runtime/plan/Plan.h"
#include "runtime/plan/PlanVocabulary.h"

#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace off::offrt {
namespace {

std::string shapeText(const plan::Tensor &tensor) {
  std::string text = "[";
  for (int i = 0; i < tensor.shape_size(); ++i)
    text += (i ? ", " : "") + std::to_string(tensor.shape(i));
  return text + "]";
}

std::string dtypeText(plan::DType dtype) {
  std::optional<DType> known = plan::toDType(dtype);
  return known ? dtypeName(*known) : "?";
}

std::string roleText(plan::Role role) {
  switch (role) {
  case plan::PARAM: return "param";
  case plan::GRAD: return "grad";
  case plan::OPTIMIZER_STATE: return "optimizer_state";
  case plan::ACTIVATION: return "activation";
  case plan::INPUT: return "input";
  case plan::OUTPUT: return "output";
  case plan::CONSTANT: return "constant";
  default: return "?";
  }
}

std::string tierText(plan::TierKind kind) {
  std::optional<Tier> known = plan::toTier(kind);
  return known ? tierName(*known) : "?";
}

std::string streamText(plan::StreamKind kind) {
  std::optional<StreamKind> known = plan::toStreamKind(kind);
  return known ? streamKindName(*known) : "?";
}

void printSummary(const plan::Plan &plan, std::ostream &out) {
  const plan::Model &model = plan.model();
  out << "producer: " << plan.producer() << " (format " << plan.format_version()
      << ")\n";
  out << "entry: " << (model.entry().empty() ? "?" : model.entry())
      << "  model: " << model.name() << "  batch " << model.batch() << " x seq "
      << model.seq() << ", grad-accum " << model.grad_accum() << ", vocab "
      << model.vocab_size() << "\n";
  if (model.entry() != "forward") {
    const plan::Hyper &h = plan.hyper();
    out << "adamw: lr " << h.lr() << ", betas " << h.beta1() << "," << h.beta2()
        << ", eps " << h.eps() << ", weight decay " << h.weight_decay()
        << ", clip " << h.max_grad_norm() << "\n";
  }
  for (int i = 0; i < plan.tiers_size(); ++i)
    out << "tier " << i << ": " << tierText(plan.tiers(i).kind()) << ", budget "
        << (plan.tiers(i).budget_bytes() ? formatHumanSize(plan.tiers(i).budget_bytes())
                                         : std::string("unlimited"))
        << "\n";
  for (int i = 0; i < plan.arenas_size(); ++i)
    out << "arena " << i << ": tier " << plan.arenas(i).tier() << ", "
        << formatHumanSize(plan.arenas(i).size_bytes()) << ", alignment "
        << plan.arenas(i).alignment() << "\n";
  std::map<std::string, std::pair<int, uint64_t>> roles; // count, bytes
  int trainable = 0;
  for (const plan::Tensor &tensor : plan.tensors()) {
    auto &entry = roles[roleText(tensor.role())];
    ++entry.first;
    entry.second += tensor.size_bytes();
    trainable += tensor.trainable();
  }
  out << "tensors: " << plan.tensors_size() << " (" << trainable << " trainable)\n";
  for (const auto &[role, entry] : roles)
    out << "  " << role << ": " << entry.first << ", "
        << formatHumanSize(entry.second) << "\n";
  for (const plan::Stream &stream : plan.streams()) {
    std::map<std::string, int> ops;
    for (const plan::Instruction &instruction : stream.instructions())
      ++ops[instruction.has_kernel()   ? instruction.kernel().op()
            : instruction.has_copy()   ? std::string("(copy)")
                                       : std::string("(event)")];
    out << "stream " << streamText(stream.kind()) << ": "
        << stream.instructions_size() << " instructions:";
    for (const auto &[op, count] : ops)
      out << " " << op << " x" << count;
    out << "\n";
  }
  out << "events: " << plan.num_events() << "\n";
}

std::string initText(plan::InitKind init) {
  switch (init) {
  case plan::INIT_NORMAL: return "normal";
  case plan::INIT_ONES: return "ones";
  case plan::INIT_ZEROS: return "zeros";
  default: return "-";
  }
}

void printTensors(const plan::Plan &plan, std::ostream &out) {
  out << "id\trole\tdtype\tshape\tarena\toffset\tbytes\tinit\tname\n";
  for (int i = 0; i < plan.tensors_size(); ++i) {
    const plan::Tensor &t = plan.tensors(i);
    out << i << "\t" << roleText(t.role()) << (t.trainable() ? "*" : "") << "\t"
        << dtypeText(t.dtype()) << "\t" << shapeText(t) << "\t" << t.arena() << "\t"
        << t.offset() << "\t" << t.size_bytes() << "\t" << initText(t.init()) << "\t"
        << t.name() << "\n";
  }
}

} // namespace

int runInspect(const std::vector<std::string> &args) {
  std::string path;
  bool tensors = false;
  cli::Command cmd("offrt inspect", "PLAN.bin [--tensors]",
                   "Reads and validates a plan as `offrt train` does, then prints its model,\n"
                   "hyper-parameters, tiers, arenas, tensors by role and instructions by op.");
  cmd.positional("PLAN.bin", path, "the plan");
  cmd.flag("--tensors", tensors,
           "also list every tensor (role, * = trainable,\ndtype, shape, arena, offset, "
           "bytes, init kind, name)");
  if (std::optional<int> exit = cmd.parse(args))
    return *exit;
  if (path.empty())
    return cmd.usageError("no plan given");
  std::string error;
  std::optional<plan::Plan> plan = plan::readPlanFile(path, error);
  if (!plan) {
    std::cerr << "offrt inspect: error: " << error << "\n";
    return 1;
  }
  std::cout << path << "\n";
  printSummary(*plan, std::cout);
  if (tensors)
    printTensors(*plan, std::cout);
  return 0;
}

} // namespace off::offrt
