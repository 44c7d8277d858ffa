// The byte-level tokenizer (vocabulary 256: token id = byte value) for the
// tiny model and the demo, and the `offrt tokenize` command around it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace off::model {

/// Concatenates the bytes of `inputs` (in order, nothing in between) and
/// writes them as an llm.c token file (version 1, uint16 tokens) to `output`,
/// atomically. Returns the token count. Throws ModelIoError naming the file
/// when an input is missing or not a regular file, when the total is empty
/// or exceeds the format's int32 count, or on a write failure.
uint64_t tokenizeBytes(const std::vector<std::string> &inputs, const std::string &output);

/// One input file.
uint64_t tokenizeBytes(const std::string &input, const std::string &output);

/// `offrt tokenize INPUT... -o TOKENS.bin`: arguments after the command name;
/// returns the exit code (0, 1 on an I/O error, 2 on a usage error) and
/// prints errors to stderr.
int runTokenizeCommand(const std::vector<std::string> &args);

} // namespace off::model
