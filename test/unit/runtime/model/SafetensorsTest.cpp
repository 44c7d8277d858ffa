// Safetensors reading (validated against hand-made files), writing (round
// trips, alignment, atomicity) and every rejection path of the header check.
#include "runtime/model/Safetensors.h"

#include "ModelTestUtil.h"
#include "runtime/common/Float16.h"
#include "runtime/model/ModelError.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <unistd.h>

namespace off::model {
namespace {

using testutil::errorOf;
using testutil::rawBytes;
using testutil::readBytes;
using testutil::safetensorsBytes;
using testutil::ScratchDir;
using testutil::writeBytes;

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

TEST(ModelSafetensors, ReadsAHandMadeFile) {
  ScratchDir dir;
  // Two tensors by the spec, the second first in the data section, and a
  // header padded with spaces as the reference writer pads it.
  std::string header = R"({"__metadata__":{"format":"pt"},)"
                       R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]},)"
                       R"("ids":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}    )";
  std::string data = rawBytes<int32_t>({7, -9}) + rawBytes<float>({1.5f, -2.f, 0.25f, 8.f});
  writeBytes(dir.file("a.safetensors"), safetensorsBytes(header, data));

  SafetensorsFile file = SafetensorsFile::open(dir.file("a.safetensors"));
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.tensors()[0].name, "w"); // header order
  const TensorInfo &w = file.get("w");
  EXPECT_EQ(w.dtype, DType::F32);
  EXPECT_EQ(w.shape, (Shape{2, 2}));
  float values[4];
  file.copyTo("w", DType::F32, values, sizeof values);
  EXPECT_EQ(values[0], 1.5f);
  EXPECT_EQ(values[3], 8.f);
  int32_t ids[2];
  file.copyTo("ids", DType::I32, ids, sizeof ids);
  EXPECT_EQ(ids[0], 7);
  EXPECT_EQ(ids[1], -9);
  ASSERT_EQ(file.metadata().size(), 1u);
  EXPECT_EQ(file.metadata()[0], (std::pair<std::string, std::string>{"format", "pt"}));
  EXPECT_EQ(file.find("nope"), nullptr);
  EXPECT_TRUE(contains(errorOf<ModelIoError>([&] { file.get("nope"); }), "'nope'"));
}

TEST(ModelSafetensors, RoundTripsEveryDtypeAligned) {
  ScratchDir dir;
  std::vector<float> f32{1.f, -2.5f, 3.25f, 1e-30f, -0.f, 65504.f};
  std::vector<uint16_t> bf16{0x3f80, 0xc020, 0x7f80}; // 1, -2.5, +inf
  std::vector<uint16_t> f16{0x3c00, 0xc000, 0x0001};  // 1, -2, 2^-24
  std::vector<int32_t> i32{INT32_MIN, 0, INT32_MAX};
  std::vector<int64_t> i64{INT64_MIN, 42, INT64_MAX, -1};
  std::vector<uint8_t> u8{0, 255, 7}; // odd byte count before the rest
  std::vector<double> f64{0.1};
  std::vector<TensorToWrite> tensors{
      {"u8", DType::U8, {3}, u8.data()},        {"bf16", DType::BF16, {3}, bf16.data()},
      {"f32", DType::F32, {2, 3}, f32.data()},  {"f16", DType::F16, {1, 3}, f16.data()},
      {"i32", DType::I32, {3}, i32.data()},     {"i64", DType::I64, {2, 2}, i64.data()},
      {"f64", DType::F64, {}, f64.data()},      {"empty", DType::F32, {0, 4}, nullptr},
  };
  writeSafetensors(dir.file("r.safetensors"), tensors, {{"k", "v"}, {"x", "y"}});
  std::string bytes = readBytes(dir.file("r.safetensors"));
  uint64_t headerSize = 0;
  std::memcpy(&headerSize, bytes.data(), 8);
  EXPECT_EQ((8 + headerSize) % 8, 0u) << "header not padded to 8 bytes";

  SafetensorsFile file = SafetensorsFile::open(dir.file("r.safetensors"));
  EXPECT_EQ(file.metadata().size(), 2u);
  for (const TensorToWrite &want : tensors) {
    const TensorInfo &got = file.get(want.name);
    EXPECT_EQ(got.dtype, want.dtype) << want.name;
    EXPECT_EQ(got.shape, want.shape) << want.name;
    size_t size = elementCount(want.shape) * dtypeSize(want.dtype);
    ASSERT_EQ(got.byteSize(), size);
    if (size)
      EXPECT_EQ(std::memcmp(file.data(got), want.data, size), 0) << want.name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(file.data(got)) % dtypeSize(want.dtype), 0u)
        << want.name << " is not aligned to its element size";
  }
}

