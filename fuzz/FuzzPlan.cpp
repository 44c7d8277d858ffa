// Fuzz target: parsePlanBytes / readPlanFile (runtime/plan/Plan.h): plan.bin
// framing (magic, length, CRC-32), the protobuf message and validatePlan.
//
// Input: either a whole plan.bin (it starts with the OFFPLAN magic), which
// exercises the framing, or anything else, which is taken as the protobuf
// payload and framed here with a correct length and CRC, so that mutations
// reach the protobuf parser and the validator instead of dying at the CRC.
//
// A rejection must be an error naming the input. An accepted plan is checked
// with arithmetic of our own (128-bit) against what the executor relies on:
// every tensor lies inside its arena at a multiple of the alignment with
// product(shape) * dtype size bytes, every instruction names existing
// tensors and events, and every awaited event is recorded somewhere.
#include "fuzz/FuzzTarget.h"
#include "runtime/plan/Plan.h"

#include <google/protobuf/stubs/logging.h>

#include <cstring>
#include <set>
#include <vector>

namespace off::fuzz {

const char *const kTargetName = "plan";

namespace {

using namespace off::plan;

// protobuf logs each invalid UTF-8 string it parses; the rejection itself
// is what the target checks, so the log would only bury the fuzzer's output.
[[maybe_unused]] const bool kProtobufQuiet = (google::protobuf::SetLogHandler(nullptr), true);

constexpr char kMagic[8] = {'O', 'F', 'F', 'P', 'L', 'A', 'N', '\x01'};

void appendLE(std::string &out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(char((value >> (8 * i)) & 0xff));
}

std::string frame(const uint8_t *payload, size_t size) {
  std::string bytes(kMagic, sizeof kMagic);
  appendLE(bytes, size, 8);
  bytes.append(reinterpret_cast<const char *>(payload), size);
  appendLE(bytes, crc32(payload, size), 4);
  return bytes;
}

uint64_t elementBytes(DType dtype) {
  switch (dtype) {
  case F32: case I32: return 4;
  case BF16: case F16: return 2;
  case I64: return 8;
  default: violation("accepted a tensor with dtype " + std::to_string(int(dtype)));
  }
}

void checkAccepted(const Plan &plan) {
  if (plan.format_version() != kFormatVersion)
    violation("accepted format version " + std::to_string(plan.format_version()));
  const uint64_t tensors = uint64_t(plan.tensors_size());
  for (const Tensor &t : plan.tensors()) {
    unsigned __int128 bytes = elementBytes(t.dtype());
    for (int64_t dim : t.shape()) {
      if (dim < 0)
        violation("tensor '" + t.name() + "' accepted with a negative dimension");
      bytes *= uint64_t(dim);
      if (bytes >> 64)
        violation("tensor '" + t.name() + "' accepted with a size past 2^64");
    }
    if (bytes != t.size_bytes())
      violation("tensor '" + t.name() + "' accepted with size_bytes its shape does not need");
    if (t.arena() >= uint64_t(plan.arenas_size()))
      violation("tensor '" + t.name() + "' accepted in a missing arena");
    const Arena &arena = plan.arenas(int(t.arena()));
    if ((unsigned __int128)t.offset() + t.size_bytes() > arena.size_bytes())
      violation("tensor '" + t.name() + "' accepted past the end of its arena");
    if (arena.alignment() > 1 && t.offset() % arena.alignment() != 0)
      violation("tensor '" + t.name() + "' accepted at a misaligned offset");
  }
  std::vector<unsigned __int128> perTier(plan.tiers_size(), 0);
  for (const Arena &arena : plan.arenas()) {
    if (arena.tier() >= uint64_t(plan.tiers_size()))
      violation("accepted an arena on a missing tier");
    perTier[arena.tier()] += arena.size_bytes();
  }
  for (int tier = 0; tier < plan.tiers_size(); ++tier)
    if (plan.tiers(tier).budget_bytes() != 0 && perTier[tier] > plan.tiers(tier).budget_bytes())
      violation("accepted arenas over the budget of tier " + std::to_string(tier));
  std::set<uint32_t> recorded, awaited;
  for (const Stream &stream : plan.streams())
    for (const Instruction &inst : stream.instructions()) {
      auto tensorOk = [&](uint32_t id) {
        if (id >= tensors)
          violation("accepted an instruction naming tensor " + std::to_string(id));
      };
      switch (inst.kind_case()) {
      case Instruction::kKernel:
        for (uint32_t id : inst.kernel().inputs()) tensorOk(id);
        for (uint32_t id : inst.kernel().outputs()) tensorOk(id);
        break;
      case Instruction::kCopy:
        tensorOk(inst.copy().src());
        tensorOk(inst.copy().dst());
        if (plan.tensors(int(inst.copy().src())).size_bytes() !=
            plan.tensors(int(inst.copy().dst())).size_bytes())
          violation("accepted a copy between tensors of different sizes");
        break;
      case Instruction::kRecordEvent:
        recorded.insert(inst.record_event());
        break;
      case Instruction::kWaitEvent:
        awaited.insert(inst.wait_event());
        break;
      default:
        violation("accepted an empty instruction");
      }
    }
  for (uint32_t event : recorded)
    if (event >= plan.num_events())
      violation("accepted a record of event " + std::to_string(event));
  for (uint32_t event : awaited)
    if (event >= plan.num_events() || !recorded.count(event))
      violation("accepted a wait for event " + std::to_string(event) +
                " that is never recorded");
}

} // namespace

Outcome runFuzzInput(const uint8_t *data, size_t size) {
  const bool framed = size >= sizeof kMagic && std::memcmp(data, kMagic, sizeof kMagic) == 0;
  const std::string bytes =
      framed ? std::string(reinterpret_cast<const char *>(data), size) : frame(data, size);
  std::string error;
  std::optional<Plan> plan;
  try {
    plan = parsePlanBytes(bytes, kInputName, error);
  } catch (const std::exception &e) {
    violation(std::string("parsePlanBytes threw ") + typeid(e).name() + ": " + e.what());
  }
  if (!plan) {
    requireMessageNamesInput(error);
    return Outcome::Rejected;
  }
  if (!error.empty())
    violation("a plan was accepted with an error message: " + error);
  checkAccepted(*plan);
  return Outcome::Accepted;
}

} // namespace off::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  off::fuzz::runFuzzInput(data, size);
  return 0;
}
