#include "runtime/io/UringBackend.h"

#include "runtime/io/Log.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sys/uio.h>

namespace off::io::detail {

namespace {

constexpr size_t kMaxFixedBufferBytes = size_t(1) << 30; // kernel limit

[[noreturn]] void fatal(const char *what, int err) {
  std::fprintf(stderr, "offrt io: %s failed: %s\n", what,
               describeErrno(err).c_str());
  std::abort(); // transfers into caller memory may be in flight: no unwinding
}

} // namespace

std::unique_ptr<UringBackend> UringBackend::create(Core &core,
                                                   std::string &whyNot) {
  std::unique_ptr<UringBackend> backend(new UringBackend(core));
  // One spare entry for the NOP that stops the reaper.
  int err = io_uring_queue_init(core.options.queueDepth + 1, &backend->ring_,
                                0);
  if (err < 0) {
    whyNot = "io_uring_queue_init: " + describeErrno(-err);
    return nullptr;
  }
  backend->ringReady_ = true;
  if (core.options.registerBuffers)
    backend->setUpFixedBuffers();
  backend->reaper_ = std::thread([b = backend.get()] { b->reapLoop(); });
  return backend;
}

UringBackend::UringBackend(Core &core)
    : core_(core),
      bouncePool_(core.options.queueDepth * bounceSize(core.options),
                  core.options.alignment) {
  // One bounce buffer per transfer in flight: kick() never runs out.
  for (unsigned i = 0; i < core.options.queueDepth; ++i)
    freeBounce_.push_back(bouncePool_.data() + i * bounceSize(core.options));
}

UringBackend::~UringBackend() {
  if (reaper_.joinable())
    stop();
  if (ringReady_)
    io_uring_queue_exit(&ring_);
}

void UringBackend::setUpFixedBuffers() {
  // A sparse table lets registerBuffer() add and remove regions later.
  int err = io_uring_register_buffers_sparse(
      &ring_, core_.options.maxRegisteredBuffers + 1);
  if (err < 0) {
    logOnce("fixed-buffers",
            "io_uring fixed buffers are unavailable (" + describeErrno(-err) +
                "); transfers pin pages per request");
    return;
  }
  fixedBuffers_ = true;
  slots_.assign(core_.options.maxRegisteredBuffers + 1, Region{});
  if (bouncePool_.size() <= kMaxFixedBufferBytes) {
    iovec iov{bouncePool_.data(), bouncePool_.size()};
    if (io_uring_register_buffers_update_tag(&ring_, 0, &iov, nullptr, 1) == 1)
      slots_[0] = Region{bouncePool_.data(), bouncePool_.size(),
                         bouncePool_.data()};
  }
}

bool UringBackend::registerBuffer(std::byte *host, size_t length) {
  if (!fixedBuffers_ || length == 0)
    return false;
  // Pieces of at most 1 GiB, each in a free slot (slot 0 is the bounce pool).
  std::vector<unsigned> used;
  for (size_t offset = 0; offset < length; offset += kMaxFixedBufferBytes) {
    unsigned slot = 1;
    while (slot < slots_.size() &&
           (slots_[slot].begin != nullptr ||
            std::find(used.begin(), used.end(), slot) != used.end()))
      ++slot;
    bool ok = slot < slots_.size();
    if (ok) {
      size_t piece = std::min(kMaxFixedBufferBytes, length - offset);
      iovec iov{host + offset, piece};
      ok = io_uring_register_buffers_update_tag(&ring_, slot, &iov, nullptr,
                                                1) == 1;
      if (ok) {
        slots_[slot] = Region{host + offset, piece, host};
        used.push_back(slot);
      }
    }
    if (!ok) {
      unregisterBuffer(host);
      return false;
    }
  }
  return true;
}

void UringBackend::unregisterBuffer(std::byte *host) {
  for (unsigned slot = 1; slot < slots_.size(); ++slot) {
    if (slots_[slot].owner != host || slots_[slot].begin == nullptr)
      continue;
    iovec empty{nullptr, 0};
    io_uring_register_buffers_update_tag(&ring_, slot, &empty, nullptr, 1);
    slots_[slot] = Region{};
  }
}

int UringBackend::fixedSlotFor(const std::byte *address,
                               uint64_t length) const {
  for (unsigned slot = 0; slot < slots_.size(); ++slot) {
    const Region &r = slots_[slot];
    if (r.begin != nullptr && address >= r.begin &&
        address + length <= r.begin + r.length)
      return static_cast<int>(slot);
  }
  return -1;
}

void UringBackend::enqueue(Chunk *chunk, bool front) {
  if (front)
    pending_.push_front(chunk);
  else
    pending_.push_back(chunk);
}

void UringBackend::kick(Finished &finished) {
  while (inFlight_ < core_.options.queueDepth) {
    Chunk *chunk = core_.takeStartable(pending_, finished);
    if (!chunk)
      break;
    if (chunk->kind == ChunkKind::Direct) {
      chunk->buffer = chunk->host;
    } else {
      chunk->buffer = freeBounce_.back(); // one per slot in flight: never empty
      freeBounce_.pop_back();
    }
    chunk->fixedIndex = fixedSlotFor(chunk->buffer, chunk->length);
    beginChunk(*chunk);
    ++inFlight_;
    prepare(chunk);
  }
  submitPrepared();
}

void UringBackend::prepare(Chunk *chunk) {
  io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
  if (!sqe) { // cannot happen while in flight <= entries; be safe anyway
    submitPrepared();
    sqe = io_uring_get_sqe(&ring_);
    if (!sqe)
      fatal("io_uring_get_sqe", EBUSY);
  }
  const int fd = chunk->file->fd;
  const auto length = static_cast<unsigned>(chunk->opLength());
  void *buffer = chunk->opBuffer();
  if (chunk->phase == IoOp::Read) {
    if (chunk->fixedIndex >= 0)
      io_uring_prep_read_fixed(sqe, fd, buffer, length, chunk->opOffset(),
                               chunk->fixedIndex);
    else
      io_uring_prep_read(sqe, fd, buffer, length, chunk->opOffset());
  } else {
    if (chunk->fixedIndex >= 0)
      io_uring_prep_write_fixed(sqe, fd, buffer, length, chunk->opOffset(),
                                chunk->fixedIndex);
    else
      io_uring_prep_write(sqe, fd, buffer, length, chunk->opOffset());
  }
  io_uring_sqe_set_data(sqe, chunk);
  ++prepared_;
}

void UringBackend::submitPrepared() {
  while (prepared_ > 0) {
    int submitted = io_uring_submit(&ring_);
    if (submitted >= 0) {
      prepared_ -= std::min<unsigned>(prepared_, submitted);
      continue;
    }
    if (submitted == -EINTR || submitted == -EAGAIN || submitted == -EBUSY) {
      std::this_thread::yield();
      continue;
    }
    fatal("io_uring_submit", -submitted);
  }
}

void UringBackend::reapLoop() {
  bool stopping = false;
  while (!stopping) {
    io_uring_cqe *cqe = nullptr;
    int err = io_uring_wait_cqe(&ring_, &cqe);
    if (err == -EINTR || err == -EAGAIN)
      continue;
    if (err < 0)
      fatal("io_uring_wait_cqe", -err);
    Finished finished;
    {
      std::lock_guard lock(core_.mutex);
      unsigned head = 0, seen = 0;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        auto *chunk = static_cast<Chunk *>(io_uring_cqe_get_data(cqe));
        if (!chunk) { // the NOP from stop()
          stopping = true;
          continue;
        }
        std::optional<IoError> error;
        const int64_t result = core_.filterResult(*chunk, cqe->res);
        const Step step = advanceChunk(*chunk, result,
                                       core_.options.alignment, error);
        if (step == Step::Issue) {
          prepare(chunk);
          continue;
        }
        --inFlight_;
        if (step == Step::Finished)
          core_.countFinished(*chunk);
        if (chunk->kind != ChunkKind::Direct)
          freeBounce_.push_back(chunk->buffer);
        core_.finishChunk(*chunk, std::move(error), finished);
      }
      io_uring_cq_advance(&ring_, seen);
      kick(finished); // also submits the resubmissions prepared above
    }
    core_.deliver(finished);
  }
}

void UringBackend::stop() {
  {
    std::lock_guard lock(core_.mutex);
    io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
    if (!sqe)
      fatal("io_uring_get_sqe", EBUSY);
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data(sqe, nullptr);
    ++prepared_;
    submitPrepared();
  }
  reaper_.join();
}

} // namespace off::io::detail