TEST(ModelSafetensors, ConvertsHalfPrecisionToFloat) {
  ScratchDir dir;
  // bf16 0x3fc0 = 1.5, 0xc2f7 = -123.5; f16 0x7bff = 65504 (max), 0x0001 =
  // 2^-24 (smallest subnormal), 0x8400 = -2^-14, 0x7c00 = +inf.
  std::vector<uint16_t> bf16{0x3fc0, 0xc2f7};
  std::vector<uint16_t> f16{0x7bff, 0x0001, 0x8400, 0x7c00};
  std::vector<float> f32{3.f, 4.f};
  writeSafetensors(dir.file("h.safetensors"), {{"b", DType::BF16, {2}, bf16.data()},
                                               {"h", DType::F16, {4}, f16.data()},
                                               {"f", DType::F32, {2}, f32.data()}});
  SafetensorsFile file = SafetensorsFile::open(dir.file("h.safetensors"));
  float out[4];
  file.readFloat32("b", out, 2);
  EXPECT_EQ(out[0], 1.5f);
  EXPECT_EQ(out[1], -123.5f);
  file.readFloat32("h", out, 4);
  EXPECT_EQ(out[0], 65504.f);
  EXPECT_EQ(out[1], std::ldexp(1.f, -24));
  EXPECT_EQ(out[2], -std::ldexp(1.f, -14));
  EXPECT_TRUE(std::isinf(out[3]) && out[3] > 0);
  file.readFloat32("f", out, 2);
  EXPECT_EQ(out[1], 4.f);
  EXPECT_TRUE(contains(errorOf<ModelIoError>([&] { file.readFloat32("f", out, 3); }),
                       "holds 2 elements"));
  std::string dtypeError = errorOf<ModelIoError>([&] { file.copyTo("b", DType::F32, out, 4); });
  EXPECT_TRUE(contains(dtypeError, "expected dtype F32, found BF16")) << dtypeError;
  EXPECT_TRUE(contains(dtypeError, dir.file("h.safetensors")));
}

TEST(ModelSafetensors, Bf16RoundingIsNearestEven) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties to even (1.0).
  EXPECT_EQ(floatToBf16(1.0f + std::ldexp(1.f, -8)), 0x3f80);
  // 1 + 3 * 2^-8 is halfway between 0x3f81 and 0x3f82: ties to even (0x3f82).
  EXPECT_EQ(floatToBf16(1.0f + 3 * std::ldexp(1.f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(std::nanf("")))));
}

// Each malformed file: the error must name the file and say what is wrong.
struct BadFile {
  const char *label;
  std::string bytes;
  const char *expected; // substring of the message
};

std::vector<BadFile> badFiles() {
  using testutil::appendLe64;
  std::string f32x2 = rawBytes<float>({1.f, 2.f});
  auto one = [&](const std::string &entry, const std::string &data) {
    return safetensorsBytes("{\"t\":" + entry + "}", data);
  };
  std::string lengthPastEnd;
  appendLe64(lengthPastEnd, 1000);
  lengthPastEnd += "{}";
  std::string hugeLength;
  appendLe64(hugeLength, 1ull << 40);
  hugeLength += "{}";
  return {
      {"empty file", "", "too short for the 8-byte header length"},
      {"seven bytes", "1234567", "too short"},
      {"header length past EOF", lengthPastEnd, "runs past the end of the file"},
      {"header length over the limit", hugeLength, "exceeds the 100 MiB limit"},
      {"header length 1", safetensorsBytes("{", ""), "too small"},
      {"not an object", safetensorsBytes("[1,2]", ""), "does not start with '{'"},
      {"bad JSON", safetensorsBytes("{\"t\": {\"dtype\": }", ""), "header is not valid JSON"},
      {"trailing garbage in header", safetensorsBytes("{} xx", ""), "not valid JSON"},
      {"unknown dtype",
       one(R"({"dtype":"F8","shape":[2],"data_offsets":[0,8]})", f32x2), "unknown dtype 'F8'"},
      {"missing offsets", one(R"({"dtype":"F32","shape":[2]})", f32x2),
       "missing field 'data_offsets'"},
      {"unknown field",
       one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1})", f32x2),
       "unknown field 'x'"},
      {"negative dim", one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})", f32x2),
       "negative dimension"},
      {"fractional dim", one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})", f32x2),
       "not a list of integers"},
      {"shape not array", one(R"({"dtype":"F32","shape":2,"data_offsets":[0,8]})", f32x2),
       "shape is not an array"},
      {"offsets reversed", one(R"({"dtype":"F32","shape":[0],"data_offsets":[8,0]})", f32x2),
       "end before they begin"},
      {"offsets not a pair", one(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})", f32x2),
       "not a pair"},
      {"offsets past data", one(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})", f32x2),
       "run past the end of the data"},
      {"shape vs offsets", one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})", f32x2),
       "needs 12 bytes but data_offsets [0,8] hold 8"},
      {"dtype size vs offsets",
       one(R"({"dtype":"I64","shape":[2],"data_offsets":[0,8]})", f32x2), "needs 16 bytes"},
      {"shape overflow",
       one(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})", f32x2),
       "overflows"},
      {"overlap",
       safetensorsBytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                        rawBytes<float>({1, 2, 3})),
       "tensors 'a' [0, 8) and 'b' [4, 12) overlap"},
      {"hole",
       safetensorsBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                        rawBytes<float>({1, 2, 3})),
       "data bytes [4, 8) belong to no tensor"},
      {"trailing data", one(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})", f32x2),
       "4 bytes after the last tensor"},
      {"duplicate name",
       safetensorsBytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                        R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                        f32x2),
       "header is not valid JSON: duplicate key 'a'"},
      {"metadata not strings", safetensorsBytes(R"({"__metadata__":{"n":1}})", ""),
       "__metadata__ entry 'n' is a number, not a string"},
      {"entry not object", one("[1]", ""), "entry is an array, not an object"},
  };
}

