// Run under mpirun with N ranks (ctest: 2 and 4). Modes:
//   collectives  every collective, both reduce orders, f32 and bf16, counts
//                that do not divide by N, calls split into pieces; each rank
//                checks its results against sums it forms itself from every
//                rank's inputs (regenerated here from the rank number): bit
//                for bit in rank order, within the rounding bound otherwise,
//                and the same bits on every rank.
//   late         rank 1 arrives at a barrier after rank 0's timeout (1 s):
//                rank 0 must fail with a message naming itself and the call,
//                and end the job.
//   die          rank 1 is killed (SIGKILL) before an all_reduce: the job
//                must end, not hang (comm_failures.sh checks the launcher's
//                message).
#include "runtime/comm/Communicator.h"
#include "runtime/common/Float16.h"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace off;
using namespace off::comm;

namespace {

int failures = 0, checks = 0;

void expect(bool ok, const std::string &what, int rank) {
  ++checks;
  if (!ok && ++failures <= 20)
    std::fprintf(stderr, "rank %d: FAIL %s\n", rank, what.c_str());
}

// A value of rank r's element i: magnitudes from 1e-3 to 1e3 and both signs,
// so that the order of the additions shows in the bits.
float input(uint64_t seed, int rank, uint64_t i) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + uint64_t(rank) * 0xBF58476D1CE4E5B9ull +
               i * 0x94D049BB133111EBull;
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 29;
  const double unit = double(x >> 11) / double(1ull << 53);     // [0, 1)
  const double magnitude = std::pow(10.0, double((x >> 3) % 7) - 3.0);
  return float((unit * 2 - 1) * magnitude);
}

// Rank r's contribution as stored in the collective's dtype.
std::vector<uint16_t> asBf16(const std::vector<float> &values) {
  std::vector<uint16_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    out[i] = floatToBf16(values[i]);
  return out;
}

std::vector<float> contribution(uint64_t seed, int rank, uint64_t count) {
  std::vector<float> values(count);
  for (uint64_t i = 0; i < count; ++i)
    values[i] = input(seed, rank, i);
  return values;
}

uint64_t fingerprint(const void *data, size_t bytes) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < bytes; ++i)
    h = (h ^ static_cast<const uint8_t *>(data)[i]) * 1099511628211ull;
  return h;
}

// Element i of the sum over ranks of `values(seed, r, offset + i)`, checked
// against `got` (f32 or bf16 bits): rank order bit for bit, the transport
// within its rounding bound.
void checkSums(Communicator &comm, uint64_t seed, uint64_t offset, uint64_t count, DType dtype,
               const void *got, const std::string &what) {
  const int ranks = comm.size();
  bool bitwise = true, bounded = true;
  for (uint64_t i = 0; i < count; ++i) {
    float ordered = 0;
    double exact = 0, magnitude = 0;
    for (int r = 0; r < ranks; ++r) {
      float v = input(seed, r, offset + i);
      if (dtype == DType::BF16)
        v = bf16ToFloat(floatToBf16(v));
      ordered = r == 0 ? v : ordered + v;
      if (dtype == DType::BF16) // as the plan's bf16 add: rounded each time
        ordered = bf16ToFloat(floatToBf16(ordered));
      exact += v;
      magnitude += std::fabs(v);
    }
    float value;
    if (dtype == DType::F32) {
      std::memcpy(&value, static_cast<const float *>(got) + i, sizeof value);
    } else {
      value = bf16ToFloat(static_cast<const uint16_t *>(got)[i]);
    }
    if (comm.options().order == ReduceOrder::RankOrder) {
      bitwise &= std::memcmp(&value, &ordered, sizeof value) == 0;
    } else {
      // One rounding per addition (and the final one for bf16).
      const double unit = dtype == DType::F32 ? 0x1p-24 : 0x1p-8;
      bounded &= std::fabs(value - exact) <= ranks * unit * magnitude + 1e-30;
    }
  }
  if (comm.options().order == ReduceOrder::RankOrder)
    expect(bitwise, what + ": not the rank-order sum bit for bit", comm.rank());
  else
    expect(bounded, what + ": off the exact sum by more than the rounding bound", comm.rank());
}

// Every rank holds the same bits: an all_gather of each rank's fingerprint.
void checkSameEverywhere(Communicator &comm, const void *data, size_t bytes,
                         const std::string &what) {
  uint64_t mine = fingerprint(data, bytes);
  std::vector<uint64_t> all(size_t(comm.size()));
  comm.allGather(&mine, all.data(), 1, DType::U64);
  bool same = true;
  for (uint64_t h : all)
    same &= h == mine;
  expect(same, what + ": ranks hold different bits", comm.rank());
}

