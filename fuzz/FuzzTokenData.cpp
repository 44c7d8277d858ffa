// Fuzz target: TokenFile and BatchLoader (runtime/model/TokenData.h), the
// readers of the token files `offrt train --data` takes.
//
// Input: the bytes of a token file, opened three ways: as an llm.c file (the
// outcome reported to the replay driver), as raw uint16 and as raw uint32
// tokens. Accepted files are checked against the format with our own
// little-endian reads: the token count fills the payload exactly, token(i)
// is the i-th value, and a BatchLoader over the file hands out the
// documented window (targets = inputs shifted by one) or names the first
// out-of-vocabulary token.
#include "fuzz/FuzzTarget.h"
#include "runtime/model/ModelError.h"
#include "runtime/model/TokenData.h"

#include <vector>

namespace off::fuzz {

const char *const kTargetName = "token_data";

namespace {

using model::BatchLoader;
using model::TokenFile;
using model::TokenFileFormat;

// A small vocabulary, so that some tokens of most inputs are out of range.
constexpr uint64_t kVocab = 50257;

uint32_t readToken(const uint8_t *at, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i)
    value |= uint32_t(at[i]) << (8 * i);
  return value;
}

std::optional<TokenFile> open(const uint8_t *data, size_t size, TokenFileFormat format) {
  return parseOrReject<model::ModelIoError>(
      [&] { return TokenFile::fromMemory(data, size, kInputName, format); });
}

void checkAccepted(const TokenFile &file, const uint8_t *data, size_t size,
                   TokenFileFormat format) {
  size_t headerBytes = 0, width = format == TokenFileFormat::RawU32 ? 4 : 2;
  if (format == TokenFileFormat::Llmc) {
    // header[0] magic, header[1] version (1: uint16, 2: uint32), header[2] count
    headerBytes = model::kLlmcHeaderBytes;
    const uint32_t version = readToken(data + 4, 4), count = readToken(data + 8, 4);
    if (readToken(data, 4) != uint32_t(model::kLlmcMagic) || (version != 1 && version != 2))
      violation("accepted an llm.c header with a bad magic or version");
    width = version == 1 ? 2 : 4;
    if (count != file.tokenCount())
      violation("token count is not the header's");
  }
  if (file.tokenBytes() != width)
    violation("token width " + std::to_string(file.tokenBytes()) + ", expected " +
              std::to_string(width));
  if (headerBytes + file.tokenCount() * width != size)
    violation("accepted " + std::to_string(file.tokenCount()) + " tokens of " +
              std::to_string(width) + " bytes that do not fill the " +
              std::to_string(size) + "-byte input");
  const uint8_t *tokens = data + headerBytes;
  for (uint64_t i = 0; i < file.tokenCount(); ++i)
    if (file.token(i) != readToken(tokens + i * width, width))
      violation("token(" + std::to_string(i) + ") is not the file's value");

  // A first out-of-vocabulary id is a clean error naming the input.
  parseOrReject<model::ModelIoError>([&] {
    file.checkAllIds(kVocab);
    return true;
  });

  // Micro-batches of B=2, T=3: the window rule of docs/data-and-checkpoints.md.
  constexpr int64_t B = 2, T = 3;
  auto loader = parseOrReject<model::ModelIoError>(
      [&] { return BatchLoader(*open(data, size, format), B, T, kVocab); });
  if (!loader) {
    if (file.tokenCount() >= B * T + 1)
      violation("BatchLoader refused a file with enough tokens");
    return;
  }
  std::vector<int32_t> inputs(B * T), targets(B * T);
  for (uint64_t index = 0; index < 3; ++index) {
    const uint64_t start = (index % ((file.tokenCount() - 1) / (B * T))) * B * T;
    if (loader->windowStart(index) != start)
      violation("windowStart(" + std::to_string(index) + ") is not the documented one");
    bool loaded = parseOrReject<model::ModelIoError>([&] {
                    loader->load(index, inputs.data(), targets.data());
                    return true;
                  }).has_value();
    if (!loaded)
      continue; // an out-of-vocabulary id in the window: named, checked above
    for (int64_t i = 0; i < B * T; ++i)
      if (uint32_t(inputs[i]) != readToken(tokens + (start + i) * width, width) ||
          uint32_t(targets[i]) != readToken(tokens + (start + i + 1) * width, width))
        violation("micro-batch " + std::to_string(index) + " is not the file's window");
  }
}

} // namespace

Outcome runFuzzInput(const uint8_t *data, size_t size) {
  for (TokenFileFormat raw : {TokenFileFormat::RawU16, TokenFileFormat::RawU32})
    if (auto file = open(data, size, raw))
      checkAccepted(*file, data, size, raw);
  auto llmc = open(data, size, TokenFileFormat::Llmc);
  if (!llmc)
    return Outcome::Rejected;
  checkAccepted(*llmc, data, size, TokenFileFormat::Llmc);
  return Outcome::Accepted;
}

} // namespace off::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  off::fuzz::runFuzzInput(data, size);
  return 0;
}
