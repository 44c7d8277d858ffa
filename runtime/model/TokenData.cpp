#include "runtime/model/TokenData.h"

#include "runtime/model/ModelError.h"

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace off::model {

std::optional<TokenFileFormat> parseTokenFileFormat(std::string_view name) {
  if (name == "llmc")
    return TokenFileFormat::Llmc;
  if (name == "uint16")
    return TokenFileFormat::RawU16;
  if (name == "uint32")
    return TokenFileFormat::RawU32;
  return std::nullopt;
}

namespace {

int32_t readInt32(const unsigned char *bytes) {
  uint32_t value = uint32_t(bytes[0]) | uint32_t(bytes[1]) << 8 |
                   uint32_t(bytes[2]) << 16 | uint32_t(bytes[3]) << 24;
  return static_cast<int32_t>(value);
}

} // namespace

TokenFile TokenFile::open(const std::string &path, TokenFileFormat format) {
  return fromFile(MappedFile::open(path), format);
}

TokenFile TokenFile::fromMemory(const void *data, size_t size, const std::string &name,
                                TokenFileFormat format) {
  return fromFile(MappedFile::borrow(data, size, name), format);
}

TokenFile TokenFile::fromFile(MappedFile file, TokenFileFormat format) {
  TokenFile result;
  result.file_ = std::move(file);
  const std::string &path = result.file_.path();
  const uint64_t size = result.file_.size();
  const unsigned char *data = result.file_.data();

  if (format != TokenFileFormat::Llmc) {
    result.tokenBytes_ = format == TokenFileFormat::RawU16 ? 2 : 4;
    if (size % result.tokenBytes_ != 0)
      throwFileError(path, "size " + std::to_string(size) +
                               " bytes is not a whole number of uint" +
                               std::to_string(8 * result.tokenBytes_) + " tokens");
    result.tokens_ = data;
    result.count_ = size / result.tokenBytes_;
    return result;
  }

  if (size < kLlmcHeaderBytes)
    throwFileError(path, "is " + std::to_string(size) +
                             " bytes, too short for the 1024-byte llm.c token "
                             "header (for a raw token file pass --data-dtype "
                             "uint16|uint32)");
  unsigned char head[12];
  result.file_.read(0, head, sizeof head);
  data = head;
  int32_t magic = readInt32(data);
  if (magic != kLlmcMagic)
    throwFileError(path, "bad magic " + std::to_string(magic) + " (an llm.c token file "
                             "starts with 20240520; for a raw token file pass "
                             "--data-dtype uint16|uint32)");
  int32_t version = readInt32(data + 4);
  if (version != 1 && version != 2)
    throwFileError(path, "unsupported llm.c token file version " +
                             std::to_string(version) +
                             " (1 = uint16 tokens, 2 = uint32 tokens)");
  result.tokenBytes_ = version == 1 ? 2 : 4;
  int32_t count = readInt32(data + 8);
  if (count < 0)
    throwFileError(path, "negative token count " + std::to_string(count) +
                             " in the header");
  uint64_t payload = size - kLlmcHeaderBytes;
  uint64_t needed = uint64_t(count) * result.tokenBytes_;
  if (needed > payload)
    throwFileError(path, "header announces " + std::to_string(count) + " tokens (" +
                             std::to_string(needed) + " bytes) but only " +
                             std::to_string(payload) +
                             " bytes follow the header: truncated file?");
  if (needed < payload)
    throwFileError(path, std::to_string(payload - needed) +
                             " bytes follow the " + std::to_string(count) +
                             " tokens the header announces: corrupt header?");
  result.tokens_ = result.file_.data() + kLlmcHeaderBytes;
  result.count_ = uint64_t(count);
  return result;
}

uint32_t TokenFile::token(uint64_t index) const {
  const unsigned char *at = tokens_ + index * tokenBytes_;
  if (tokenBytes_ == 2)
    return uint32_t(at[0]) | uint32_t(at[1]) << 8;
  return uint32_t(at[0]) | uint32_t(at[1]) << 8 | uint32_t(at[2]) << 16 |
         uint32_t(at[3]) << 24;
}

namespace {

[[noreturn]] void badTokenId(const std::string &path, uint64_t position, uint32_t id,
                             uint64_t vocabSize, const std::string &context) {
  throwFileError(path, "token id " + std::to_string(id) + " at token position " +
                           std::to_string(position) + context +
                           " is out of range for the vocabulary size " +
                           std::to_string(vocabSize));
}

} // namespace

void TokenFile::checkAllIds(uint64_t vocabSize) const {
  uint64_t bad = count_;
  uint32_t badId = 0;
  file_.guarded([&] {
    for (uint64_t i = 0; i < count_; ++i)
      if (uint32_t id = token(i); id >= vocabSize) {
        bad = i, badId = id;
        return;
      }
  });
  if (bad < count_)
    badTokenId(path(), bad, badId, vocabSize, "");
}

BatchLoader::BatchLoader(TokenFile file, int64_t batch, int64_t seq, uint64_t vocabSize,
                         int rank, int ranks)
    : file_(std::move(file)), batch_(batch), seq_(seq), vocabSize_(vocabSize),
      rank_(rank), ranks_(ranks) {
  if (batch <= 0 || seq <= 0 || vocabSize == 0 || ranks <= 0 || rank < 0 ||
      rank >= ranks)
    throw std::invalid_argument("BatchLoader: batch, seq, vocab size and ranks must "
                                "be positive and 0 <= rank < ranks");
  uint64_t stride = uint64_t(ranks) * uint64_t(batch) * uint64_t(seq);
  uint64_t count = file_.tokenCount();
  if (count < stride + 1)
    throwFileError(file_.path(),
                   "holds " + std::to_string(count) + " tokens; one micro-batch (" +
                       (ranks > 1 ? std::to_string(ranks) + " ranks x " : "") +
                       "B=" + std::to_string(batch) + " x T=" + std::to_string(seq) +
                       ", plus 1 for the last target) needs " +
                       std::to_string(stride + 1));
  windowsPerEpoch_ = (count - 1) / stride;
}

uint64_t BatchLoader::windowStart(uint64_t index) const {
  uint64_t tokensPerRank = uint64_t(batch_) * uint64_t(seq_);
  return (index % windowsPerEpoch_) * tokensPerRank * uint64_t(ranks_) +
         uint64_t(rank_) * tokensPerRank;
}

void BatchLoader::load(uint64_t index, int32_t *inputs, int32_t *targets) const {
  const uint64_t start = windowStart(index);
  const uint64_t n = uint64_t(batch_) * uint64_t(seq_);
  // Read under the file's SIGBUS guard (it may be truncated while training
  // runs); the first bad id is reported after it.
  uint64_t bad = UINT64_MAX;
  uint32_t badId = 0;
  file_.guarded([&] {
    uint32_t previous = file_.token(start);
    if (previous >= vocabSize_) {
      bad = start, badId = previous;
      return;
    }
    for (uint64_t i = 0; i < n; ++i) {
      uint32_t next = file_.token(start + i + 1);
      if (next >= vocabSize_) {
        bad = start + i + 1, badId = next;
        return;
      }
      inputs[i] = int32_t(previous);
      targets[i] = int32_t(next);
      previous = next;
    }
  });
  if (bad != UINT64_MAX)
    badTokenId(file_.path(), bad, badId, vocabSize_,
               " (micro-batch " + std::to_string(index) + ")");
}

} // namespace off::model