void checkCollectives(ReduceOrder order, uint64_t maxElementsPerCall) {
  CommOptions options;
  options.order = order;
  options.timeoutSeconds = 60;
  options.maxElementsPerCall = maxElementsPerCall;
  auto comm = createMpiCommunicator(options);
  const int rank = comm->rank(), ranks = comm->size();
  const std::string mode = std::string(reduceOrderName(order)) + ", pieces of " +
                           std::to_string(maxElementsPerCall);
  uint64_t seed = 1;
  for (DType dtype : {DType::F32, DType::BF16}) {
    for (uint64_t count : {uint64_t(1), uint64_t(7), uint64_t(1000), uint64_t(4099)}) {
      const std::string what = mode + ", " + dtypeName(dtype) + ", " + std::to_string(count);
      const size_t elementBytes = dtypeSize(dtype);
      // all_reduce, in place.
      std::vector<float> mine = contribution(++seed, rank, count);
      std::vector<uint16_t> mineBf16 = asBf16(mine);
      void *data = dtype == DType::F32 ? static_cast<void *>(mine.data()) : mineBf16.data();
      comm->allReduce(data, count, dtype);
      checkSums(*comm, seed, 0, count, dtype, data, "all_reduce (" + what + ")");
      checkSameEverywhere(*comm, data, count * elementBytes, "all_reduce (" + what + ")");
      // reduce_scatter: rank r gets slice r of the sum of every rank's input.
      std::vector<float> full = contribution(++seed, rank, uint64_t(ranks) * count);
      std::vector<uint16_t> fullBf16 = asBf16(full);
      std::vector<std::byte> slice(count * elementBytes);
      comm->reduceScatter(dtype == DType::F32 ? static_cast<void *>(full.data()) : fullBf16.data(),
                          slice.data(), count, dtype);
      checkSums(*comm, seed, uint64_t(rank) * count, count, dtype, slice.data(),
                "reduce_scatter (" + what + ")");
    }
  }
  // all_gather of every element size: rank r's block is its own input.
  for (DType dtype : {DType::F32, DType::BF16, DType::I64, DType::U8}) {
    const uint64_t count = 1001;
    const size_t elementBytes = dtypeSize(dtype);
    auto bytesOf = [&](int r) {
      std::vector<std::byte> bytes(count * elementBytes);
      for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = std::byte(uint8_t(input(seed, r, i) * 1000));
      return bytes;
    };
    std::vector<std::byte> gathered(size_t(ranks) * count * elementBytes);
    comm->allGather(bytesOf(rank).data(), gathered.data(), count, dtype);
    bool right = true;
    for (int r = 0; r < ranks; ++r)
      right &= std::memcmp(gathered.data() + size_t(r) * count * elementBytes, bytesOf(r).data(),
                           count * elementBytes) == 0;
    expect(right, mode + ": all_gather " + dtypeName(dtype) + ": rank blocks differ", rank);
  }
  comm->barrier();
}

} // namespace

int main(int argc, char **argv) {
  const std::string mode = argc > 1 ? argv[1] : "collectives";
  try {
    if (mode == "collectives") {
      for (ReduceOrder order : {ReduceOrder::RankOrder, ReduceOrder::Transport})
        for (uint64_t pieces : {uint64_t(1) << 28, uint64_t(3)})
          checkCollectives(order, pieces);
      auto comm = createMpiCommunicator();
      std::printf("rank %d of %d: %d checks, %d failed\n", comm->rank(), comm->size(), checks,
                  failures);
      return failures ? 1 : 0;
    }
    CommOptions options;
    options.timeoutSeconds = mode == "late" ? 1 : 60;
    auto comm = createMpiCommunicator(options);
    try {
      if (mode == "late") {
        if (comm->rank() == 1)
          std::this_thread::sleep_for(std::chrono::seconds(5));
        comm->barrier();
      } else if (mode == "die") {
        if (comm->rank() == 1)
          std::raise(SIGKILL);
        float value = 1;
        comm->allReduce(&value, 1, DType::F32);
      }
    } catch (const CommError &error) {
      std::fprintf(stderr, "comm_mpi_check: %s\n", error.what());
      std::fflush(stderr);
      comm->abortJob(3);
    }
    std::printf("rank %d: %s finished without an error\n", comm->rank(), mode.c_str());
    return 0;
  } catch (const std::exception &error) {
    std::fprintf(stderr, "comm_mpi_check: %s\n", error.what());
    return 2;
  }
}
