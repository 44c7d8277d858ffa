#include "RandomSchedule.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <stdexcept>

namespace off::exec::testing {
namespace {

using Clock = std::array<uint32_t, kStreamCount>;

bool overlaps(const Slice &a, const Slice &b) {
  return a.arena == b.arena && a.offset < b.end() && b.offset < a.end();
}

bool anyOverlap(const std::vector<Slice> &a, const std::vector<Slice> &b) {
  for (const Slice &x : a)
    for (const Slice &y : b)
      if (overlaps(x, y))
        return true;
  return false;
}

void join(Clock &into, const Clock &other) {
  for (size_t s = 0; s < into.size(); ++s)
    into[s] = std::max(into[s], other[s]);
}

bool covers(const Clock &have, const Clock &need) {
  for (size_t s = 0; s < have.size(); ++s)
    if (have[s] < need[s])
      return false;
  return true;
}

// x[i] = x[i] * a + y[i % ny] + c (y optional); a short spin widens the
// window in which a missing wait would let another stream interfere.
KernelFn updateKernel(float a, float c, int spin) {
  return [a, c, spin](const KernelCall &call) {
    float *x = call.arg<float>(0);
    uint64_t n = call.count<float>(0);
    for (int i = 0; i < spin; ++i)
      __asm__ __volatile__("" ::: "memory"); // not optimised away
    if (call.args.size() > 1) {
      const float *y = call.arg<float>(1);
      uint64_t ny = call.count<float>(1);
      for (uint64_t i = 0; i < n; ++i)
        x[i] = x[i] * a + y[i % ny] + c;
    } else {
      for (uint64_t i = 0; i < n; ++i)
        x[i] = x[i] * a + c;
    }
  };
}

// Reads its argument and discards the sum: the stale-read probe.
KernelFn probeKernel() {
  return [](const KernelCall &call) {
    volatile float sum = 0;
    const float *x = call.arg<float>(0);
    for (uint64_t i = 0; i < call.count<float>(0); ++i)
      sum = sum + x[i];
  };
}

class Generator {
public:
  Generator(uint64_t seed, Breakage breakage)
      : rng_(seed), breakage_(breakage) {}
  RandomSchedule build();

private:
  int uniform(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }
  Slice device(int slot, uint32_t floats) const {
    return {kDeviceArena, uint64_t(slot) * kSlotFloats * 4, floats * 4ull};
  }
  Slice home(int k) const { return {kHostArena, homeOffset_[k], length_[k] * 4ull}; }
  Slice nvme(int k) const { return {kNvmeArena, homeOffset_[k], length_[k] * 4ull}; }

  uint32_t append(uint32_t stream, Instruction in);
  EventId recordAtEnd(uint32_t stream);
  uint32_t emit(uint32_t stream, Instruction in, std::vector<Slice> reads,
                std::vector<Slice> writes);
  bool tryOperation(int kind);
  bool tryStaleRead();
  void forceStaleRead();
  std::vector<std::vector<std::byte>> runSequentially() const;

  static constexpr uint32_t kSlotFloats = 48;
  std::mt19937_64 rng_;
  Breakage breakage_;
  Program program_;
  std::array<Clock, kStreamCount> streamClock_{};
  std::vector<Clock> eventClock_;
  struct Op {
    uint32_t stream, index;
    std::vector<Slice> reads, writes;
  };
  std::vector<Op> history_;
  std::vector<Instruction> sequential_; // generation order
  std::vector<std::vector<std::byte>> initial_;

