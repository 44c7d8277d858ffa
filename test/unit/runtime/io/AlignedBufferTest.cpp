// AlignedBuffer: small buffers from aligned_alloc, large ones (>= 2 MiB) their
// own mapping starting on a 2 MiB boundary (so transparent huge pages can
// back all of it); every byte usable, moves hand the memory over.
#include "runtime/io/AlignedBuffer.h"

#include <gtest/gtest.h>

#include <cstring>

namespace off::io::test {
namespace {

uintptr_t address(const AlignedBuffer &b) {
  return reinterpret_cast<uintptr_t>(b.data());
}

TEST(AlignedBuffer, SmallBuffersHaveTheAlignmentAsked) {
  for (size_t bytes : {size_t(1), size_t(4096), size_t(100000), (size_t(2) << 20) - 1}) {
    AlignedBuffer b(bytes, 4096);
    EXPECT_EQ(address(b) % 4096, 0u) << bytes;
    EXPECT_EQ(b.size(), bytes);
    std::memset(b.data(), 0xab, bytes);
  }
  EXPECT_EQ(address(AlignedBuffer(100, 65536)) % 65536, 0u);
}

TEST(AlignedBuffer, LargeBuffersStartOnAHugePageBoundary) {
  for (PageSize pages : {PageSize::Huge, PageSize::Small}) {
    for (size_t bytes : {size_t(2) << 20, (size_t(5) << 20) + 12345}) {
      AlignedBuffer b(bytes, 4096, pages);
      EXPECT_EQ(address(b) % AlignedBuffer::kHugePage, 0u) << bytes;
      EXPECT_EQ(b.size(), bytes);
      std::memset(b.data(), 0x5a, bytes); // every byte is mapped and writable
      EXPECT_EQ(b.data()[bytes - 1], std::byte{0x5a});
    }
  }
}

TEST(AlignedBuffer, MovesHandTheMemoryOver) {
  AlignedBuffer a(3 << 20), small(64);
  std::byte *large = a.data();
  large[0] = std::byte{7};
  AlignedBuffer b(std::move(a));
  EXPECT_EQ(b.data(), large);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data()[0], std::byte{7});
  b = std::move(small); // each side frees its own kind of memory at the end
  EXPECT_EQ(b.size(), 64u);
  EXPECT_EQ(small.data(), large);
}

} // namespace
} // namespace off::io::test
