// The byte-level tokenizer: its output against the llm.c format written out
// by hand, several inputs, and its errors.
#include "runtime/model/Tokenizer.h"

#include "ModelTestUtil.h"
#include "runtime/model/ModelError.h"
#include "runtime/model/TokenData.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace off::model {
namespace {

using testutil::errorOf;
using testutil::readBytes;
using testutil::ScratchDir;
using testutil::writeBytes;

TEST(ModelTokenizer, ConcatenatesInputsAsUint16Bytes) {
  ScratchDir dir;
  writeBytes(dir.file("a.txt"), "ab");
  writeBytes(dir.file("empty.txt"), "");
  writeBytes(dir.file("b.txt"), std::string("\xff" "c\n", 3));
  uint64_t count = tokenizeBytes({dir.file("a.txt"), dir.file("empty.txt"), dir.file("b.txt")},
                                 dir.file("tokens.bin"));
  EXPECT_EQ(count, 5u);
  // The expected file, by the format: magic 20240520 = 0x0134D888, version
  // 1, count 5, 253 zero ints, then "a" "b" 0xff "c" "\n" as LE uint16.
  std::string expected("\x88\xD8\x34\x01" "\x01\x00\x00\x00" "\x05\x00\x00\x00", 12);
  expected += std::string(253 * 4, '\0');
  expected += std::string("a\0b\0\xff\0c\0\n\0", 10);
  EXPECT_EQ(readBytes(dir.file("tokens.bin")), expected);

  TokenFile file = TokenFile::open(dir.file("tokens.bin"));
  EXPECT_EQ(file.tokenCount(), 5u);
  EXPECT_EQ(file.token(2), 255u);
}

TEST(ModelTokenizer, ErrorsNameTheFileAndWriteNothing) {
  ScratchDir dir;
  writeBytes(dir.file("empty.txt"), "");
  std::string out = dir.file("tokens.bin");
  std::string missing = errorOf<ModelIoError>([&] { tokenizeBytes(dir.file("nope.txt"), out); });
  EXPECT_EQ(missing.rfind(dir.file("nope.txt") + ": cannot read input: No such file", 0), 0u)
      << missing;
  std::string directory = errorOf<ModelIoError>([&] { tokenizeBytes(dir.path(), out); });
  EXPECT_NE(directory.find("is a directory"), std::string::npos) << directory;
  std::string empty = errorOf<ModelIoError>([&] { tokenizeBytes(dir.file("empty.txt"), out); });
  EXPECT_NE(empty.find("nothing to tokenize"), std::string::npos) << empty;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(ModelTokenizer, CommandParsesArguments) {
  ScratchDir dir;
  writeBytes(dir.file("a.txt"), "hello");
  EXPECT_EQ(runTokenizeCommand({dir.file("a.txt")}), 2);                 // no -o
  EXPECT_EQ(runTokenizeCommand({"-o", dir.file("t.bin")}), 2);           // no input
  EXPECT_EQ(runTokenizeCommand({dir.file("a.txt"), "--frob", "-o", "x"}), 2);
  EXPECT_EQ(runTokenizeCommand({dir.file("a.txt"), "-o"}), 2);
  EXPECT_EQ(runTokenizeCommand({dir.file("missing"), "-o", dir.file("t.bin")}), 1);
  EXPECT_EQ(runTokenizeCommand({dir.file("a.txt"), "-o", dir.file("t.bin")}), 0);
  EXPECT_EQ(TokenFile::open(dir.file("t.bin")).tokenCount(), 5u);
}

} // namespace
} // namespace off::model
