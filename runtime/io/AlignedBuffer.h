// Host memory whose address and size are multiples of the O_DIRECT alignment,
// so that transfers to and from it take the engine's fast path.
//
// Buffers of 2 MiB or more are their own mapping, aligned to 2 MiB and
// advised to use transparent huge pages (as the executor's host arenas are,
// runtime/exec/HostMemory): physically contiguous memory keeps a 1 MiB
// transfer one DMA segment, where 256 scattered 4 KiB pages are more than a
// virtio disk takes in one request (max_segments 254: split in two, and
// never merged with its neighbours). See docs/benchmarks.md, "NVMe engine".
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <sys/mman.h>
#include <utility>

namespace off::io {

enum class PageSize : uint8_t {
  Huge,  // transparent huge pages where the kernel has them (advice only)
  Small, // 4 KiB pages even where THP is "always" (for comparisons)
};

class AlignedBuffer {
public:
  static constexpr size_t kHugePage = size_t(2) << 20;

  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes, size_t alignment = 4096,
                         PageSize pages = PageSize::Huge)
      : size_(bytes) {
    const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    if (rounded >= kHugePage && alignment <= kHugePage) {
      mapped_ = (rounded + kHugePage - 1) / kHugePage * kHugePage;
      data_ = mapAligned(mapped_);
      madvise(data_, mapped_,
              pages == PageSize::Huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
      return;
    }
    data_ = static_cast<std::byte *>(
        std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded));
    if (!data_)
      throw std::bad_alloc();
  }
  ~AlignedBuffer() { release(); }
  AlignedBuffer(AlignedBuffer &&other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        mapped_(std::exchange(other.mapped_, 0)) {}
  AlignedBuffer &operator=(AlignedBuffer &&other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(mapped_, other.mapped_);
    return *this;
  }

  std::byte *data() const { return data_; }
  size_t size() const { return size_; }

private:
  /// `bytes` (a multiple of 2 MiB) of fresh memory starting on a 2 MiB
  /// boundary: map 2 MiB more, unmap the slack on both sides.
  static std::byte *mapAligned(size_t bytes) {
    void *p = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      throw std::bad_alloc();
    auto *base = static_cast<std::byte *>(p);
    const size_t head =
        (kHugePage - reinterpret_cast<uintptr_t>(base) % kHugePage) % kHugePage;
    if (head)
      munmap(base, head);
    if (kHugePage - head)
      munmap(base + head + bytes, kHugePage - head);
    return base + head;
  }
  void release() {
    if (mapped_)
      munmap(data_, mapped_);
    else
      std::free(data_);
  }

  std::byte *data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0; // bytes mapped with mmap (0: aligned_alloc)
};

} // namespace off::io
