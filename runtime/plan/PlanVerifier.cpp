// The static verifier of a plan's order: the residency checker's
// happens-before analysis (runtime/exec/ResidencyChecker), done once over the
// plan instead of during a run. Used by offc on every plan it writes and by
// offrt on every plan it reads (readPlanFile), so it needs no MLIR.
//
// Happens-before: each stream runs its instructions in order; a wait orders
// its stream after the matching record. Vector clocks come from replaying
// the streams (as exec's deadlock check does); the replay order is a linear
// extension of happens-before, and a shadow map of every arena's bytes
// (last write, reads since) checks, access by access:
//   * a read follows the write that produced its bytes, and that write is
//     its tensor's (or, for a view that nothing writes, its source's at the
//     same bytes; params, optimizer states, constants and inputs are written
//     before the step);
//   * a write follows every earlier access of its bytes (no race, no reuse
//     of bytes still being read);
//   * a kernel's workspace counts as written by it;
//   * at the end, params, optimizer states, constants and outputs still hold
//     their own last write.

#include "runtime/plan/Plan.h"

#include <map>
#include <optional>

namespace off::plan {
namespace {

using Clock = std::vector<uint32_t>;

struct Access {
  int stream = -1; // -1: before the step
  int index = 0;
  uint32_t tensor = 0;
};

const char *streamKind(StreamKind kind) {
  switch (kind) {
  case COMPUTE: return "compute";
  case H2D: return "h2d";
  case D2H: return "d2h";
  case NVME_READ: return "nvme-read";
  case NVME_WRITE: return "nvme-write";
  case HOST_OPTIMIZER: return "host-optimizer";
  case COLLECTIVE: return "collective";
  default: return "?";
  }
}

bool persistent(Role role) {
  return role == PARAM || role == OPTIMIZER_STATE || role == CONSTANT || role == INPUT;
}

class Verifier {
public:
  explicit Verifier(const Plan &plan) : plan_(plan), written_(plan.tensors_size(), false) {}

  std::vector<std::string> run();

private:
  struct Segment {
    uint64_t end;
    std::optional<Access> write;
    std::vector<Access> reads;
  };
  using Shadow = std::map<uint64_t, Segment>; // start -> segment

  std::string where(const Access &a) const {
    if (a.stream < 0)
      return "the start of the step";
    const Stream &stream = plan_.streams(a.stream);
    std::string text = "stream " + std::to_string(a.stream) + " (" +
                       streamKind(stream.kind()) + ") instruction #" + std::to_string(a.index);
    const Instruction &inst = stream.instructions(a.index);
    if (inst.has_kernel())
      text += " (kernel '" + inst.kernel().op() + "')";
    else if (inst.has_copy())
      text += " (copy)";
    return text;
  }
  std::string name(uint32_t tensor) const {
    return "'" + plan_.tensors(int(tensor)).name() + "'";
  }
  bool before(const Access &a, const Access &b) const {
    if (a.stream < 0)
      return true;
    if (b.stream < 0)
      return false;
    return clocks_[b.stream][b.index][a.stream] >= uint32_t(a.index) + 1;
  }
  bool replay(std::vector<std::string> &problems);
  void split(Shadow &shadow, uint64_t at);
  void access(const Access &a, bool write);
  /// Whether the last write `w` of bytes that `reader` reads is its value.
  bool produces(const Access &w, uint32_t reader) const;
  void problem(std::string text) {
    if (problems_.size() < 20)
      problems_.push_back(std::move(text));
  }

