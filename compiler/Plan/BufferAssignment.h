//===- BufferAssignment.h - offsets for values with lifetimes ---*- C++ -*-===//
//
// Packs buffers with known lifetimes into one arena: two buffers may share
// bytes only when their lifetimes do not overlap and, when the buffers say on
// which streams they are accessed, when every access of the earlier one
// happens before the later one's first write. Greedy best-fit by decreasing
// size (as llm.c-style static planners do), deterministic. Large buffers
// alive at the same time are kept from starting at addresses that agree in
// bits 12-27 (AMD Zen's L1 way predictor, docs/benchmarks.md).
//
//===----------------------------------------------------------------------===//

#ifndef OFF_PLAN_BUFFERASSIGNMENT_H
#define OFF_PLAN_BUFFERASSIGNMENT_H

#include <array>
#include <cstdint>
#include <vector>

namespace mlir::off {

/// Streams a buffer's accesses are described on.
inline constexpr unsigned kBufferStreams = 6;

struct BufferRequest {
  uint64_t size = 0;
  int64_t firstUse = 0; // time of the defining instruction
  int64_t lastUse = 0;  // time of the last access (inclusive)
  /// The stream of the first write, or -1 when times alone order accesses
  /// (one stream).
  int stream = -1;
  /// With a stream: the vector clock of the first write (entry s: how many
  /// ops of stream s happen before it or are it) and the position of the
  /// last access on each stream (0: none).
  std::array<uint32_t, kBufferStreams> writerClock{};
  std::array<uint32_t, kBufferStreams> lastOnStream{};
};

struct BufferLayout {
  std::vector<uint64_t> offsets; // one per request
  uint64_t arenaSize = 0;
};

/// Buffers of this size or more are staggered against address aliasing.
inline constexpr uint64_t kStaggerMinSize = 64 << 10;
/// Two such buffers alias when their offsets agree modulo kAliasPeriod to
/// within kAliasWindow bytes.
inline constexpr uint64_t kAliasPeriod = uint64_t(1) << 28;
inline constexpr uint64_t kAliasWindow = 4 << 10;

/// Assigns aligned offsets so that two requests share a byte only when their
/// [firstUse, lastUse] intervals are disjoint and (with streams) every access
/// of the earlier one happens before the later one's first write.
BufferLayout assignBuffers(const std::vector<BufferRequest> &requests, uint64_t alignment);

/// True when two buffers of kStaggerMinSize or more starting at these
/// offsets would alias in the way predictor.
bool offsetsAlias(uint64_t a, uint64_t b);

} // namespace mlir::off

#endif // OFF_PLAN_BUFFERASSIGNMENT_H