TEST(ModelSafetensors, RejectsEveryMalformedHeader) {
  ScratchDir dir;
  for (const BadFile &bad : badFiles()) {
    std::string path = dir.file("bad.safetensors");
    writeBytes(path, bad.bytes);
    std::string message = errorOf<ModelIoError>([&] { SafetensorsFile::open(path); });
    EXPECT_TRUE(contains(message, bad.expected))
        << bad.label << ": got \"" << message << "\"";
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << bad.label << ": file not named";
    if (contains(bad.bytes, "\"t\":{"))
      EXPECT_TRUE(contains(message, "tensor 't'") || contains(message, "belong to no"))
          << bad.label << ": tensor not named: " << message;
  }
}

TEST(ModelSafetensors, MissingFileAndDirectoryAreClearErrors) {
  ScratchDir dir;
  std::string missing = errorOf<ModelIoError>([&] { SafetensorsFile::open(dir.file("no")); });
  EXPECT_TRUE(contains(missing, dir.file("no") + ": cannot open: No such file")) << missing;
  std::string isDir = errorOf<ModelIoError>([&] { SafetensorsFile::open(dir.path()); });
  EXPECT_TRUE(contains(isDir, "is a directory")) << isDir;
}

TEST(ModelSafetensors, EveryTruncationIsAnError) {
  ScratchDir dir;
  std::vector<float> a{1, 2, 3};
  std::vector<int64_t> b{4, 5};
  writeSafetensors(dir.file("full"), {{"a", DType::F32, {3}, a.data()},
                                      {"b", DType::I64, {2}, b.data()}});
  std::string full = readBytes(dir.file("full"));
  for (size_t size = 0; size < full.size(); ++size) {
    writeBytes(dir.file("cut"), full.substr(0, size));
    EXPECT_THROW(SafetensorsFile::open(dir.file("cut")), ModelIoError) << "size " << size;
  }
}

TEST(ModelSafetensors, RandomCorruptionNeverCrashes) {
  ScratchDir dir;
  std::vector<float> a{1, 2, 3, 4};
  writeSafetensors(dir.file("full"), {{"a", DType::F32, {2, 2}, a.data()},
                                      {"bb", DType::F32, {4}, a.data()}});
  std::string full = readBytes(dir.file("full"));
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes = full;
    // Flip 1-3 random bytes of the length field or the header.
    for (int flips = 1 + int(rng() % 3); flips > 0; --flips)
      bytes[rng() % (bytes.size() - 32)] ^= char(1 + rng() % 255);
    writeBytes(dir.file("bad"), bytes);
    try {
      // A file that opens must keep every tensor inside the mapping: touch
      // every byte (a bad offset would fault here).
      SafetensorsFile file = SafetensorsFile::open(dir.file("bad"));
      unsigned sum = 0;
      for (const TensorInfo &t : file.tensors())
        for (uint64_t i = 0; i < t.byteSize(); ++i)
          sum += file.data(t)[i];
      (void)sum;
    } catch (const ModelIoError &) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 250) << "corruption went unnoticed too often";
}

