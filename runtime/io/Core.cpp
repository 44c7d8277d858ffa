#include "runtime/io/Core.h"

#include <cstdio>
#include <exception>

namespace off::io::detail {

Chunk *Core::takeStartable(std::deque<Chunk *> &pending, Finished &finished) {
  while (!pending.empty()) {
    Chunk *chunk = pending.front();
    pending.pop_front();
    if (chunk->request->error) {
      finishChunk(*chunk, std::nullopt, finished);
      continue;
    }
    if (chunk->needsBlockLock()) {
      BlockKey key{chunk->file->id, chunk->fileOffset};
      if (!lockedBlocks_.insert(key).second) {
        blockWaiters_[key].push_back(chunk);
        continue;
      }
      chunk->holdsBlock = true;
    }
    return chunk;
  }
  return nullptr;
}

void Core::finishChunk(Chunk &chunk, std::optional<IoError> error,
                       Finished &finished) {
  if (chunk.holdsBlock) {
    chunk.holdsBlock = false;
    BlockKey key{chunk.file->id, chunk.fileOffset};
    lockedBlocks_.erase(key);
    auto waiting = blockWaiters_.find(key);
    if (waiting != blockWaiters_.end()) {
      Chunk *next = waiting->second.front();
      waiting->second.pop_front();
      if (waiting->second.empty())
        blockWaiters_.erase(waiting);
      // Same file, same backend: the caller kicks it after this returns.
      next->file->backend->enqueue(next, /*front=*/true);
    }
  }
  Request &request = *chunk.request;
  if (error && !request.error)
    request.error = std::move(error);
  if (--request.unfinished == 0)
    completeRequest(request, finished);
}

void Core::completeRequest(Request &request, Finished &finished) {
  request.done = true;
  --activeRequests;
  finished.wake = true;
  if (request.callback) {
    auto it = requests.find(request.ticket);
    finished.callbacks.push_back(std::move(it->second));
    requests.erase(it);
  }
}

void Core::deliver(Finished &finished) {
  if (finished.wake)
    requestDone.notify_all();
  for (std::unique_ptr<Request> &request : finished.callbacks) {
    try {
      request->callback(request->error ? &*request->error : nullptr);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "offrt io: a completion callback threw: %s\n",
                   e.what());
    }
  }
  finished.callbacks.clear();
  finished.wake = false;
}

int64_t Core::filterResult(const Chunk &chunk, int64_t result) const {
  if (!options.resultHook)
    return result;
  return options.resultHook(
      TransferInfo{chunk.phase, chunk.file->path, chunk.opOffset(),
                   chunk.opLength()},
      result);
}

void Core::countFinished(const Chunk &chunk) {
  TransferTotals &totals =
      chunk.file->backend->mode() == EngineMode::IoUring ? stats.ioUring
      : chunk.file->direct                               ? stats.threadPoolDirect
                                                         : stats.threadPoolBuffered;
  ++totals.chunks;
  (chunk.op == IoOp::Read ? totals.readBytes : totals.writeBytes) +=
      chunk.partEnd - chunk.partBegin;
}

} // namespace off::io::detail
