#include "runtime/exec/Executor.h"

#include "runtime/exec/ThreadAffinity.h"

#include <cstring>
#include <system_error>

namespace off::exec {
namespace {

// Thrown inside a worker when another stream failed while this one waited.
struct Aborted {};

bool usesNvme(const Program &program) {
  for (const ArenaSpec &arena : program.arenas)
    if (arena.tier == Tier::Nvme)
      return true;
  return false;
}

} // namespace

Executor::Executor(backend::Backend &backend, Program program, ExecutorOptions options)
    : backend_(backend), program_(std::move(program)), options_(std::move(options)) {
  validate(program_);
  for (const auto &[name, cpus] : options_.affinity) {
    bool known = false;
    for (const Stream &s : program_.streams)
      known |= s.spec.name == name;
    if (!known)
      throw std::invalid_argument("stream affinity names stream '" + name +
                                  "', which the program does not have");
  }
  if (usesNvme(program_)) {
    if (!options_.nvme)
      throw std::invalid_argument(
          "the program has NVMe arenas but no NVMe backend was given");
    options_.nvme->prepare(program_.arenas);
  }
  for (const ArenaSpec &arena : program_.arenas) {
    if (arena.tier == Tier::Nvme) {
      arenas_.emplace_back();
      continue;
    }
    backend::ArenaRequest request;
    request.label = "arena '" + arena.name + "'";
    request.tier = arena.tier;
    request.size = arena.size;
    request.budget = arena.budget;
    request.pinned = arena.pinned;
    request.host = options_.hostMemory;
    arenas_.push_back(backend_.allocateArena(request));
  }
  for (const Stream &stream : program_.streams) {
    streams_.push_back(backend_.createStream(stream.spec.kind, stream.spec.name));
    size_t most = 0;
    for (const Instruction &instruction : stream.instructions)
      if (auto *k = std::get_if<KernelInstr>(&instruction))
        most = std::max(most, k->args.size());
    pointers_.emplace_back(most);
  }
  for (uint32_t e = 0; e < program_.eventCount; ++e)
    events_.push_back(backend_.createEvent());
  if (options_.checkResidency)
    checker_ = std::make_unique<ResidencyChecker>(program_);
  recorded_.assign(program_.eventCount, 0);
  for (size_t s = 0; s < program_.streams.size(); ++s)
    wake_.push_back(std::make_unique<std::condition_variable>());
  waitingOn_.assign(program_.streams.size(), -1);

  std::string startFailure;
  try {
    for (uint32_t s = 0; s < program_.streams.size(); ++s)
      workers_.emplace_back([this, s] { workerMain(s); });
  } catch (const std::system_error &e) { // e.g. the thread limit
    startFailure = "cannot start the worker thread of stream '" +
                   program_.streams[workers_.size()].spec.name + "': " + e.code().message() +
                   " (the process or user thread limit, ulimit -u or the cgroup's pids.max, "
                   "is below the threads this run needs: one per stream plus the compute "
                   "threads; give fewer --threads)";
  }
  std::unique_lock lock(mutex_);
  runDone_.wait(lock, [&] {
    return !startFailure.empty() || startedWorkers_ == program_.streams.size();
  });
  if (startFailure.empty())
    startFailure = startupError_;
  if (!startFailure.empty()) {
    stopping_ = true;
    wakeAll();
    lock.unlock();
    for (std::thread &worker : workers_)
      worker.join();
    throw std::runtime_error(startFailure);
  }
}

Executor::~Executor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wakeAll();
  }
  for (std::thread &worker : workers_)
    worker.join();
}

std::byte *Executor::address(const Slice &slice) const {
  const ArenaSpec &arena = program_.arenas.at(slice.arena);
  if (arena.tier == Tier::Nvme)
    throw std::invalid_argument(describe(program_, slice) +
                                " is on NVMe and has no pointer");
  if (slice.offset > arena.size || slice.size > arena.size - slice.offset)
    throw std::out_of_range(describe(program_, slice) + " is outside the arena");
  return arenas_[slice.arena]->data() + slice.offset;
}

std::byte *Executor::pointer(const Slice &slice) const {
  std::byte *at = address(slice);
  if (!arenas_[slice.arena]->hostAccessible())
    throw std::invalid_argument(describe(program_, slice) + " is in " + backend_.name() +
                                " memory the host cannot address; copy it with read/write");
  return at;
}

bool Executor::hostAddressable(const Slice &slice) const {
  const std::unique_ptr<backend::Arena> &arena = arenas_.at(slice.arena);
  return arena && arena->hostAccessible();
}