TEST(ModelSafetensors, WriterRejectsBadTensors) {
  ScratchDir dir;
  float x = 1;
  auto write = [&](std::vector<TensorToWrite> tensors) {
    return errorOf<ModelIoError>([&] { writeSafetensors(dir.file("w"), tensors); });
  };
  EXPECT_TRUE(contains(write({{"a", DType::F32, {1}, &x}, {"a", DType::F32, {1}, &x}}),
                       "tensor 'a' is given twice"));
  EXPECT_TRUE(contains(write({{"a", DType::F32, {-1}, &x}}), "invalid shape [-1]"));
  EXPECT_TRUE(contains(write({{"__metadata__", DType::F32, {1}, &x}}), "invalid tensor name"));
  EXPECT_TRUE(contains(write({{"a", DType::F32, {1}, nullptr}}), "no data"));
  EXPECT_FALSE(std::filesystem::exists(dir.file("w")));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "temporary file left behind";
}

// A tensor without a host pointer (on the NVMe tier) is given by a reader:
// the writer asks for consecutive chunks of bounded size, never the whole
// tensor at once, and the file holds the same bytes as one written from
// memory.
TEST(ModelSafetensors, TensorGivenByAReaderIsWrittenInChunks) {
  ScratchDir dir;
  const uint64_t count = (80ull << 20) / sizeof(float) + 3; // over one 64 MiB chunk
  std::vector<float> values(count);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (float &v : values)
    v = dist(rng);
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  TensorToWrite byReader{"big", DType::F32, {int64_t(count)}, nullptr,
                         [&](uint64_t offset, void *dst, uint64_t bytes) {
                           calls.emplace_back(offset, bytes);
                           std::memcpy(dst, reinterpret_cast<const char *>(values.data()) +
                                                offset, bytes);
                         }};
  float small[2] = {1.5f, -3.f};
  writeSafetensors(dir.file("reader"), {byReader, {"small", DType::F32, {2}, small}});
  writeSafetensors(dir.file("memory"),
                   {{"big", DType::F32, {int64_t(count)}, values.data()},
                    {"small", DType::F32, {2}, small}});
  EXPECT_EQ(readBytes(dir.file("reader")), readBytes(dir.file("memory")));
  ASSERT_GE(calls.size(), 2u);
  uint64_t next = 0;
  for (auto [offset, bytes] : calls) {
    EXPECT_EQ(offset, next);
    EXPECT_LE(bytes, 64ull << 20);
    next = offset + bytes;
  }
  EXPECT_EQ(next, count * sizeof(float));
}

// A full disk in the middle of a save: the old file is untouched and no
// temporary file is left.
TEST(ModelSafetensors, FailedWriteLeavesThePreviousFileIntact) {
  ScratchDir dir;
  std::vector<float> old(100, 1.f), fresh(1000, 2.f);
  std::string path = dir.file("model.safetensors");
  writeSafetensors(path, {{"w", DType::F32, {100}, old.data()}});
  std::string before = readBytes(path);
  for (uint64_t failAfter : {0ull, 7ull, 8ull, 100ull, 2000ull, 3999ull}) {
    injectWriteFailureAfter(failAfter, ENOSPC);
    std::string message = errorOf<ModelIoError>(
        [&] { writeSafetensors(path, {{"w", DType::F32, {1000}, fresh.data()}}); });
    clearInjectedWriteFailure();
    EXPECT_TRUE(contains(message, path + ": write failed")) << message;
    EXPECT_TRUE(contains(message, "No space left on device")) << message;
    EXPECT_EQ(readBytes(path), before) << "after failing at byte " << failAfter;
    size_t entries = 0;
    for ([[maybe_unused]] auto &entry : std::filesystem::directory_iterator(dir.path()))
      ++entries;
    EXPECT_EQ(entries, 1u) << "temporary file left after failing at byte " << failAfter;
  }
  writeSafetensors(path, {{"w", DType::F32, {1000}, fresh.data()}});
  EXPECT_EQ(SafetensorsFile::open(path).get("w").shape, (Shape{1000}));
}

// A weights file truncated between opening and reading (or while read):
// an error naming the file, not SIGBUS.
TEST(ModelSafetensors, AFileTruncatedAfterOpeningIsAnErrorNamingIt) {
  ScratchDir dir;
  const std::string path = dir.file("w.safetensors");
  std::vector<float> values(50000, 1.5f);
  writeSafetensors(path, {{"w", DType::F32, {50000}, values.data()}});
  SafetensorsFile file = SafetensorsFile::open(path);
  ASSERT_EQ(::truncate(path.c_str(), 100), 0);
  std::vector<float> out(50000);
  std::string converted = errorOf<ModelIoError>([&] { file.readFloat32("w", out.data(), out.size()); });
  EXPECT_TRUE(contains(converted, path + ": the file changed while it was being read"))
      << converted;
  std::string copied = errorOf<ModelIoError>(
      [&] { file.copyTo("w", DType::F32, out.data(), out.size() * sizeof(float)); });
  EXPECT_TRUE(contains(copied, "it now has 100 bytes")) << copied;
}

} // namespace
} // namespace off::model
