#include "runtime/model/Tokenizer.h"

#include "runtime/common/CliCommand.h"
#include "runtime/common/FileChecks.h"
#include "runtime/model/FileIo.h"
#include "runtime/model/ModelError.h"
#include "runtime/model/TokenData.h"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

namespace off::model {
namespace {

uint64_t regularFileSize(const std::string &path) {
  struct stat info{};
  if (::stat(path.c_str(), &info) != 0)
    throwSystemError(path, "cannot read input", errno);
  if (!S_ISREG(info.st_mode))
    throwFileError(path, S_ISDIR(info.st_mode) ? "is a directory, not a text file"
                                               : "is not a regular file");
  return uint64_t(info.st_size);
}

// Streams one file's bytes into `writer` as uint16 tokens; returns how many.
uint64_t appendFileTokens(const std::string &path, AtomicFileWriter &writer) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throwSystemError(path, "cannot open", errno);
  std::vector<unsigned char> bytes(1 << 20);
  std::vector<unsigned char> tokens(2 * bytes.size());
  uint64_t count = 0;
  while (true) {
    ssize_t got = ::read(fd, bytes.data(), bytes.size());
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      int err = errno;
      ::close(fd);
      throwSystemError(path, "read failed", err);
    }
    if (got == 0)
      break;
    for (ssize_t i = 0; i < got; ++i) { // little-endian uint16
      tokens[2 * i] = bytes[i];
      tokens[2 * i + 1] = 0;
    }
    try {
      writer.write(tokens.data(), 2 * size_t(got));
    } catch (...) {
      ::close(fd);
      throw;
    }
    count += uint64_t(got);
  }
  ::close(fd);
  return count;
}

} // namespace

uint64_t tokenizeBytes(const std::vector<std::string> &inputs, const std::string &output) {
  if (inputs.empty())
    throwFileError(output, "no input files to tokenize");
  uint64_t total = 0;
  for (const std::string &input : inputs)
    total += regularFileSize(input);
  if (std::string problem = outputIsInputProblem(output, inputs); !problem.empty())
    throw ModelIoError(problem);
  if (total == 0)
    throwFileError(output, "the input files are empty: nothing to tokenize");
  if (total > uint64_t(std::numeric_limits<int32_t>::max()))
    throwFileError(output, std::to_string(total) +
                               " tokens exceed the llm.c format's int32 count");

  int32_t header[kLlmcHeaderInts] = {};
  header[0] = kLlmcMagic;
  header[1] = 1; // uint16 tokens
  header[2] = int32_t(total);
  AtomicFileWriter writer(output);
  writer.write(header, sizeof header); // x86: the host order is little-endian
  uint64_t written = 0;
  for (const std::string &input : inputs)
    written += appendFileTokens(input, writer);
  if (written != total)
    throwFileError(output, "the inputs changed size while being read (" +
                               std::to_string(total) + " bytes expected, " +
                               std::to_string(written) + " read); nothing written");
  writer.commit();
  return total;
}

uint64_t tokenizeBytes(const std::string &input, const std::string &output) {
  return tokenizeBytes(std::vector<std::string>{input}, output);
}

int runTokenizeCommand(const std::vector<std::string> &args) {
  std::vector<std::string> inputs;
  std::string output;
  cli::Command cmd("offrt tokenize", "INPUT... -o TOKENS.bin",
                   "Byte-level tokens (vocab 256, llm.c format v1) of the input files, in order.");
  cmd.positional("INPUT", inputs, "text files");
  cmd.option("-o,--output", output, "FILE", "the token file");
  if (std::optional<int> exit = cmd.parse(args))
    return *exit;
  if (inputs.empty())
    return cmd.usageError("no input files");
  if (output.empty())
    return cmd.usageError("no -o TOKENS.bin given");
  try {
    uint64_t count = tokenizeBytes(inputs, output);
    std::printf("%s: %llu tokens (byte-level, vocab 256, llm.c format v1) from %zu "
                "file%s\n", output.c_str(), static_cast<unsigned long long>(count),
                inputs.size(), inputs.size() == 1 ? "" : "s");
    return 0;
  } catch (const ModelIoError &error) {
    std::fprintf(stderr, "offrt tokenize: error: %s\n", error.what());
    return 1;
  }
}

} // namespace off::model
