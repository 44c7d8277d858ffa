#include "runtime/plan/Plan.h"
#include "runtime/plan/PlanVocabulary.h"

#include "runtime/common/FileChecks.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <string_view>
#include <unistd.h>

namespace off::plan {
namespace {

constexpr char kMagic[8] = {'O', 'F', 'F', 'P', 'L', 'A', 'N', '\x01'};
constexpr size_t kHeaderSize = 16, kTrailerSize = 4;

void putLE(std::string &out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t getLE(const char *p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return value;
}

std::string errnoText() { return std::strerror(errno); }

} // namespace

uint32_t crc32(const void *data, size_t size) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  const auto *bytes = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < size; ++i)
    crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint64_t dtypeSize(DType dtype) {
  std::optional<off::DType> known = toDType(dtype);
  return known ? off::dtypeSize(*known) : 0;
}

bool serializePlan(const Plan &plan, std::string &bytes) {
  bytes.clear();
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  // Map fields (kernel attributes) otherwise come out in hash order, which
  // differs from run to run.
  coded.SetSerializationDeterministic(true);
  bool ok = plan.SerializeToCodedStream(&coded);
  coded.Trim(); // flush into `bytes` before the streams go
  return ok && !coded.HadError();
}

bool writePlanFile(const Plan &plan, const std::string &path, std::string &error) {
  std::string payload;
  if (!serializePlan(plan, payload)) {
    error = path + ": could not serialize the plan";
    return false;
  }
  std::string bytes(kMagic, sizeof kMagic);
  putLE(bytes, payload.size(), 8);
  bytes += payload;
  putLE(bytes, crc32(payload.data(), payload.size()), 4);

  OutputTarget target = outputTarget(path);
  if (!target.error.empty()) {
    error = target.error;
    return false;
  }
  if (target.direct) { // a device or FIFO (-o /dev/null): written in place, never replaced
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      error = path + ": cannot open for writing: " + errnoText();
      return false;
    }
    for (size_t done = 0; done < bytes.size();) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        error = path + ": write failed at byte " + std::to_string(done) + ": " + errnoText();
        ::close(fd);
        return false;
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) {
      error = path + ": close failed: " + errnoText();
      return false;
    }
    return true;
  }
  std::string tmp = target.path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = tmp + ": cannot create: " + errnoText();
    return false;
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = tmp + ": write failed at byte " + std::to_string(done) + ": " + errnoText();
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    error = tmp + ": fsync/close failed: " + errnoText();
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), target.path.c_str()) != 0) {
    error = path + ": cannot rename " + tmp + " into place: " + errnoText();
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::optional<Plan> readPlanFile(const std::string &path, std::string &error) {
  // A directory, FIFO or device is refused before opening (a FIFO would block).
  if (std::string problem = inputFileProblem(path); !problem.empty()) {
    error = problem;
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open: " + errnoText();
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parsePlanBytes(buffer.str(), path, error);
}

std::optional<Plan> parsePlanBytes(std::string_view bytes, const std::string &path,
                                   std::string &error) {
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    error = path + ": not a plan.bin (no OFFPLAN header; is it a file offc compile wrote?)";
    return std::nullopt;
  }
  uint64_t length = getLE(bytes.data() + 8, 8);
  if (length > bytes.size() - kHeaderSize ||
      bytes.size() - kHeaderSize - length < kTrailerSize) {
    error = path + ": truncated: header announces " + std::to_string(length) +
            " payload bytes, the file has " + std::to_string(bytes.size()) + " bytes in all";
    return std::nullopt;
  }
  if (bytes.size() != kHeaderSize + length + kTrailerSize) {
    error = path + ": " + std::to_string(bytes.size() - kHeaderSize - length - kTrailerSize) +
            " unexpected bytes after the plan";
    return std::nullopt;
  }
  const char *payload = bytes.data() + kHeaderSize;
  uint32_t stored = static_cast<uint32_t>(getLE(payload + length, 4));
  if (crc32(payload, length) != stored) {
    error = path + ": corrupted (checksum mismatch)";
    return std::nullopt;
  }
  if (length > static_cast<uint64_t>(INT32_MAX)) {
    error = path + ": plans over 2 GiB are not supported";
    return std::nullopt;
  }
  Plan plan;
  // Our error names the file; protobuf's own log line would only add noise.
  google::protobuf::LogSilencer quiet;
  if (!plan.ParseFromArray(payload, static_cast<int>(length))) {
    error = path + ": corrupted (the plan message does not parse)";
    return std::nullopt;
  }
  std::vector<std::string> problems = validatePlan(plan);
  if (problems.empty())
    problems = verifyPlanOrder(plan);
  if (!problems.empty()) {
    error = path + ": invalid plan: " + problems.front();
    if (problems.size() > 1)
      error += " (and " + std::to_string(problems.size() - 1) + " more problem(s))";
    return std::nullopt;
  }
  return plan;
}

} // namespace off::plan
