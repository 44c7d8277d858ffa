// Inside the engine: the fallback backend. A pool of threads, each running
// one chunk at a time with plain pread/pwrite (and its own bounce buffer);
// used when io_uring is refused or forced off, and for files whose
// filesystem rejects O_DIRECT.
#pragma once

#include "runtime/io/Core.h"

#include <thread>

namespace off::io::detail {

class ThreadPoolBackend final : public Backend {
public:
  ThreadPoolBackend(Core &core, unsigned threads);
  ~ThreadPoolBackend() override;

  EngineMode mode() const override { return EngineMode::ThreadPool; }
  void enqueue(Chunk *chunk, bool front) override;
  void kick(Finished &finished) override;
  void stop() override;
  unsigned threads() const { return static_cast<unsigned>(workers_.size()); }

private:
  void workLoop();

  Core &core_;
  std::condition_variable work_; // waits on core_.mutex
  std::deque<Chunk *> pending_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

} // namespace off::io::detail