namespace {

void checkRange(const Program &program, const Slice &slice, uint64_t offset, uint64_t bytes,
                const char *verb) {
  if (offset > slice.size || bytes > slice.size - offset)
    throw std::out_of_range(std::string(verb) + " [" + std::to_string(offset) + ", +" +
                            std::to_string(bytes) + ") of " + describe(program, slice));
}

} // namespace

void Executor::write(const Slice &slice, uint64_t offset, const void *hostSrc, uint64_t bytes) {
  checkRange(program_, slice, offset, bytes, "writing");
  if (program_.arenas.at(slice.arena).tier == Tier::Nvme) {
    NvmeRequest request{NvmeRequest::Op::Write, slice.arena, slice.offset + offset,
                        const_cast<std::byte *>(static_cast<const std::byte *>(hostSrc)),
                        bytes};
    options_.nvme->wait(options_.nvme->submit(request));
    return;
  }
  backend_.upload(address(slice) + offset, hostSrc, bytes);
}

void Executor::read(const Slice &slice, uint64_t offset, void *hostDst, uint64_t bytes) const {
  checkRange(program_, slice, offset, bytes, "reading");
  if (program_.arenas.at(slice.arena).tier == Tier::Nvme) {
    NvmeRequest request{NvmeRequest::Op::Read, slice.arena, slice.offset + offset,
                        static_cast<std::byte *>(hostDst), bytes};
    options_.nvme->wait(options_.nvme->submit(request));
    return;
  }
  backend_.download(hostDst, address(slice) + offset, bytes);
}

void Executor::synchronize(uint32_t stream) const {
  backend_.synchronize(*streams_.at(stream));
}

bool Executor::arenaPinned(ArenaId arena) const {
  return arenas_.at(arena) && arenas_[arena]->pinned();
}

uint64_t Executor::arenaBytes(Tier tier) const {
  uint64_t total = 0;
  for (const auto &arena : arenas_)
    if (arena && arena->tier() == tier)
      total += arena->size();
  return total;
}

void Executor::workerMain(uint32_t stream) {
  const std::string &name = program_.streams[stream].spec.name;
  std::string error;
  if (auto it = options_.affinity.find(name); it != options_.affinity.end()) {
    try {
      pinCurrentThread(it->second);
    } catch (const std::exception &e) {
      error = "stream '" + name + "': " + e.what();
    }
  }
  uint64_t seen = 0;
  {
    std::lock_guard lock(mutex_);
    if (!error.empty() && startupError_.empty())
      startupError_ = error;
    ++startedWorkers_;
    if (startedWorkers_ == program_.streams.size())
      runDone_.notify_one();
  }
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_[stream]->wait(lock,
                          [&] { return stopping_ || generation_ != seen; });
      if (stopping_)
        return;
      seen = generation_;
    }
    runStream(stream);
    std::lock_guard lock(mutex_);
    if (++finishedStreams_ == program_.streams.size())
      runDone_.notify_one();
  }
}

void Executor::wakeAll() {
  for (auto &wake : wake_)
    wake->notify_one();
}

void Executor::run(const backend::StepContext &step) {
  {
    std::lock_guard lock(mutex_);
    step_ = &step;
    std::fill(recorded_.begin(), recorded_.end(), 0);
    aborted_ = false;
    error_.clear();
    finishedStreams_ = 0;
    if (checker_)
      checker_->beginRun();
    ++generation_;
    wakeAll();
  }
  std::unique_lock lock(mutex_);
  runDone_.wait(lock, [&] { return finishedStreams_ == program_.streams.size(); });
  step_ = nullptr;
  if (aborted_)
    throw ExecError(error_, errorStream_, errorIndex_);
}

void Executor::fail(uint32_t stream, uint32_t index,
                    const std::string &message) {
  {
    std::lock_guard lock(mutex_);
    if (!aborted_) {
      aborted_ = true;
      error_ = message;
      errorStream_ = stream;
      errorIndex_ = index;
      wakeAll(); // streams blocked in a wait give up
    }
  }
}

