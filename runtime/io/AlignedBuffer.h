// Host memory whose address and size are multiples of the O_DIRECT alignment,
// so that transfers to and from it take the engine's fast path.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

namespace off::io {

class AlignedBuffer {
public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes, size_t alignment = 4096)
      : size_(bytes) {
    const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    data_ = static_cast<std::byte *>(
        std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded));
    if (!data_)
      throw std::bad_alloc();
  }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(AlignedBuffer &&other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer &operator=(AlignedBuffer &&other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }

  std::byte *data() const { return data_; }
  size_t size() const { return size_; }

private:
  std::byte *data_ = nullptr;
  size_t size_ = 0;
};

} // namespace off::io
