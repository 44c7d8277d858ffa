// Inside the engine: the io_uring backend. Callers' threads prepare and
// submit SQEs (under the engine mutex, so a request starts without a thread
// hop); one reaper thread waits for CQEs, advances each chunk (resubmitting
// short transfers), starts queued chunks and finishes requests.
#pragma once

#include "runtime/io/AlignedBuffer.h"
#include "runtime/io/Core.h"

#include <liburing.h>
#include <thread>

namespace off::io::detail {

class UringBackend final : public Backend {
public:
  /// Null, with `whyNot` set, when the kernel refuses io_uring.
  static std::unique_ptr<UringBackend> create(Core &core,
                                              std::string &whyNot);
  ~UringBackend() override;

  EngineMode mode() const override { return EngineMode::IoUring; }
  void enqueue(Chunk *chunk, bool front) override;
  void kick(Finished &finished) override;
  void stop() override;

  /// Mutex held for both.
  bool registerBuffer(std::byte *host, size_t length);
  void unregisterBuffer(std::byte *host);
  bool fixedBuffers() const { return fixedBuffers_; }

private:
  explicit UringBackend(Core &core);
  void setUpFixedBuffers();
  void prepare(Chunk *chunk);
  void submitPrepared();
  int fixedSlotFor(const std::byte *address, uint64_t length) const;
  void reapLoop();

  struct Region {
    std::byte *begin = nullptr; // null: a free slot
    size_t length = 0;
    std::byte *owner = nullptr; // the address registerBuffer was given
  };

  Core &core_;
  io_uring ring_{};
  bool ringReady_ = false;
  std::thread reaper_;
  std::deque<Chunk *> pending_;
  unsigned inFlight_ = 0;
  unsigned prepared_ = 0; // SQEs prepared but not yet submitted
  AlignedBuffer bouncePool_;
  std::vector<std::byte *> freeBounce_;
  bool fixedBuffers_ = false;
  std::vector<Region> slots_; // slot 0: the bounce pool
};

} // namespace off::io::detail