  const Plan &plan_;
  std::vector<std::vector<Clock>> clocks_; // [stream][instruction]
  std::vector<Shadow> shadows_;            // per arena
  std::vector<bool> written_;              // tensors some instruction writes
  std::vector<Access> order_;              // the replay's order
  std::map<uint32_t, Access> writers_;     // a writer of each written tensor
  std::vector<std::string> problems_;
};

bool Verifier::replay(std::vector<std::string> &problems) {
  size_t streams = size_t(plan_.streams_size());
  std::vector<Clock> clock(streams, Clock(streams, 0));
  std::vector<std::optional<Clock>> events(plan_.num_events());
  std::vector<int> next(streams, 0);
  clocks_.assign(streams, {});
  for (size_t s = 0; s < streams; ++s)
    clocks_[s].resize(size_t(plan_.streams(int(s)).instructions_size()));
  order_.clear();
  bool progress = true;
  while (progress) {
    progress = false;
    for (size_t s = 0; s < streams; ++s) {
      const Stream &stream = plan_.streams(int(s));
      while (next[s] < stream.instructions_size()) {
        const Instruction &inst = stream.instructions(next[s]);
        if (inst.has_wait_event()) {
          const std::optional<Clock> &event = events[inst.wait_event()];
          if (!event)
            break;
          for (size_t t = 0; t < streams; ++t)
            clock[s][t] = std::max(clock[s][t], (*event)[t]);
        }
        ++clock[s][s];
        if (inst.has_record_event()) {
          if (events[inst.record_event()]) {
            problems.push_back(where({int(s), next[s], 0}) + " records event " +
                               std::to_string(inst.record_event()) + " a second time");
            return false;
          }
          events[inst.record_event()] = clock[s];
        }
        clocks_[s][size_t(next[s])] = clock[s];
        order_.push_back({int(s), next[s], 0});
        ++next[s];
        progress = true;
      }
    }
  }
  for (size_t s = 0; s < streams; ++s)
    if (next[s] < plan_.streams(int(s)).instructions_size()) {
      problems.push_back(where({int(s), next[s], 0}) + " waits for event " +
                         std::to_string(plan_.streams(int(s)).instructions(next[s]).wait_event()) +
                         ", which is never recorded before it can be (the waits form a cycle)");
      return false;
    }
  return true;
}

void Verifier::split(Shadow &shadow, uint64_t at) {
  auto it = shadow.upper_bound(at);
  if (it == shadow.begin())
    return;
  --it;
  if (it->first == at || it->second.end <= at)
    return;
  Segment tail = it->second;
  it->second.end = at;
  shadow.emplace(at, std::move(tail));
}

bool Verifier::produces(const Access &w, uint32_t reader) const {
  if (w.tensor == reader)
    return true;
  // A view nothing writes reads the bytes its source wrote (same bytes).
  const Tensor &r = plan_.tensors(int(reader)), &t = plan_.tensors(int(w.tensor));
  return !written_[reader] && !persistent(r.role()) && r.arena() == t.arena() &&
         r.offset() == t.offset() && r.size_bytes() == t.size_bytes();
}

void Verifier::access(const Access &a, bool write) {
  const Tensor &tensor = plan_.tensors(int(a.tensor));
  if (tensor.size_bytes() == 0)
    return;
  Shadow &shadow = shadows_[tensor.arena()];
  uint64_t begin = tensor.offset(), end = tensor.offset() + tensor.size_bytes();
  split(shadow, begin);
  split(shadow, end);
  // Bytes no one touched yet become a segment of their own.
  uint64_t cursor = begin;
  for (auto it = shadow.lower_bound(begin); cursor < end;) {
    uint64_t stop = it == shadow.end() ? end : std::min(end, it->first);
    if (cursor < stop)
      it = shadow.emplace(cursor, Segment{stop, std::nullopt, {}}).first;
    cursor = it->second.end;
    ++it;
  }
  bool reported = false;
  for (auto it = shadow.lower_bound(begin); it != shadow.end() && it->first < end; ++it) {
    Segment &segment = it->second;
    if (!write) {
      if (!segment.write) {
        auto writer = writers_.find(a.tensor);
        if (!reported)
          problem(where(a) + " reads " + name(a.tensor) +
                  (writer == writers_.end()
                       ? std::string(" before anything writes it")
                       : " with no event ordering it after its write by " +
                             where(writer->second)));
        reported = true;
      } else if (!before(*segment.write, a)) {
        if (!reported)
          problem(produces(*segment.write, a.tensor)
                      ? where(a) + " reads " + name(a.tensor) + " written by " +
                            where(*segment.write) + " with no event ordering them"
                      : where(a) + " reads " + name(a.tensor) + " while " +
                            where(*segment.write) + " may overwrite its bytes with " +
                            name(segment.write->tensor) + " (no event orders them)");
        reported = true;
      } else if (!produces(*segment.write, a.tensor)) {
        if (!reported)
          problem(where(a) + " reads " + name(a.tensor) + " after " +
                  where(*segment.write) + " overwrote its bytes with " +
                  name(segment.write->tensor));
        reported = true;
      }
      segment.reads.push_back(a);
      continue;
    }
    if (segment.write && !(segment.write->stream == a.stream && segment.write->index == a.index) &&
        !before(*segment.write, a) && !reported) {
      problem(where(a) + " writes " + name(a.tensor) + " while " + where(*segment.write) +
              " may still write the same bytes (" + name(segment.write->tensor) +
              "; no event orders them)");
      reported = true;
    }
    for (const Access &r : segment.reads)
      if (!(r.stream == a.stream && r.index == a.index) && !before(r, a) && !reported) {
        problem(where(a) + " writes " + name(a.tensor) + " while " + where(r) +
                " may still read the same bytes (" + name(r.tensor) +
                "; no event orders them)");
        reported = true;
      }
    segment.write = a;
    segment.reads.clear();
  }
}

std::vector<std::string> Verifier::run() {
  std::vector<std::string> problems;
  if (!replay(problems))
    return problems;
  shadows_.assign(size_t(plan_.arenas_size()), {});
  // What instructions write, and what holds data before the step.
  for (int s = 0; s < plan_.streams_size(); ++s)
    for (int i = 0; i < plan_.streams(s).instructions_size(); ++i) {
      const Instruction &inst = plan_.streams(s).instructions(i);
      auto wrote = [&](uint32_t id) {
        written_[id] = true;
        writers_.emplace(id, Access{s, i, id});
      };
      if (inst.has_kernel()) {
        for (uint32_t id : inst.kernel().outputs())
          wrote(id);
        if (inst.kernel().has_workspace())
          wrote(inst.kernel().workspace());
      }
      if (inst.has_copy())
        wrote(inst.copy().dst());
    }
  for (int id = 0; id < plan_.tensors_size(); ++id)
    if (persistent(plan_.tensors(id).role()))
      access({-1, 0, uint32_t(id)}, true);
  for (const Access &step : order_) {
    const Instruction &inst = plan_.streams(step.stream).instructions(step.index);
    auto touch = [&](uint32_t id, bool write) { access({step.stream, step.index, id}, write); };
    if (inst.has_kernel()) {
      const Kernel &k = inst.kernel();
      for (uint32_t id : k.inputs())
        touch(id, false);
      for (uint32_t id : k.outputs())
        touch(id, true);
      if (k.has_workspace()) // scratch: written (and read) by this kernel only
        touch(k.workspace(), true);
    } else if (inst.has_copy()) {
      touch(inst.copy().src(), false);
      touch(inst.copy().dst(), true);
    }
  }
  // What the next step (or the runtime) reads must still be there.
  for (int id = 0; id < plan_.tensors_size(); ++id) {
    const Tensor &t = plan_.tensors(id);
    if (t.size_bytes() == 0 || t.role() == INPUT ||
        !(persistent(t.role()) || t.role() == OUTPUT))
      continue;
    const Shadow &shadow = shadows_[t.arena()];
    uint64_t end = t.offset() + t.size_bytes();
    for (auto it = shadow.upper_bound(t.offset()); ; ) {
      if (it != shadow.begin())
        --it;
      for (; it != shadow.end() && it->first < end; ++it)
        if (it->second.end > t.offset() && it->second.write &&
            !produces(*it->second.write, uint32_t(id))) {
          problem(name(uint32_t(id)) + " does not hold its value at the end of the step: " +
                  where(*it->second.write) + " overwrote it with " +
                  name(it->second.write->tensor));
          break;
        }
      break;
    }
  }
  return problems_;
}

} // namespace

std::vector<std::string> verifyPlanOrder(const Plan &plan) { return Verifier(plan).run(); }

} // namespace off::plan
