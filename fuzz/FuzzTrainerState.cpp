// Fuzz target: trainerStateFromJson (runtime/model/Checkpoint.h), the reader
// of the trainer_state.json that `offrt train --resume` trusts.
//
// Input: the text of a trainer_state.json. An accepted state must say what
// the text says (step, data position, RNG, plan identity: read back here
// with the JSON parser alone) and survive a write -> read round trip.
#include "fuzz/FuzzTarget.h"
#include "runtime/model/Checkpoint.h"
#include "runtime/model/ModelError.h"

namespace off::fuzz {

const char *const kTargetName = "trainer_state";

namespace {

using model::Json;
using model::TrainerState;

uint64_t field(const Json &json, const char *object, const char *key) {
  const Json *holder = object ? jsonMember(json, object) : &json;
  const Json *value = holder ? jsonMember(*holder, key) : nullptr;
  if (!value)
    violation(std::string("accepted a state without \"") + key + "\"");
  if (value->is_number_unsigned())
    return value->get<uint64_t>();
  if (value->is_number_integer() && value->get<int64_t>() == 0)
    return 0; // -0
  violation(std::string("accepted \"") + key + "\": " + value->dump());
}

void checkAccepted(const TrainerState &state, std::string_view text) {
  const Json json = parseJson(text);
  if (state.step != field(json, nullptr, "step") ||
      state.microBatch != field(json, nullptr, "micro_batch") ||
      state.optimizerStep != field(json, nullptr, "optimizer_step") ||
      state.rng.seed != field(json, "rng", "seed") ||
      state.rng.stream != field(json, "rng", "stream") ||
      state.rng.offset != field(json, "rng", "offset") ||
      state.planFormatVersion != field(json, "plan", "format_version") ||
      state.planHash != jsonMember(*jsonMember(json, "plan"), "hash")->get<std::string>())
    violation("the accepted state differs from its text");

  const std::string written = model::trainerStateToJson(state);
  auto reread = parseOrReject<model::ModelIoError>(
      [&] { return model::trainerStateFromJson(written, kInputName); });
  if (!reread)
    violation("a state written by trainerStateToJson is rejected: " + written);
  if (!(*reread == state))
    violation("write -> read changed the state: " + written);
}

} // namespace

Outcome runFuzzInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  auto state = parseOrReject<model::ModelIoError>(
      [&] { return model::trainerStateFromJson(text, kInputName); });
  if (!state)
    return Outcome::Rejected;
  checkAccepted(*state, text);
  return Outcome::Accepted;
}

} // namespace off::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  off::fuzz::runFuzzInput(data, size);
  return 0;
}
