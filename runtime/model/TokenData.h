// Token data for training: llm.c's token files and raw token files, read by
// a guarded mmap (a file truncated during a run is an error naming it), cut into micro-batches in llm.c's order (see
// docs/data-and-checkpoints.md for the exact rule, wrap-around included).
//
// llm.c format: a header of 256 little-endian int32 (header[0] = 20240520,
// header[1] = version: 1 -> uint16 tokens, 2 -> uint32 tokens, header[2] =
// token count), then exactly that many tokens. Raw format: nothing but
// tokens (uint16 or uint32), the count being file size / token size.
#pragma once

#include "runtime/model/FileIo.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace off::model {

inline constexpr int32_t kLlmcMagic = 20240520;
inline constexpr size_t kLlmcHeaderInts = 256;
inline constexpr size_t kLlmcHeaderBytes = kLlmcHeaderInts * sizeof(int32_t);

enum class TokenFileFormat : uint8_t {
  Llmc,   // llm.c header, token width from its version
  RawU16, // --data-dtype uint16
  RawU32, // --data-dtype uint32
};

/// "llmc" (the default), "uint16", "uint32"; nullopt for anything else.
std::optional<TokenFileFormat> parseTokenFileFormat(std::string_view name);

/// A mapped token file. Opening validates the header (magic, version, count
/// against the file size); token ids are checked by the readers below.
class TokenFile {
public:
  static TokenFile open(const std::string &path,
                        TokenFileFormat format = TokenFileFormat::Llmc);
  /// The same checks on `size` bytes in memory, which the caller keeps alive
  /// while the result is used; `name` stands for the path in errors.
  static TokenFile fromMemory(const void *data, size_t size, const std::string &name,
                              TokenFileFormat format = TokenFileFormat::Llmc);

  const std::string &path() const { return file_.path(); }
  uint64_t tokenCount() const { return count_; }
  size_t tokenBytes() const { return tokenBytes_; }
  /// Token `index` (< tokenCount(), unchecked), straight from the mapping:
  /// call it inside guarded() (the readers below do).
  uint32_t token(uint64_t index) const;
  /// MappedFile::guarded on the token file's mapping.
  void guarded(FunctionRef<void()> fn) const { file_.guarded(fn); }

  /// Throws ModelIoError naming the file, position and id of the first
  /// token id >= vocabSize (a full scan: for an early check of small files).
  void checkAllIds(uint64_t vocabSize) const;

private:
  static TokenFile fromFile(MappedFile file, TokenFileFormat format);

  MappedFile file_;
  const unsigned char *tokens_ = nullptr;
  uint64_t count_ = 0;
  size_t tokenBytes_ = 2;
};

/// Micro-batches of B sequences of T tokens over a TokenFile. With R data-
/// parallel ranks the run reads one window of R*B*T + 1 tokens per micro-
/// batch; rank r takes the B*T + 1 tokens starting at r*B*T inside it.
class BatchLoader {
public:
  /// Throws ModelIoError naming the file when it holds fewer than
  /// R*B*T + 1 tokens, or std::invalid_argument for bad sizes.
  BatchLoader(TokenFile file, int64_t batch, int64_t seq, uint64_t vocabSize,
              int rank = 0, int ranks = 1);

  const TokenFile &file() const { return file_; }
  int64_t batch() const { return batch_; }
  int64_t seq() const { return seq_; }

  /// Micro-batches per pass over the file: floor((N - 1) / (R*B*T)).
  uint64_t windowsPerEpoch() const { return windowsPerEpoch_; }
  /// Pass over the file that micro-batch `index` belongs to (0-based).
  uint64_t epochOf(uint64_t index) const { return index / windowsPerEpoch_; }
  /// Token position of this rank's first input token of micro-batch `index`:
  /// (index mod windowsPerEpoch()) * R*B*T + r*B*T.
  uint64_t windowStart(uint64_t index) const;

  /// Fills inputs[B*T] and targets[B*T] (row-major [B, T]) for micro-batch
  /// `index`: inputs = tokens [s, s + B*T), targets = [s + 1, s + B*T + 1)
  /// with s = windowStart(index). Throws ModelIoError naming the file,
  /// position and id of a token >= vocabSize.
  void load(uint64_t index, int32_t *inputs, int32_t *targets) const;

private:
  TokenFile file_;
  int64_t batch_;
  int64_t seq_;
  uint64_t vocabSize_;
  int rank_;
  int ranks_;
  uint64_t windowsPerEpoch_ = 0;
};

} // namespace off::model
