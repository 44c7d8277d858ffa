#include "runtime/io/ThreadPoolBackend.h"

#include "runtime/io/AlignedBuffer.h"

#include <cerrno>
#include <unistd.h>

namespace off::io::detail {

namespace {

/// One system call for the chunk's current phase: bytes moved or -errno.
int64_t transfer(const Chunk &chunk) {
  const auto offset = static_cast<off_t>(chunk.opOffset());
  ssize_t result =
      chunk.phase == IoOp::Read
          ? pread(chunk.file->fd, chunk.opBuffer(), chunk.opLength(), offset)
          : pwrite(chunk.file->fd, chunk.opBuffer(), chunk.opLength(), offset);
  return result < 0 ? -errno : result;
}

} // namespace

ThreadPoolBackend::ThreadPoolBackend(Core &core, unsigned threads)
    : core_(core) {
  for (unsigned i = 0; i < threads; ++i)
    workers_.emplace_back([this] { workLoop(); });
}

ThreadPoolBackend::~ThreadPoolBackend() {
  if (!workers_.empty())
    stop();
}

void ThreadPoolBackend::enqueue(Chunk *chunk, bool front) {
  if (front)
    pending_.push_front(chunk);
  else
    pending_.push_back(chunk);
}

void ThreadPoolBackend::kick(Finished &) {
  if (!pending_.empty())
    work_.notify_all();
}

void ThreadPoolBackend::stop() {
  {
    std::lock_guard lock(core_.mutex);
    stopping_ = true;
  }
  work_.notify_all();
  for (std::thread &worker : workers_)
    worker.join();
  workers_.clear();
}

void ThreadPoolBackend::workLoop() {
  const EngineOptions &options = core_.options;
  AlignedBuffer bounce(bounceSize(options), options.alignment);
  std::unique_lock lock(core_.mutex);
  while (true) {
    work_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty())
      return; // stopping, and nothing left to do
    Finished finished;
    if (Chunk *chunk = core_.takeStartable(pending_, finished)) {
      chunk->buffer =
          chunk->kind == ChunkKind::Direct ? chunk->host : bounce.data();
      chunk->fixedIndex = -1;
      lock.unlock();
      beginChunk(*chunk);
      std::optional<IoError> error;
      Step step;
      do {
        const int64_t result = core_.filterResult(*chunk, transfer(*chunk));
        step = advanceChunk(*chunk, result, options.alignment, error);
      } while (step == Step::Issue);
      lock.lock();
      if (step == Step::Finished)
        core_.countFinished(*chunk);
      core_.finishChunk(*chunk, std::move(error), finished);
    }
    if (!finished.empty()) {
      lock.unlock();
      core_.deliver(finished);
      lock.lock();
    }
  }
}

} // namespace off::io::detail
