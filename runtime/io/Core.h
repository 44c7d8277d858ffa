// Inside the engine: the state both backends share (requests, their
// tickets, the locks of blocks under read-modify-write) behind one mutex, and
// the interface a backend implements.
#pragma once

#include "runtime/io/Chunk.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

namespace off::io::detail {

/// Requests that finished while the mutex was held; delivered after it is
/// released (callbacks must not run under the engine's lock).
struct Finished {
  std::vector<std::unique_ptr<Request>> callbacks;
  bool wake = false;
  bool empty() const { return callbacks.empty() && !wake; }
};

class Backend {
public:
  virtual ~Backend() = default;
  virtual EngineMode mode() const = 0;
  /// Mutex held. Queues a chunk; `front` for one that waited on a block.
  virtual void enqueue(Chunk *chunk, bool front) = 0;
  /// Mutex held. Starts queued chunks while there is room in flight.
  virtual void kick(Finished &finished) = 0;
  /// Mutex NOT held; no request is in flight. Ends the backend's threads.
  virtual void stop() = 0;
};

class Core {
public:
  explicit Core(EngineOptions options) : options(std::move(options)) {}

  const EngineOptions options;
  std::mutex mutex;
  std::condition_variable requestDone;
  /// Every unfinished request, and finished ones whose ticket is not yet
  /// waited. Callback requests have an internal ticket.
  std::unordered_map<Ticket, std::unique_ptr<Request>> requests;
  Ticket nextTicket = 1;
  size_t activeRequests = 0;

  /// Mutex held. The next chunk of `pending` that may start now, or null.
  /// Drops chunks of requests that already failed (no more I/O for them)
  /// and parks edge writes whose block another edge write holds.
  Chunk *takeStartable(std::deque<Chunk *> &pending, Finished &finished);
  /// Mutex held. A chunk ended (error set if it failed); releases its block
  /// and completes its request when it was the last chunk.
  void finishChunk(Chunk &chunk, std::optional<IoError> error,
                   Finished &finished);
  /// Mutex held. Marks a request done (all chunks ended or were dropped).
  void completeRequest(Request &request, Finished &finished);
  /// Mutex NOT held. Runs callbacks, wakes waiters.
  void deliver(Finished &finished);
  /// The test hook, when set.
  int64_t filterResult(const Chunk &chunk, int64_t result) const;
  /// Mutex held. Adds a chunk that finished without error to `stats`.
  void countFinished(const Chunk &chunk);

  EngineStats stats; // guarded by mutex

private:
  using BlockKey = std::pair<FileId, uint64_t>;
  std::set<BlockKey> lockedBlocks_;
  std::map<BlockKey, std::deque<Chunk *>> blockWaiters_;
};

} // namespace off::io::detail
