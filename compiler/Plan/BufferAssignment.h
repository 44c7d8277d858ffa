//===- BufferAssignment.h - offsets for values with lifetimes ---*- C++ -*-===//
//
// Packs buffers with known lifetimes into one arena: two buffers may share
// bytes only when their lifetimes do not overlap (and, when the caller says
// so, when one is ordered entirely before the other). Greedy best-fit by
// decreasing size (as llm.c-style static planners do), deterministic.
// Large buffers alive at the same time are kept from starting at addresses
// that agree in bits 12-27 (AMD Zen's L1 way predictor, docs/benchmarks.md).
//
//===----------------------------------------------------------------------===//

#ifndef OFF_PLAN_BUFFERASSIGNMENT_H
#define OFF_PLAN_BUFFERASSIGNMENT_H

#include <cstdint>
#include <functional>
#include <vector>

namespace mlir::off {

struct BufferRequest {
  uint64_t size = 0;
  int64_t firstUse = 0; // index of the defining instruction
  int64_t lastUse = 0;  // index of the last reading instruction (inclusive)
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

/// Assigns aligned offsets so that requests whose [firstUse, lastUse]
/// intervals intersect never share a byte. `mayShare(a, b)`, when given, is
/// asked about requests whose intervals do not intersect: false keeps them
/// apart too (e.g. when streams do not order one before the other).
BufferLayout assignBuffers(const std::vector<BufferRequest> &requests,
                           uint64_t alignment,
                           const std::function<bool(size_t, size_t)> &mayShare = {});

/// True when two buffers of kStaggerMinSize or more starting at these
/// offsets would alias in the way predictor.
bool offsetsAlias(uint64_t a, uint64_t b);

} // namespace mlir::off

#endif // OFF_PLAN_BUFFERASSIGNMENT_H
