#include "PlanTestUtil.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

using namespace off::plan;
namespace fs = std::filesystem;

namespace {

fs::path tempPath(const std::string &name) {
  fs::path dir = fs::temp_directory_path() / ("off_plan_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

std::string slurp(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const fs::path &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(PlanFile, RoundTrips) {
  Plan plan = test_util::smallValidPlan();
  std::string error;
  fs::path path = tempPath("roundtrip.bin");
  ASSERT_TRUE(writePlanFile(plan, path, error)) << error;
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  std::optional<Plan> back = readPlanFile(path, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->SerializeAsString(), plan.SerializeAsString());
}

// The same plan gives the same bytes, however its kernel attributes (a
// protobuf map, which iterates in hash order) were filled.
TEST(PlanFile, BytesAreDeterministic) {
  Plan forward = test_util::smallValidPlan(), backward = forward;
  auto fill = [](Plan &plan, bool reversed) {
    Kernel *kernel = plan.mutable_streams(0)->mutable_instructions(0)->mutable_kernel();
    for (int i = 0; i < 64; ++i) {
      int k = reversed ? 63 - i : i;
      (*kernel->mutable_attrs())["attr_" + std::to_string(k)].set_i(k);
    }
  };
  fill(forward, false);
  fill(backward, true);
  std::string a, b, error;
  ASSERT_TRUE(serializePlan(forward, a));
  ASSERT_TRUE(serializePlan(backward, b));
  EXPECT_EQ(a, b);
  fs::path pathA = tempPath("det_a.bin"), pathB = tempPath("det_b.bin");
  ASSERT_TRUE(writePlanFile(forward, pathA, error)) << error;
  ASSERT_TRUE(writePlanFile(backward, pathB, error)) << error;
  EXPECT_EQ(slurp(pathA), slurp(pathB));
  // The payload is what serializePlan gives, and parses back to the plan.
  std::optional<Plan> back = readPlanFile(pathA, error);
  ASSERT_TRUE(back) << error;
  std::string again;
  ASSERT_TRUE(serializePlan(*back, again));
  EXPECT_EQ(again, a);
  EXPECT_NE(slurp(pathA).find(a), std::string::npos);
}

TEST(PlanFile, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u); // the CRC-32/IEEE check value
}

TEST(PlanFile, EveryTruncationIsAClearError) {
  std::string error;
  fs::path path = tempPath("full.bin");
  ASSERT_TRUE(writePlanFile(test_util::smallValidPlan(), path, error));
  std::string bytes = slurp(path);
  fs::path cut = tempPath("cut.bin");
  for (size_t n = 0; n < bytes.size(); ++n) {
    spit(cut, bytes.substr(0, n));
    error.clear();
    EXPECT_FALSE(readPlanFile(cut, error)) << "length " << n;
    EXPECT_NE(error.find(cut.string()), std::string::npos) << error;
    bool named = error.find("truncated") != std::string::npos ||
                 error.find("not a plan.bin") != std::string::npos;
    EXPECT_TRUE(named) << "length " << n << ": " << error;
  }
}

TEST(PlanFile, EveryFlippedPayloadBitIsDetected) {
  std::string error;
  fs::path path = tempPath("flip.bin");
  ASSERT_TRUE(writePlanFile(test_util::smallValidPlan(), path, error));
  std::string bytes = slurp(path);
  for (size_t i = 16; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x10;
    spit(path, bad);
    EXPECT_FALSE(readPlanFile(path, error)) << "byte " << i;
    EXPECT_NE(error.find("corrupted"), std::string::npos) << error;
  }
}

TEST(PlanFile, ForeignAndMissingFiles) {
  std::string error;
  fs::path path = tempPath("foreign.bin");
  spit(path, "#!/bin/sh\necho this is not a plan\n");
  EXPECT_FALSE(readPlanFile(path, error));
  EXPECT_NE(error.find("not a plan.bin"), std::string::npos) << error;
  EXPECT_FALSE(readPlanFile(tempPath("does-not-exist.bin"), error));
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

TEST(PlanFile, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  fs::path path = tempPath("random.bin");
  std::string error;
  for (int round = 0; round < 200; ++round) {
    std::string bytes(rng() % 300, '\0');
    for (char &c : bytes)
      c = static_cast<char>(rng());
    if (round % 2 == 0 && bytes.size() >= 16) // a valid magic, garbage after
      bytes.replace(0, 8, std::string("OFFPLAN\x01", 8));
    spit(path, bytes);
    EXPECT_FALSE(readPlanFile(path, error));
  }
}

TEST(PlanFile, WriteIntoMissingDirectoryFailsCleanly) {
  std::string error;
  EXPECT_FALSE(writePlanFile(test_util::smallValidPlan(), "/nonexistent-dir/plan.bin", error));
  EXPECT_NE(error.find("/nonexistent-dir/plan.bin.tmp"), std::string::npos) << error;
}

} // namespace
