// Token files (llm.c and raw), the micro-batch order with its wrap-around
// rule against hand-computed windows, and every data error.
#include "runtime/model/TokenData.h"

#include "ModelTestUtil.h"
#include "runtime/model/ModelError.h"

#include <gtest/gtest.h>

#include <unistd.h>

namespace off::model {
namespace {

using testutil::errorOf;
using testutil::llmcTokenBytes;
using testutil::rawBytes;
using testutil::ScratchDir;
using testutil::writeBytes;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

// Tokens 100, 101, ..., 110 (N = 11).
std::vector<uint32_t> elevenTokens() {
  std::vector<uint32_t> tokens;
  for (uint32_t t = 100; t <= 110; ++t)
    tokens.push_back(t);
  return tokens;
}

struct Batch {
  std::vector<int32_t> inputs, targets;
};

Batch load(const BatchLoader &loader, uint64_t index) {
  size_t n = size_t(loader.batch() * loader.seq());
  Batch batch{std::vector<int32_t>(n), std::vector<int32_t>(n)};
  loader.load(index, batch.inputs.data(), batch.targets.data());
  return batch;
}

// B=1, T=3 over N=11 tokens: windows of 4 start at 0, 3, 6 (floor(10/3) = 3
// per pass); a fourth would need tokens 9..12 and crosses the end, so
// micro-batch 3 starts over at 0. Token 110 is never read in this order.
TEST(ModelBatchLoader, WrapsToTheStartAsLlmcDoes) {
  ScratchDir dir;
  writeBytes(dir.file("t.bin"), llmcTokenBytes(elevenTokens()));
  BatchLoader loader(TokenFile::open(dir.file("t.bin")), 1, 3, 256);
  EXPECT_EQ(loader.windowsPerEpoch(), 3u);
  const std::vector<std::vector<int32_t>> inputs{
      {100, 101, 102}, {103, 104, 105}, {106, 107, 108}, {100, 101, 102}, {103, 104, 105}};
  const std::vector<std::vector<int32_t>> targets{
      {101, 102, 103}, {104, 105, 106}, {107, 108, 109}, {101, 102, 103}, {104, 105, 106}};
  for (uint64_t i = 0; i < inputs.size(); ++i) {
    Batch batch = load(loader, i);
    EXPECT_EQ(batch.inputs, inputs[i]) << "micro-batch " << i;
    EXPECT_EQ(batch.targets, targets[i]) << "micro-batch " << i;
  }
  EXPECT_EQ(loader.epochOf(2), 0u);
  EXPECT_EQ(loader.epochOf(3), 1u);
  EXPECT_EQ(loader.windowStart(1000001), 6u); // 1000001 mod 3 = 2
}

// B=2, T=2: rows are consecutive slices of one window of B*T+1 tokens.
TEST(ModelBatchLoader, RowsAreConsecutiveSlicesOfTheWindow) {
  ScratchDir dir;
  writeBytes(dir.file("t.bin"), llmcTokenBytes(elevenTokens()));
  BatchLoader loader(TokenFile::open(dir.file("t.bin")), 2, 2, 256);
  EXPECT_EQ(loader.windowsPerEpoch(), 2u); // floor(10 / 4)
  Batch b0 = load(loader, 0), b1 = load(loader, 1), b2 = load(loader, 2);
  EXPECT_EQ(b0.inputs, (std::vector<int32_t>{100, 101, 102, 103}));
  EXPECT_EQ(b0.targets, (std::vector<int32_t>{101, 102, 103, 104}));
  EXPECT_EQ(b1.inputs, (std::vector<int32_t>{104, 105, 106, 107}));
  EXPECT_EQ(b1.targets, (std::vector<int32_t>{105, 106, 107, 108}));
  EXPECT_EQ(b2.inputs, b0.inputs);
}

// Exactly B*T+1 tokens: one window, repeated.
TEST(ModelBatchLoader, ExactFitRepeatsTheOneWindow) {
  ScratchDir dir;
  writeBytes(dir.file("t.bin"), llmcTokenBytes({5, 6, 7, 8, 9}));
  BatchLoader loader(TokenFile::open(dir.file("t.bin")), 2, 2, 10);
  EXPECT_EQ(loader.windowsPerEpoch(), 1u);
  EXPECT_EQ(load(loader, 7).targets, (std::vector<int32_t>{6, 7, 8, 9}));
}

// Two data-parallel ranks, B=1, T=2: the run's window is 2*1*2+1 tokens at
// 0, 4 (floor(10/4) = 2 per pass); rank 1 reads from 2 tokens further.
TEST(ModelBatchLoader, RanksSplitOneWindow) {
  ScratchDir dir;
  writeBytes(dir.file("t.bin"), llmcTokenBytes(elevenTokens()));
  BatchLoader rank0(TokenFile::open(dir.file("t.bin")), 1, 2, 256, 0, 2);
  BatchLoader rank1(TokenFile::open(dir.file("t.bin")), 1, 2, 256, 1, 2);
  EXPECT_EQ(load(rank0, 0).inputs, (std::vector<int32_t>{100, 101}));
  EXPECT_EQ(load(rank1, 0).inputs, (std::vector<int32_t>{102, 103}));
  EXPECT_EQ(load(rank1, 0).targets, (std::vector<int32_t>{103, 104}));
  EXPECT_EQ(load(rank0, 1).inputs, (std::vector<int32_t>{104, 105}));
  EXPECT_EQ(load(rank1, 1).targets, (std::vector<int32_t>{107, 108}));
  EXPECT_EQ(load(rank1, 2).inputs, (std::vector<int32_t>{102, 103})); // wrapped
}

TEST(ModelTokenFile, ReadsVersion2AndRawFiles) {
  ScratchDir dir;
  std::vector<uint32_t> big{0, 70000, 128255, 1};
  writeBytes(dir.file("v2.bin"), llmcTokenBytes(big, 2));
  TokenFile v2 = TokenFile::open(dir.file("v2.bin"));
  EXPECT_EQ(v2.tokenBytes(), 4u);
  ASSERT_EQ(v2.tokenCount(), 4u);
  EXPECT_EQ(v2.token(2), 128255u);
  BatchLoader loader(std::move(v2), 1, 3, 128256);
  EXPECT_EQ(load(loader, 0).targets, (std::vector<int32_t>{70000, 128255, 1}));

  writeBytes(dir.file("u16.raw"), rawBytes<uint16_t>({1, 65535, 3}));
  TokenFile u16 = TokenFile::open(dir.file("u16.raw"), TokenFileFormat::RawU16);
  EXPECT_EQ(u16.tokenCount(), 3u);
  EXPECT_EQ(u16.token(1), 65535u);
  writeBytes(dir.file("u32.raw"), rawBytes<uint32_t>({9, 4000000000u}));
  TokenFile u32 = TokenFile::open(dir.file("u32.raw"), TokenFileFormat::RawU32);
  EXPECT_EQ(u32.tokenCount(), 2u);
  EXPECT_EQ(u32.token(1), 4000000000u);

  EXPECT_EQ(parseTokenFileFormat("uint16"), TokenFileFormat::RawU16);
  EXPECT_EQ(parseTokenFileFormat("uint32"), TokenFileFormat::RawU32);
  EXPECT_EQ(parseTokenFileFormat("llmc"), TokenFileFormat::Llmc);
  EXPECT_EQ(parseTokenFileFormat("int8"), std::nullopt);
}

TEST(ModelTokenFile, HeaderErrorsNameTheFile) {
  ScratchDir dir;
  std::string path = dir.file("bad.bin");
  auto openError = [&](const std::string &bytes, TokenFileFormat format = TokenFileFormat::Llmc) {
    writeBytes(path, bytes);
    return errorOf<ModelIoError>([&] { TokenFile::open(path, format); });
  };
  struct Case {
    std::string bytes;
    const char *expected;
  };
  std::vector<uint32_t> tokens{1, 2, 3};
  std::string truncated = llmcTokenBytes(tokens);
  truncated.pop_back();
  const Case cases[] = {
      {"", "too short for the 1024-byte llm.c token header"},
      {llmcTokenBytes(tokens, 1, 20240521), "bad magic 20240521"},
      {llmcTokenBytes(tokens, 3), "unsupported llm.c token file version 3"},
      {llmcTokenBytes(tokens, 1, 20240520, 4), "header announces 4 tokens (8 bytes) but only 6"},
      {truncated, "truncated file?"},
      {llmcTokenBytes(tokens, 1, 20240520, 2), "2 bytes follow the 2 tokens"},
      {llmcTokenBytes(tokens, 1, 20240520, -5), "negative token count -5"},
  };
  for (const Case &c : cases) {
    std::string message = openError(c.bytes);
    EXPECT_TRUE(contains(message, c.expected)) << c.expected << " / " << message;
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  }
  EXPECT_TRUE(contains(openError("abc", TokenFileFormat::RawU16),
                       "size 3 bytes is not a whole number of uint16 tokens"));
  EXPECT_TRUE(contains(openError("abcdef", TokenFileFormat::RawU32), "uint32"));
  std::string missing =
      errorOf<ModelIoError>([&] { TokenFile::open(dir.file("missing.bin")); });
  EXPECT_TRUE(contains(missing, dir.file("missing.bin") + ": cannot open: No such file"))
      << missing;
}

TEST(ModelBatchLoader, ShortFileIsAClearError) {
  ScratchDir dir;
  writeBytes(dir.file("t.bin"), llmcTokenBytes({1, 2, 3, 4, 5, 6}));
  std::string message = errorOf<ModelIoError>(
      [&] { BatchLoader(TokenFile::open(dir.file("t.bin")), 2, 3, 256); });
  EXPECT_EQ(message, dir.file("t.bin") + ": holds 6 tokens; one micro-batch (B=2 x T=3, "
                                         "plus 1 for the last target) needs 7");
  EXPECT_THROW(BatchLoader(TokenFile::open(dir.file("t.bin")), 0, 3, 256),
               std::invalid_argument);
}

TEST(ModelBatchLoader, TokenIdOutOfRangeNamesFilePositionAndId) {
  ScratchDir dir;
  // Position 5 holds 300 >= vocab 256; it is a target of micro-batch 1
  // (window [4, 8]) and the first token of no window.
  writeBytes(dir.file("t.bin"), llmcTokenBytes({1, 2, 3, 4, 5, 300, 7, 8, 9}));
  BatchLoader loader(TokenFile::open(dir.file("t.bin")), 1, 4, 256);
  EXPECT_NO_THROW(load(loader, 0));
  std::string message = errorOf<ModelIoError>([&] { load(loader, 1); });
  EXPECT_EQ(message, dir.file("t.bin") + ": token id 300 at token position 5 (micro-batch 1) "
                                         "is out of range for the vocabulary size 256");
  std::string scan =
      errorOf<ModelIoError>([&] { TokenFile::open(dir.file("t.bin")).checkAllIds(256); });
  EXPECT_TRUE(contains(scan, "token id 300 at token position 5 is out of range")) << scan;
  EXPECT_NO_THROW(TokenFile::open(dir.file("t.bin")).checkAllIds(301));
}

// A token file truncated while a run reads it (the mapping would raise
// SIGBUS): the next micro-batch is an error naming the file.
TEST(ModelBatchLoader, AFileTruncatedDuringTheRunIsAnErrorNamingIt) {
  ScratchDir dir;
  std::vector<uint32_t> tokens(20000);
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = uint32_t(i % 256);
  writeBytes(dir.file("t.bin"), llmcTokenBytes(tokens));
  BatchLoader loader(TokenFile::open(dir.file("t.bin")), 2, 1000, 256);
  EXPECT_NO_THROW(load(loader, 5));
  ASSERT_EQ(::truncate(dir.file("t.bin").c_str(), 0), 0);
  std::string message = errorOf<ModelIoError>([&] { load(loader, 6); });
  EXPECT_TRUE(contains(message, dir.file("t.bin") + ": the file changed while it was being "
                                                    "read: it had 41024 bytes when opened and "
                                                    "it now has 0 bytes"))
      << message;
  std::string scan = errorOf<ModelIoError>([&] { loader.file().checkAllIds(256); });
  EXPECT_TRUE(contains(scan, "the file changed while it was being read")) << scan;
}

} // namespace
} // namespace off::model
