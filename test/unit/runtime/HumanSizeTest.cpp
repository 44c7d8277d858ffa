#include "runtime/common/HumanSize.h"

#include <gtest/gtest.h>

using off::formatHumanSize;
using off::parseHumanSize;

TEST(HumanSize, ParsesBinarySuffixes) {
  EXPECT_EQ(parseHumanSize("4096"), 4096u);
  EXPECT_EQ(parseHumanSize("512M"), 512ull * 1024 * 1024);
  EXPECT_EQ(parseHumanSize("24G"), 24ull << 30);
  EXPECT_EQ(parseHumanSize("24g"), 24ull << 30);
  EXPECT_EQ(parseHumanSize("24GB"), 24ull << 30);
  EXPECT_EQ(parseHumanSize("24GiB"), 24ull << 30);
  EXPECT_EQ(parseHumanSize("1.5T"), 3ull << 39);
  EXPECT_EQ(parseHumanSize("0.5K"), 512u);
  EXPECT_EQ(parseHumanSize("7B"), 7u);
}

TEST(HumanSize, RejectsMalformedText) {
  for (const char *bad : {"", "G", "-1G", "12X", "1.2.3G", "1 G", "1GG", "1Gb2"})
    EXPECT_EQ(parseHumanSize(bad), std::nullopt) << "'" << bad << "'";
}

TEST(HumanSize, RejectsOverflow) {
  EXPECT_EQ(parseHumanSize("16777216T"), std::nullopt); // 2^64 bytes
  EXPECT_EQ(parseHumanSize("16777215T"), 16777215ull << 40);
}

TEST(HumanSize, FormatsForPeople) {
  EXPECT_EQ(formatHumanSize(1000), "1000B");
  EXPECT_EQ(formatHumanSize(24ull << 30), "24.0G");
  EXPECT_EQ(formatHumanSize(1536), "1.5K");
  EXPECT_EQ(formatHumanSize(3ull << 39), "1.5T");
}