void Executor::runStream(uint32_t stream) {
  const auto &instructions = program_.streams[stream].instructions;
  for (uint32_t index = 0; index < instructions.size(); ++index) {
    if (aborted_)
      return;
    try {
      if (options_.beforeInstruction)
        options_.beforeInstruction(stream, index);
      if (checker_)
        checker_->beforeInstruction(stream, index);
      execute(stream, instructions[index]);
      if (checker_)
        checker_->afterInstruction(stream, index);
      if (options_.afterInstruction)
        options_.afterInstruction(stream, index);
    } catch (const Aborted &) {
      return;
    } catch (const ResidencyViolation &e) {
      fail(stream, index, e.what());
      return;
    } catch (const std::exception &e) {
      fail(stream, index,
           describe(program_, stream, index) + " failed: " + e.what());
      return;
    } catch (...) {
      fail(stream, index,
           describe(program_, stream, index) +
               " failed with an exception that is not a std::exception");
      return;
    }
  }
  try { // the run is over when the backend's work is
    backend_.synchronize(*streams_[stream]);
  } catch (const std::exception &e) {
    fail(stream, uint32_t(instructions.size()),
         "stream '" + program_.streams[stream].spec.name + "' failed at its end: " + e.what());
  }
}

// Freed and offloaded ranges are poisoned where the host can write them (the
// checker's NaN pattern); after the stream's earlier work, in its order.
void Executor::poison(uint32_t stream, const Slice &slice) {
  if (!checker_ || program_.arenas[slice.arena].tier == Tier::Nvme ||
      !arenas_[slice.arena]->hostAccessible())
    return;
  backend_.hostTask(*streams_[stream],
                    [&] { poisonWithNaN(address(slice), slice.size, slice.offset); });
}

// NVMe transfers run on the host: the host side must be host memory.
void Executor::nvmeTransfer(uint32_t stream, NvmeRequest::Op op, const Slice &nvme,
                            const Slice &host) {
  NvmeRequest request{op, nvme.arena, nvme.offset, pointer(host), host.size};
  backend_.hostTask(*streams_[stream],
                    [&] { options_.nvme->wait(options_.nvme->submit(request)); });
}

void Executor::execute(uint32_t stream, const Instruction &instruction) {
  backend::Stream &on = *streams_[stream];
  if (auto *k = std::get_if<KernelInstr>(&instruction)) {
    std::vector<void *> &pointers = pointers_[stream]; // sized for the most arguments
    for (size_t i = 0; i < k->args.size(); ++i)
      pointers[i] = address(k->args[i].slice);
    std::span<void *const> all(pointers.data(), k->args.size());
    if (k->kernel) {
      size_t inputs = k->kernel->inputs().size(), outputs = k->kernel->outputs().size();
      std::span<std::byte> workspace;
      if (k->workspace)
        workspace = {static_cast<std::byte *>(all.back()), size_t(k->args.back().slice.size)};
      backend_.launch(on, *k->kernel, all.first(inputs), all.subspan(inputs, outputs),
                      workspace, *step_);
    } else {
      backend_.hostTask(on, [&] { k->fn(KernelCall{all, k->args}); });
    }
  } else if (auto *c = std::get_if<CopyInstr>(&instruction)) {
    backend_.copy(on, address(c->dst), address(c->src), c->src.size);
  } else if (auto *o = std::get_if<OffloadInstr>(&instruction)) {
    backend_.copy(on, address(o->dst), address(o->src), o->src.size);
    poison(stream, o->src);
  } else if (auto *f = std::get_if<FreeInstr>(&instruction)) {
    poison(stream, f->slice);
  } else if (auto *r = std::get_if<NvmeReadInstr>(&instruction)) {
    nvmeTransfer(stream, NvmeRequest::Op::Read, r->src, r->dst);
  } else if (auto *w = std::get_if<NvmeWriteInstr>(&instruction)) {
    nvmeTransfer(stream, NvmeRequest::Op::Write, w->dst, w->src);
  } else if (auto *rec = std::get_if<RecordInstr>(&instruction)) {
    backend_.record(on, *events_[rec->event]); // before any waiter may see it
    std::lock_guard lock(mutex_);
    recorded_[rec->event] = 1;
    for (size_t s = 0; s < waitingOn_.size(); ++s)
      if (waitingOn_[s] == rec->event)
        wake_[s]->notify_one();
  } else if (auto *wait = std::get_if<WaitInstr>(&instruction)) {
    {
      std::unique_lock lock(mutex_);
      waitingOn_[stream] = wait->event;
      wake_[stream]->wait(lock,
                          [&] { return recorded_[wait->event] || aborted_; });
      waitingOn_[stream] = -1;
      if (!recorded_[wait->event])
        throw Aborted{};
    }
    backend_.wait(on, *events_[wait->event]);
  }
}

} // namespace off::exec
