// Striping over several directories: bytes land in the file and at the
// offset the documented layout says (checked by reading each stripe file
// without the engine), and come back intact, on both backends.
#include "IoTestSupport.h"
#include "runtime/io/StripedSpace.h"

#include <filesystem>

namespace off::io::test {
namespace {

class StripedSpaceTest : public testing::TestWithParam<bool> {
protected:
  TempDir a, b, c;
  StripeLayout layout() const {
    StripeLayout l;
    l.directories = {a.path(), b.path(), c.path()};
    l.stripeSize = 64 << 10;
    l.filesPerDirectory = 2;
    return l;
  }
};

TEST_P(StripedSpaceTest, BytesLandWhereTheLayoutSays) {
  IoEngine engine(optionsFor(GetParam()));
  const uint64_t capacity = (3 << 20) + 5000; // not a whole number of stripes
  StripedSpace space(engine, "arena", capacity, layout());
  ASSERT_EQ(space.paths().size(), 6u);
  // File f lives in directory f % 3.
  EXPECT_EQ(space.paths()[4], b / "arena.4.stripe");

  std::mt19937_64 rng(21);
  std::vector<std::byte> data = randomBytes(capacity, rng);
  // Written in three unaligned pieces, all in flight.
  const uint64_t cut1 = 100001, cut2 = 2000003;
  Ticket t1 = space.write(0, data.data(), cut1);
  Ticket t2 = space.write(cut1, data.data() + cut1, cut2 - cut1);
  Ticket t3 = space.write(cut2, data.data() + cut2, capacity - cut2);
  engine.wait(t1);
  engine.wait(t2);
  engine.wait(t3);

  // The reference layout, computed here: unit u -> file u % 6, offset
  // (u / 6) * stripe.
  const uint64_t stripe = 64 << 10, files = 6;
  std::vector<std::vector<std::byte>> contents;
  for (const std::string &path : space.paths())
    contents.push_back(readWholeFile(path));
  for (uint64_t unit = 0; unit * stripe < capacity; ++unit) {
    const uint64_t n = std::min(stripe, capacity - unit * stripe);
    const std::vector<std::byte> &file = contents[unit % files];
    const uint64_t at = (unit / files) * stripe;
    ASSERT_GE(file.size(), at + n) << "unit " << unit;
    ASSERT_EQ(firstDifference(file.data() + at, data.data() + unit * stripe, n),
              -1)
        << "unit " << unit;
  }

  // Read back a range crossing many stripes, unaligned at both ends.
  const uint64_t offset = 12345, length = capacity - 2 * 12345;
  std::vector<std::byte> back(length);
  engine.wait(space.read(offset, back.data(), length));
  EXPECT_EQ(firstDifference(back.data(), data.data() + offset, length), -1);
}

// The files hold the capacity rounded up to the engine's block, not to a
// whole stripe: what the NVMe tier reports as its peak.
TEST_P(StripedSpaceTest, FilesTakeTheCapacityRoundedToABlock) {
  IoEngine engine(optionsFor(GetParam()));
  for (uint64_t capacity : {uint64_t(3 << 20) + 5000, uint64_t(64 << 10), uint64_t(100)}) {
    StripedSpace space(engine, "sized" + std::to_string(capacity), capacity, layout());
    uint64_t total = 0;
    for (const std::string &path : space.paths())
      total += std::filesystem::file_size(path);
    EXPECT_EQ(total, (capacity + 4095) / 4096 * 4096) << "capacity " << capacity;
  }
}

TEST_P(StripedSpaceTest, ReopensExistingFiles) {
  IoEngine engine(optionsFor(GetParam()));
  std::vector<std::byte> data(300000, std::byte{0x3c});
  {
    StripedSpace space(engine, "keep", 1 << 20, layout());
    engine.wait(space.write(50000, data.data(), data.size()));
  }
  StripedSpace again(engine, "keep", 1 << 20, layout(), /*create=*/false);
  std::vector<std::byte> back(data.size());
  engine.wait(again.read(50000, back.data(), back.size()));
  EXPECT_EQ(back, data);
}

TEST_P(StripedSpaceTest, RangePastCapacityIsRejected) {
  IoEngine engine(optionsFor(GetParam()));
  StripedSpace space(engine, "small", 1 << 20, layout());
  std::byte byte{};
  EXPECT_THROW(space.read((1 << 20) - 1, &byte, 2), std::out_of_range);
}

TEST_P(StripedSpaceTest, MissingDirectoryNamesIt) {
  IoEngine engine(optionsFor(GetParam()));
  StripeLayout l = layout();
  l.directories.push_back(a / "does-not-exist");
  try {
    StripedSpace space(engine, "x", 1 << 20, l);
    FAIL() << "expected an IoError";
  } catch (const IoError &e) {
    EXPECT_NE(std::string(e.what()).find("does-not-exist"), std::string::npos)
        << e.what();
    EXPECT_EQ(e.errnum(), ENOENT);
  }
  // The files created before the failure are gone again.
  EXPECT_FALSE(std::filesystem::exists(a / "x.0.stripe"));
}

TEST_P(StripedSpaceTest, CallbackRead) {
  IoEngine engine(optionsFor(GetParam()));
  StripedSpace space(engine, "cb", 1 << 20, layout());
  std::vector<std::byte> data(200000, std::byte{0x11}), back(200000);
  engine.wait(space.write(1, data.data(), data.size()));
  std::promise<std::string> done;
  space.read(1, back.data(), back.size(), [&](const IoError *e) {
    done.set_value(e ? e->what() : "");
  });
  EXPECT_EQ(done.get_future().get(), "");
  EXPECT_EQ(back, data);
}

INSTANTIATE_TEST_SUITE_P(Modes, StripedSpaceTest, testing::Values(false, true),
                         modeName);

} // namespace
} // namespace off::io::test
