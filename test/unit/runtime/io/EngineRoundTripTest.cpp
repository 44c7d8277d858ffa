// Data integrity through the engine, on both backends (io_uring and the
// forced pread/pwrite pool): random offsets, sizes and host alignments, many
// requests in flight, checked against an in-memory model of the file and
// against the file read back without the engine.
#include "IoTestSupport.h"
#include "runtime/io/AlignedBuffer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>

namespace off::io::test {
namespace {

class EngineTest : public testing::TestWithParam<bool> {
protected:
  EngineOptions options() const { return optionsFor(GetParam()); }
  EngineMode expectedMode() const {
    return GetParam() ? EngineMode::ThreadPool : EngineMode::IoUring;
  }
  TempDir dir;
};

TEST_P(EngineTest, ReportsItsMode) {
  IoEngine engine(options());
  EXPECT_EQ(engine.mode(), expectedMode());
  FileId f = engine.open(dir / "a.bin", {.create = true});
  EXPECT_TRUE(engine.isDirect(f)); // /tmp is ext4 here
  EXPECT_EQ(engine.modeOf(f), expectedMode());
  EXPECT_NE(engine.describe().find(toString(expectedMode())),
            std::string::npos);
}

TEST_P(EngineTest, AlignedRoundTrip) {
  IoEngine engine(options());
  const size_t n = 1 << 20;
  FileId f = engine.open(dir / "a.bin", {.create = true, .preallocate = n});
  std::mt19937_64 rng(1);
  std::vector<std::byte> data = randomBytes(n, rng);
  AlignedBuffer out(n), in(n);
  std::memcpy(out.data(), data.data(), n);
  engine.wait(engine.write(f, 0, out.data(), n));
  engine.wait(engine.read(f, 0, in.data(), n));
  EXPECT_EQ(firstDifference(in.data(), data.data(), n), -1);
  std::vector<std::byte> onDisk = readWholeFile(dir / "a.bin");
  ASSERT_EQ(onDisk.size(), n);
  EXPECT_EQ(firstDifference(onDisk.data(), data.data(), n), -1);
}

// The totals count each finished chunk once, under the backend that served
// it, with the bytes the request wanted (an edge counts its part only).
TEST_P(EngineTest, StatsCountTheBytesOfEachPath) {
  IoEngine engine(options());
  FileId f = engine.open(dir / "s.bin", {.create = true, .preallocate = 1 << 20});
  AlignedBuffer buffer(1 << 20);
  std::memset(buffer.data(), 7, buffer.size());
  engine.wait(engine.write(f, 0, buffer.data(), 200000)); // 3 blocks + a tail
  engine.wait(engine.read(f, 5, buffer.data() + 5, 1000)); // inside one block
  const EngineStats stats = engine.stats();
  const TransferTotals &used = GetParam() ? stats.threadPoolDirect : stats.ioUring;
  const TransferTotals &other = GetParam() ? stats.ioUring : stats.threadPoolDirect;
  EXPECT_EQ(used.writeBytes, 200000u);
  EXPECT_EQ(used.readBytes, 1000u);
  EXPECT_EQ(used.chunks, 200000 / (64 << 10) + 1 + 1); // block 64K (optionsFor)
  EXPECT_EQ(other.chunks + stats.threadPoolBuffered.chunks, 0u);
}

// Random disjoint writes, all in flight at once (unaligned neighbours share
// blocks: their read-modify-writes must not lose each other's bytes), then
// random reads in flight at once; the model is a plain byte vector.
TEST_P(EngineTest, RandomUnalignedRequestsInFlight) {
  IoEngine engine(options());
  const size_t fileSize = 4 << 20;
  FileId f = engine.open(dir / "r.bin", {.create = true, .preallocate = fileSize});
  std::vector<std::byte> model(fileSize, std::byte{0});
  std::mt19937_64 rng(GetParam() ? 11 : 12);
  for (int round = 0; round < 6; ++round) {
    // Up to 24 disjoint ranges: sorted cut points.
    std::vector<uint64_t> cuts;
    for (int i = 0; i < 48; ++i)
      cuts.push_back(rng() % fileSize);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    struct Pending {
      Ticket ticket;
      std::vector<std::byte> storage;
    };
    std::vector<Pending> writes;
    for (size_t i = 0; i + 1 < cuts.size(); i += 2) {
      const uint64_t offset = cuts[i], length = cuts[i + 1] - cuts[i];
      Pending p;
      // Host alignment: sometimes congruent with the offset (direct body),
      // sometimes not (all through bounce buffers).
      const size_t shift = rng() % 2 ? offset % 4096 : rng() % 4096;
      p.storage.resize(length + 8192);
      std::byte *base = reinterpret_cast<std::byte *>(
          (reinterpret_cast<uintptr_t>(p.storage.data()) + 4095) / 4096 * 4096);
      std::byte *host = base + shift;
      std::vector<std::byte> bytes = randomBytes(length, rng);
      std::memcpy(host, bytes.data(), length);
      std::memcpy(model.data() + offset, bytes.data(), length);
      p.ticket = engine.write(f, offset, host, length);
      writes.push_back(std::move(p));
    }
    for (Pending &p : writes)
      engine.wait(p.ticket);

    struct Read {
      Ticket ticket;
      uint64_t offset, length;
      std::vector<std::byte> storage;
      std::byte *host;
    };
    std::vector<Read> reads(16);
    for (Read &r : reads) {
      r.offset = rng() % fileSize;
      r.length = 1 + rng() % std::min<uint64_t>(fileSize - r.offset, 300000);
      r.storage.resize(r.length + 4096);
      r.host = r.storage.data() + rng() % 4096;
      r.ticket = engine.read(f, r.offset, r.host, r.length);
    }
    for (Read &r : reads) {
      engine.wait(r.ticket);
      ASSERT_EQ(firstDifference(r.host, model.data() + r.offset, r.length), -1)
          << "round " << round << " read [" << r.offset << ", +" << r.length
          << ")";
    }
  }
  std::vector<std::byte> onDisk = readWholeFile(dir / "r.bin");
  ASSERT_EQ(onDisk.size(), fileSize);
  EXPECT_EQ(firstDifference(onDisk.data(), model.data(), fileSize), -1);
}

// Many adjacent 100-byte writes that share 4096-byte blocks, all in flight:
// the read-modify-write of one must not undo another.
TEST_P(EngineTest, NeighbouringWritesInOneBlockAllLand) {
  IoEngine engine(options());
  FileId f = engine.open(dir / "n.bin", {.create = true, .preallocate = 16384});
  std::vector<std::byte> data(10000);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<std::byte>(i * 7 + 3);
  std::vector<Ticket> tickets;
  for (size_t offset = 0; offset < data.size(); offset += 100)
    tickets.push_back(engine.write(f, 1000 + offset, data.data() + offset, 100));
  for (Ticket t : tickets)
    engine.wait(t);
  std::vector<std::byte> onDisk = readWholeFile(dir / "n.bin");
  ASSERT_GE(onDisk.size(), 11000u);
  EXPECT_EQ(firstDifference(onDisk.data() + 1000, data.data(), data.size()), -1);
}

TEST_P(EngineTest, OneLargeRequestSpansManyBlocks) {
  EngineOptions o = options();
  o.queueDepth = 3;
  o.blockSize = 16 << 10;
  IoEngine engine(o);
  const size_t n = (3 << 20) + 12345;
  FileId f = engine.open(dir / "l.bin", {.create = true, .preallocate = n + 4096});
  std::mt19937_64 rng(3);
  std::vector<std::byte> data = randomBytes(n, rng);
  engine.wait(engine.write(f, 777, data.data(), n));
  std::vector<std::byte> back(n);
  engine.wait(engine.read(f, 777, back.data(), n));
  EXPECT_EQ(firstDifference(back.data(), data.data(), n), -1);
}

TEST_P(EngineTest, CallbacksAndPolling) {
  IoEngine engine(options());
  const size_t n = 256 << 10;
  FileId f = engine.open(dir / "c.bin", {.create = true, .preallocate = n});
  AlignedBuffer out(n), in(n);
  std::memset(out.data(), 0x5a, n);
  Ticket t = engine.write(f, 0, out.data(), n);
  while (!engine.poll(t))
    std::this_thread::yield();
  EXPECT_TRUE(engine.poll(t));
  engine.wait(t);
  EXPECT_THROW(engine.wait(t), std::logic_error); // a ticket is waited once

  std::promise<bool> done;
  Extent e{f, 0, in.data(), n};
  engine.submit(IoOp::Read, {&e, 1},
                [&](const IoError *error) { done.set_value(error == nullptr); });
  ASSERT_TRUE(done.get_future().get());
  EXPECT_EQ(in.data()[n - 1], std::byte{0x5a});

  // An empty request completes at once.
  Ticket empty = engine.read(f, 0, in.data(), 0);
  EXPECT_TRUE(engine.poll(empty));
  engine.wait(empty);
}

TEST_P(EngineTest, ShortTransfersFromTheKernelAreResumed) {
  // The hook halves every transfer (kept block-aligned, as the kernel's
  // O_DIRECT short transfers are), so each chunk needs several calls; it
  // records where each remainder must start and which transfers came.
  std::mutex mutex;
  std::set<std::pair<int, uint64_t>> owed, seen; // (op, file offset)
  EngineOptions o = options();
  o.resultHook = [&](const TransferInfo &t, int64_t result) -> int64_t {
    std::lock_guard lock(mutex);
    const int op = static_cast<int>(t.op);
    seen.insert({op, t.offset});
    if (result > 8192) {
      result = result / 2 / 4096 * 4096;
      owed.insert({op, t.offset + result});
    }
    return result;
  };
  IoEngine engine(o);
  const size_t n = 1 << 20;
  FileId f = engine.open(dir / "s.bin", {.create = true, .preallocate = n});
  std::mt19937_64 rng(5);
  std::vector<std::byte> data = randomBytes(n, rng);
  AlignedBuffer out(n), in(n);
  std::memcpy(out.data(), data.data(), n);
  engine.wait(engine.write(f, 0, out.data(), n));
  engine.wait(engine.read(f, 0, in.data(), n));
  EXPECT_GT(owed.size(), 16u);
  for (const auto &[op, offset] : owed)
    EXPECT_TRUE(seen.count({op, offset}))
        << (op == 0 ? "read" : "write") << " remainder at " << offset
        << " was never issued";
  EXPECT_EQ(firstDifference(in.data(), data.data(), n), -1);
  std::vector<std::byte> onDisk = readWholeFile(dir / "s.bin");
  EXPECT_EQ(firstDifference(onDisk.data(), data.data(), n), -1);
}

TEST_P(EngineTest, RegisteredBuffersOnlyOnIoUring) {
  IoEngine engine(options());
  const size_t n = 512 << 10;
  AlignedBuffer region(n);
  const bool registered = engine.registerBuffer(region.data(), n);
  EXPECT_EQ(registered, !GetParam());
  FileId f = engine.open(dir / "g.bin", {.create = true, .preallocate = n});
  std::mt19937_64 rng(9);
  std::vector<std::byte> data = randomBytes(n, rng);
  std::memcpy(region.data(), data.data(), n);
  engine.wait(engine.write(f, 0, region.data(), n));
  std::memset(region.data(), 0, n);
  engine.wait(engine.read(f, 0, region.data(), n));
  EXPECT_EQ(firstDifference(region.data(), data.data(), n), -1);
  engine.unregisterBuffer(region.data());
  // Still correct after unregistering (plain, unfixed transfers).
  std::memset(region.data(), 0, n);
  engine.wait(engine.read(f, 4096, region.data(), n - 4096));
  EXPECT_EQ(firstDifference(region.data(), data.data() + 4096, n - 4096), -1);
}

TEST_P(EngineTest, RequestsFromSeveralThreads) {
  IoEngine engine(options());
  const size_t slice = 200000, threads = 4;
  FileId f = engine.open(dir / "t.bin",
                         {.create = true, .preallocate = slice * threads});
  std::vector<std::thread> workers;
  std::atomic<int> mismatches{0};
  for (size_t t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      for (int i = 0; i < 10; ++i) {
        std::vector<std::byte> data = randomBytes(slice, rng), back(slice);
        engine.wait(engine.write(f, t * slice, data.data(), slice));
        engine.wait(engine.read(f, t * slice, back.data(), slice));
        if (back != data)
          ++mismatches;
      }
    });
  for (std::thread &w : workers)
    w.join();
  EXPECT_EQ(mismatches.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, EngineTest, testing::Values(false, true),
                         modeName);

} // namespace
} // namespace off::io::test
