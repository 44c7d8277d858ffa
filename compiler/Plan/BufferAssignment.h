//===- BufferAssignment.h - offsets for values with lifetimes ---*- C++ -*-===//
//
// Packs buffers with known lifetimes into one arena: two buffers may share
// bytes only when their lifetimes do not overlap. Greedy best-fit by
// decreasing size (as llm.c-style static planners do), deterministic.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_PLAN_BUFFERASSIGNMENT_H
#define OFF_PLAN_BUFFERASSIGNMENT_H

#include <cstdint>
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

/// Assigns aligned offsets so that requests whose [firstUse, lastUse]
/// intervals intersect never share a byte.
BufferLayout assignBuffers(const std::vector<BufferRequest> &requests,
                           uint64_t alignment);

} // namespace mlir::off

#endif // OFF_PLAN_BUFFERASSIGNMENT_H