  std::vector<uint32_t> length_;
  std::vector<uint64_t> homeOffset_;
  std::vector<int> slotTensor_;        // -1: empty
  std::vector<uint32_t> slotReleased_; // floats freed/offloaded, 0: none
  std::vector<bool> homeResident_, nvmeValid_;
  std::optional<std::pair<uint32_t, uint32_t>> culprit_;
};

uint32_t Generator::append(uint32_t stream, Instruction in) {
  auto &list = program_.streams[stream].instructions;
  list.push_back(std::move(in));
  streamClock_[stream][stream] = list.size();
  return list.size() - 1;
}

EventId Generator::recordAtEnd(uint32_t stream) {
  auto &list = program_.streams[stream].instructions;
  if (!list.empty())
    if (auto *r = std::get_if<RecordInstr>(&list.back()))
      return r->event;
  EventId event = program_.eventCount++;
  append(stream, RecordInstr{event});
  eventClock_.push_back(streamClock_[stream]);
  return event;
}

uint32_t Generator::emit(uint32_t stream, Instruction in,
                         std::vector<Slice> reads, std::vector<Slice> writes) {
  Clock need{};
  for (const Op &op : history_)
    if (op.stream != stream && (anyOverlap(op.writes, reads) ||
                                anyOverlap(op.writes, writes) ||
                                anyOverlap(op.reads, writes)))
      need[op.stream] = std::max(need[op.stream], op.index + 1);
  std::vector<EventId> waits;
  for (uint32_t s = 0; s < kStreamCount; ++s)
    if (streamClock_[stream][s] < need[s])
      waits.push_back(recordAtEnd(s));
  // Keep only waits without which `need` is not covered: each one left is
  // then the only thing ordering some conflicting pair.
  for (size_t w = 0; w < waits.size();) {
    Clock without = streamClock_[stream];
    for (size_t v = 0; v < waits.size(); ++v)
      if (v != w)
        join(without, eventClock_[waits[v]]);
    if (covers(without, need))
      waits.erase(waits.begin() + w);
    else
      ++w;
  }
  for (EventId event : waits) {
    append(stream, WaitInstr{event});
    join(streamClock_[stream], eventClock_[event]);
  }
  sequential_.push_back(in);
  uint32_t index = append(stream, std::move(in));
  history_.push_back({stream, index, std::move(reads), std::move(writes)});
  return index;
}

bool Generator::tryOperation(int kind) {
  int slots = slotTensor_.size(), tensors = length_.size();
  int m = uniform(0, slots - 1), k = uniform(0, tensors - 1);
  int onDevice = slotTensor_[m];
  auto deviceOf = [&](int slot) {
    return device(slot, length_[slotTensor_[slot]]);
  };
  switch (kind) {
  case 0: { // prefetch k into empty slot m
    if (onDevice >= 0 || !homeResident_[k] ||
        std::count(slotTensor_.begin(), slotTensor_.end(), k))
      return false;
    emit(kH2D, CopyInstr{device(m, length_[k]), home(k)}, {home(k)},
         {device(m, length_[k])});
    slotTensor_[m] = k;
    slotReleased_[m] = 0;
    return true;
  }
  case 1: case 2: { // compute on slot m, maybe reading a prefix of another
    if (onDevice < 0)
      return false;
    KernelInstr kernel{"update", {{deviceOf(m), Tier::Device,
                                   Access::ReadWrite}}, nullptr};
    int other = uniform(0, slots - 1);
    if (other != m && slotTensor_[other] >= 0) {
      Slice y = deviceOf(other);
      y.size = 4ull * uniform(1, y.size / 4);
      kernel.args.push_back({y, Tier::Device, Access::Read});
    }
    kernel.fn = updateKernel(uniform(0, 1) ? 0.5f : -1.0f,
                             float(uniform(-4, 4)), uniform(0, 3000));
    std::vector<Slice> reads;
    for (const KernelArg &arg : kernel.args)
      reads.push_back(arg.slice);
    emit(kCompute, std::move(kernel), reads, {deviceOf(m)});
    return true;
  }
  case 3: { // write slot m back home, keep it on device
    if (onDevice < 0)
      return false;
    emit(kD2H, CopyInstr{home(onDevice), deviceOf(m)}, {deviceOf(m)},
         {home(onDevice)});
    homeResident_[onDevice] = true;
    return true;
  }
  case 4: { // offload slot m home
    if (onDevice < 0)
      return false;
    Slice src = deviceOf(m);
    emit(kD2H, OffloadInstr{home(onDevice), src}, {src},
         {home(onDevice), src});
    homeResident_[onDevice] = true;
    slotReleased_[m] = length_[onDevice];
    slotTensor_[m] = -1;
    return true;
  }
  case 5: { // drop slot m
    if (onDevice < 0)
      return false;
    Slice slice = deviceOf(m);
    emit(kCompute, FreeInstr{slice}, {}, {slice});
    slotReleased_[m] = length_[onDevice];
    slotTensor_[m] = -1;
    return true;
  }
  case 6: { // host optimizer updates home k
    if (!homeResident_[k])
      return false;
    KernelInstr kernel{"host_update",
                       {{home(k), Tier::Host, Access::ReadWrite}},
                       updateKernel(0.5f, float(uniform(-2, 2)),
                                    uniform(0, 3000))};
    emit(kHostOptimizer, std::move(kernel), {home(k)}, {home(k)});
    return true;
  }
  case 7: { // save home k to NVMe
    if (!homeResident_[k])
      return false;
    emit(kNvmeWrite, NvmeWriteInstr{nvme(k), home(k)}, {home(k)}, {nvme(k)});
    nvmeValid_[k] = true;
    return true;
  }
  case 8: { // load home k from NVMe
    if (!nvmeValid_[k])
      return false;
    emit(kNvmeRead, NvmeReadInstr{home(k), nvme(k)}, {nvme(k)}, {home(k)});
    homeResident_[k] = true;
    return true;
  }
  case 9: { // evict home k (its NVMe copy stays)
    if (!homeResident_[k] || !nvmeValid_[k])
      return false;
    emit(kNvmeWrite, FreeInstr{home(k)}, {}, {home(k)});
    homeResident_[k] = false;
    return true;
  }
  }
  return false;
}

bool Generator::tryStaleRead() {
  std::vector<std::pair<uint32_t, Slice>> candidates; // stream, slice
  for (size_t m = 0; m < slotTensor_.size(); ++m)
    if (slotTensor_[m] < 0 && slotReleased_[m] > 0)
      candidates.push_back({kCompute, device(m, slotReleased_[m])});
  for (size_t k = 0; k < length_.size(); ++k)
    if (!homeResident_[k])
      candidates.push_back({kHostOptimizer, home(k)});
  if (candidates.empty())
    return false;
  auto [stream, slice] = candidates[uniform(0, candidates.size() - 1)];
  Tier tier = stream == kCompute ? Tier::Device : Tier::Host;
  uint32_t index = emit(stream,
                        KernelInstr{"stale_read",
                                    {{slice, tier, Access::Read}},
                                    probeKernel()},
                        {slice}, {});
  culprit_ = {stream, index};
  return true;
}

void Generator::forceStaleRead() {
  if (tryStaleRead())
    return;
  // Nothing released yet: every home is resident (an evicted one would be a
  // candidate); drop an occupied slot, or prefetch one and drop it.
  auto occupied = std::find_if(slotTensor_.begin(), slotTensor_.end(),
                               [](int t) { return t >= 0; });
  if (occupied == slotTensor_.end()) {
    int k = 0;
    emit(kH2D, CopyInstr{device(0, length_[k]), home(k)}, {home(k)},
         {device(0, length_[k])});
    slotTensor_[0] = k;
  }
  int m = occupied == slotTensor_.end() ? 0 : occupied - slotTensor_.begin();
  Slice slice = device(m, length_[slotTensor_[m]]);
  emit(kCompute, FreeInstr{slice}, {}, {slice});
  slotReleased_[m] = length_[slotTensor_[m]];
  slotTensor_[m] = -1;
  if (!tryStaleRead())
    throw std::logic_error("stale read not possible after a drop");
}

std::vector<std::vector<std::byte>> Generator::runSequentially() const {
  std::vector<std::vector<std::byte>> memory = initial_;
  auto at = [&](const Slice &s) { return memory[s.arena].data() + s.offset; };
  auto poison = [&](const Slice &s) {
    if (s.offset % 4 || s.size % 4)
      throw std::logic_error("generator slices are float-aligned");
    const uint32_t nan = 0x7FC07FC0u;
    for (uint64_t o = 0; o < s.size; o += 4)
      std::memcpy(at(s) + o, &nan, 4);
  };
  for (const Instruction &in : sequential_) {
    if (auto *k = std::get_if<KernelInstr>(&in)) {
      std::vector<void *> pointers;
      for (const KernelArg &arg : k->args)
        pointers.push_back(at(arg.slice));
      k->fn(KernelCall{pointers, k->args});
    } else if (auto *c = std::get_if<CopyInstr>(&in)) {
      std::memcpy(at(c->dst), at(c->src), c->src.size);
    } else if (auto *o = std::get_if<OffloadInstr>(&in)) {
      std::memcpy(at(o->dst), at(o->src), o->src.size);
      poison(o->src);
    } else if (auto *f = std::get_if<FreeInstr>(&in)) {
      poison(f->slice); // no NVMe frees are generated
    } else if (auto *r = std::get_if<NvmeReadInstr>(&in)) {
      std::memcpy(at(r->dst), at(r->src), r->src.size);
    } else if (auto *w = std::get_if<NvmeWriteInstr>(&in)) {
      std::memcpy(at(w->dst), at(w->src), w->src.size);
    }
  }
  return memory;
}

RandomSchedule Generator::build() {
  const char *names[kStreamCount] = {"compute",   "h2d",        "d2h",
                                     "nvme-read", "nvme-write", "host-optimizer"};
  const StreamKind kinds[kStreamCount] = {
      StreamKind::Compute,  StreamKind::H2D,       StreamKind::D2H,
      StreamKind::NvmeRead, StreamKind::NvmeWrite, StreamKind::HostOptimizer};
  for (uint32_t s = 0; s < kStreamCount; ++s)
    program_.streams.push_back({{names[s], kinds[s]}, {}});

  int tensors = uniform(3, 6), slots = uniform(2, 4);
  uint64_t hostBytes = 0;
  for (int k = 0; k < tensors; ++k) {
    hostBytes += 4ull * uniform(0, 3); // gaps, so slices split segments
    homeOffset_.push_back(hostBytes);
    length_.push_back(uniform(1, kSlotFloats));
    hostBytes += length_.back() * 4ull;
  }
  uint64_t deviceBytes = uint64_t(slots) * kSlotFloats * 4;
  program_.arenas = {{"device", Tier::Device, deviceBytes, deviceBytes, false},
                     {"host", Tier::Host, hostBytes, 0, false},
                     {"nvme", Tier::Nvme, hostBytes, 0, false}};
  slotTensor_.assign(slots, -1);
  slotReleased_.assign(slots, 0);
  homeResident_.assign(tensors, true);
  nvmeValid_.assign(tensors, false);

  initial_ = {std::vector<std::byte>(deviceBytes),
              std::vector<std::byte>(hostBytes),
              std::vector<std::byte>(hostBytes)};
  for (int k = 0; k < tensors; ++k) {
    program_.residentAtStart.push_back(home(k));
    for (uint32_t i = 0; i < length_[k]; ++i) {
      float value = uniform(-16, 16) / 4.0f;
      std::memcpy(initial_[kHostArena].data() + homeOffset_[k] + 4 * i, &value,
                  4);
    }
  }

  int operations = uniform(8, 48);
  int staleAt = uniform(0, operations - 1);
  for (int done = 0, attempts = 0; done < operations && attempts < 50 * operations;
       ++attempts) {
    if (breakage_ == Breakage::UseAfterRelease && !culprit_ &&
        done >= staleAt && tryStaleRead()) {
      ++done;
      continue;
    }
    if (tryOperation(uniform(0, 9)))
      ++done;
  }
  if (breakage_ == Breakage::UseAfterRelease && !culprit_)
    forceStaleRead();

  RandomSchedule schedule;
  schedule.expected = runSequentially();
  schedule.initial = std::move(initial_);
  schedule.culprit = culprit_;
  schedule.program = std::move(program_);
  return schedule;
}

} // namespace

RandomSchedule makeRandomSchedule(uint64_t seed, Breakage breakage) {
  return Generator(seed, breakage).build();
}

size_t countWaits(const Program &program) {
  size_t count = 0;
  for (const Stream &stream : program.streams)
    for (const Instruction &in : stream.instructions)
      count += std::holds_alternative<WaitInstr>(in);
  return count;
}

Program dropWait(const Program &program, size_t which) {
  Program result = program;
  for (Stream &stream : result.streams)
    for (auto it = stream.instructions.begin(); it != stream.instructions.end();
         ++it)
      if (std::holds_alternative<WaitInstr>(*it) && which-- == 0) {
        stream.instructions.erase(it);
        return result;
      }
  throw std::out_of_range("dropWait: no such wait");
}

} // namespace off::exec::testing
