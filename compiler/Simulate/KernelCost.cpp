// See KernelCost.h.

#include "compiler/Simulate/KernelCost.h"
#include "runtime/common/KernelWork.h"

#include <algorithm>
#include <map>

namespace off::sim {
namespace {

uint64_t elements(const plan::Tensor &t) {
  uint64_t n = 1;
  for (int64_t dim : t.shape())
    n *= uint64_t(dim);
  return n;
}

const plan::Tensor &operand(const plan::Plan &plan, const plan::Kernel &k, int i) {
  return plan.tensors(int(k.inputs(i)));
}

bool flag(const plan::Kernel &k, const char *name) {
  auto it = k.attrs().find(name);
  return it != k.attrs().end() && it->second.value_case() == plan::Attr::kB && it->second.b();
}

/// Matmul, attention and their gradients run on tensor cores at the rate of
/// their operands' dtype; everything else is vector arithmetic, costed at
/// the f32 rate (and, for realistic shapes, bound by bandwidth anyway).
bool usesMatrixUnits(const std::string &op) {
  return op == "matmul" || op == "attention" || op == "attention_grad";
}

const char *dtypeKey(plan::DType dtype) {
  switch (dtype) {
  case plan::F32: return "f32";
  case plan::BF16: return "bf16";
  case plan::F16: return "f16";
  default: return "f32";
  }
}

/// B*Hq*T*S scores and the two head dims of an attention (q, k, v first).
struct AttentionShape {
  uint64_t scores = 0, dq = 0, dv = 0;
};
std::optional<AttentionShape> attentionShape(const plan::Plan &plan, const plan::Kernel &k) {
  if (k.inputs_size() < 3)
    return std::nullopt;
  const plan::Tensor &q = operand(plan, k, 0), &key = operand(plan, k, 1),
                     &v = operand(plan, k, 2);
  if (q.shape_size() != 4 || key.shape_size() != 4 || v.shape_size() != 4)
    return std::nullopt;
  AttentionShape s;
  s.scores = uint64_t(q.shape(0)) * uint64_t(q.shape(1)) * uint64_t(q.shape(2)) *
             uint64_t(key.shape(2));
  s.dq = uint64_t(q.shape(3));
  s.dv = uint64_t(v.shape(3));
  return s;
}

/// The measured time curve of kernel `k` in `profile`, if it has one: keyed
/// by the op and its first non-integer operand's dtype (and for matmul the
/// operand layout), as offrt calibrate wrote it.
const KernelTimeCurve *measuredCurve(const plan::Plan &plan, const plan::Kernel &k,
                                     const DeviceProfile &profile) {
  if (profile.kernelTimes.empty())
    return nullptr;
  const char *dtype = nullptr;
  for (uint32_t id : k.inputs()) {
    plan::DType d = plan.tensors(int(id)).dtype();
    if (d != plan::I32 && d != plan::I64) {
      dtype = d == plan::F64 ? "f64" : dtypeKey(d);
      break;
    }
  }
  if (!dtype)
    return nullptr;
  auto it = profile.kernelTimes.find(
      work::kernelTimeKey(k.op(), dtype, flag(k, "transpose_lhs"), flag(k, "transpose_rhs")));
  return it == profile.kernelTimes.end() ? nullptr : &it->second;
}

} // namespace

std::optional<uint64_t> kernelFlops(const plan::Plan &plan, const plan::Kernel &k) {
  const std::string &op = k.op();
  if (op == "matmul") {
    if (k.inputs_size() < 2 || k.outputs_size() < 1)
      return std::nullopt;
    const plan::Tensor &lhs = operand(plan, k, 0);
    int rank = lhs.shape_size();
    if (rank < 2)
      return std::nullopt;
    uint64_t K = uint64_t(lhs.shape(rank - (flag(k, "transpose_lhs") ? 2 : 1)));
    return work::matmulFlops(elements(plan.tensors(int(k.outputs(0)))), K);
  }
  if (op == "attention" || op == "attention_grad") {
    std::optional<AttentionShape> s = attentionShape(plan, k);
    if (!s)
      return std::nullopt;
    return work::attentionFlops(op == "attention_grad", s->scores, s->dq, s->dv);
  }
  // Per element of the first output (or of the first input where noted),
  // as compiler/Import/ModelStats.cpp counts the forward ops.
  static const std::map<std::string, uint64_t> perOutput = {
      {"add", 1},     {"sub", 1},       {"mul", 1},          {"div", 1},
      {"neg", 1},     {"exp", 1},       {"sqrt", 1},         {"rsqrt", 1},
      {"cast", 1},    {"sigmoid", 3},   {"rope", 3},         {"rope_grad", 3},
      {"silu", 4},    {"rms_norm", 4},  {"swiglu", 5},       {"softmax", 5},
      {"softmax_grad", 4}, {"embedding_grad", 1},
      // Data movement: no arithmetic.
      {"reshape", 0}, {"transpose", 0}, {"slice", 0},        {"slice_grad", 0},
      {"concat", 0},  {"gather", 0},    {"gather_grad", 0},  {"embedding", 0},
      {"broadcast_to", 0}};
  static const std::map<std::string, uint64_t> perInput = {
      {"reduce_sum", 1},     {"reduce_mean", 1},  {"reduce_max", 1},
      {"cross_entropy", 4},  {"cross_entropy_grad", 4},
      {"rms_norm_grad", 8},  {"swiglu_grad", 8},
      // The split global norm: a square and an add per gradient element,
      // then an add per block sum.
      {"norm_partial", 2},
      // Each update reads and updates m and v and the param: ~12 operations.
      {"adam_step", 12}};
  if (auto it = perOutput.find(op); it != perOutput.end())
    return k.outputs_size() ? it->second * elements(plan.tensors(int(k.outputs(0)))) : 0;
  if (auto it = perInput.find(op); it != perInput.end())
    return k.inputs_size() ? it->second * elements(operand(plan, k, 0)) : 0;
  if (op == "norm_combine") { // an add per partial sum of every input
    uint64_t n = 0;
    for (uint32_t id : k.inputs())
      n += elements(plan.tensors(int(id)));
    return n;
  }
  if (op == "global_norm") { // a square and an add per element of every input
    uint64_t n = 0;
    for (uint32_t id : k.inputs())
      n += elements(plan.tensors(int(id)));
    return 2 * n;
  }
  return std::nullopt;
}

uint64_t kernelBytes(const plan::Plan &plan, const plan::Kernel &k) {
  if (k.op() == "reshape")
    return 0;
  uint64_t bytes = 0;
  for (uint32_t id : k.inputs())
    bytes += plan.tensors(int(id)).size_bytes();
  for (uint32_t id : k.outputs())
    bytes += plan.tensors(int(id)).size_bytes();
  return bytes;
}

std::optional<Cost> instructionCost(const plan::Plan &plan, plan::StreamKind stream,
                                    const plan::Instruction &inst, const DeviceProfile &profile,
                                    std::string &error) {
  Cost cost;
  if (inst.has_copy()) {
    const plan::Tensor &src = plan.tensors(int(inst.copy().src()));
    cost.bytes = src.size_bytes();
    double rate = 0;
    switch (stream) {
    case plan::H2D: rate = profile.h2d; break;
    case plan::D2H: rate = profile.d2h; break;
    case plan::NVME_READ: rate = profile.host.nvmeRead; break;
    case plan::NVME_WRITE: rate = profile.host.nvmeWrite; break;
    case plan::HOST_OPTIMIZER: rate = profile.host.memoryBandwidth / 2; break; // read + write
    default: rate = profile.memoryBandwidth / 2; break;
    }
    cost.seconds = double(cost.bytes) / rate;
    return cost;
  }
  if (!inst.has_kernel())
    return cost; // events take no time
  const plan::Kernel &k = inst.kernel();
  if (stream == plan::COLLECTIVE) {
    error = "kernel '" + k.op() + "' on the collective stream: device profiles have no "
            "interconnect yet";
    return std::nullopt;
  }
  std::optional<uint64_t> flops = kernelFlops(plan, k);
  if (!flops) {
    error = "no cost rule for kernel '" + k.op() + "' (compiler/Simulate/KernelCost.cpp)";
    return std::nullopt;
  }
  cost.flops = *flops;
  cost.bytes = kernelBytes(plan, k);
  const bool onHost = stream == plan::HOST_OPTIMIZER;
  if (onHost && k.op() == "adam_step" && k.inputs_size()) {
    // CPU Adam: the measured per-core rate on every core, unless the
    // host's memory cannot feed that many.
    double params = double(elements(operand(plan, k, 0)));
    cost.seconds = std::max(params / (profile.host.adamParamsPerCore * profile.host.cores),
                            double(cost.bytes) / profile.host.memoryBandwidth);
    return cost;
  }
  if (stream == plan::COMPUTE)
    if (const KernelTimeCurve *curve = measuredCurve(plan, k, profile)) {
      cost.seconds = curve->secondsAt(double(curve->byFlops ? cost.flops : cost.bytes));
      return cost;
    }
  std::string dtype = usesMatrixUnits(k.op()) && k.inputs_size()
                          ? dtypeKey(operand(plan, k, 0).dtype())
                          : "f32";
  const std::map<std::string, double> &rates = onHost ? profile.host.flopsPerCore : profile.flops;
  auto rate = rates.find(dtype);
  if (rate == rates.end()) {
    error = "kernel '" + k.op() + "' computes in " + dtype + " but profile '" + profile.name +
            "' has no " + dtype + " rate for the " + (onHost ? "host" : "device");
    return std::nullopt;
  }
  double flopRate = onHost ? rate->second * profile.host.cores : rate->second;
  double bandwidth = onHost ? profile.host.memoryBandwidth : profile.memoryBandwidth;
  cost.seconds = std::max(double(cost.flops) / flopRate, double(cost.bytes) / bandwidth);
  return cost;
}

} // namespace off::sim
