// The MPI transport (createMpiCommunicator): Open MPI's non-blocking
// collectives, polled against the timeout, so a rank that died or never
// arrives ends the call with a message instead of a hang.
//
// Sums in ReduceOrder::RankOrder never use MPI's reduction: each rank
// receives every rank's part of the slice it owns (all-to-all), adds them in
// rank order (RankOrderSum.h) and, for all_reduce, the owned slices are
// gathered back. ReduceOrder::Transport uses MPI_SUM (bf16: our own
// MPI_Op, as MPI has no bf16 type).

#include "runtime/comm/Communicator.h"
#include "runtime/comm/RankOrderSum.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sched.h>
#include <string>
#include <thread>
#include <vector>

namespace off::comm {
namespace {

std::mutex gMpiMutex;
bool gMpiStartedHere = false;

void finalizeAtExit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized)
    MPI_Finalize();
}

std::string mpiErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
    return "MPI error " + std::to_string(code);
  return std::string(text, size_t(length));
}

// MPI_Init_thread once per process; MPI cannot start again after
// MPI_Finalize, so it is finalised at exit, not with the communicator.
void startMpi() {
  std::lock_guard<std::mutex> lock(gMpiMutex);
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized)
    return;
  int provided = 0;
  if (int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
      rc != MPI_SUCCESS)
    throw CommError("MPI did not start: " + mpiErrorText(rc));
  if (provided < MPI_THREAD_SERIALIZED)
    throw CommError("MPI offers thread level " + std::to_string(provided) +
                    "; the collective stream needs MPI_THREAD_SERIALIZED");
  gMpiStartedHere = true;
  std::atexit(finalizeAtExit);
}

void bf16SumOp(void *in, void *inout, int *length, MPI_Datatype *) {
  addBf16Rounded(static_cast<const uint16_t *>(in), static_cast<uint16_t *>(inout),
                 uint64_t(*length));
}

std::string byteCount(uint64_t bytes) {
  if (bytes >= (uint64_t(1) << 20))
    return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024)
    return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

class MpiCommunicator final : public Communicator {
public:
  explicit MpiCommunicator(const CommOptions &options) : options_(options) {
    startMpi();
    if (int rc = MPI_Comm_dup(MPI_COMM_WORLD, &comm_); rc != MPI_SUCCESS)
      throw CommError("MPI_Comm_dup: " + mpiErrorText(rc));
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    MPI_Op_create(&bf16SumOp, /*commute=*/1, &bf16Sum_);
    if (options_.maxElementsPerCall == 0 || options_.maxElementsPerCall > (uint64_t(1) << 30))
      options_.maxElementsPerCall = uint64_t(1) << 30;
  }

  ~MpiCommunicator() override {
    for (MPI_Datatype &type : elementTypes_)
      if (type != MPI_DATATYPE_NULL)
        MPI_Type_free(&type);
    MPI_Op_free(&bf16Sum_);
    MPI_Comm_free(&comm_);
  }

  const char *name() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const CommOptions &options() const override { return options_; }

  void allReduce(void *data, uint64_t count, DType dtype) override {
    checkSummable(dtype, "all_reduce");
    const size_t elementBytes = dtypeSize(dtype);
    for (uint64_t offset = 0; offset < count; offset += options_.maxElementsPerCall) {
      const uint64_t piece = std::min(options_.maxElementsPerCall, count - offset);
      allReducePiece(static_cast<std::byte *>(data) + offset * elementBytes, piece, dtype);
    }
  }

  void reduceScatter(const void *input, void *output, uint64_t count, DType dtype) override {
    checkSummable(dtype, "reduce_scatter");
    const size_t elementBytes = dtypeSize(dtype);
    const auto *in = static_cast<const std::byte *>(input);
    auto *out = static_cast<std::byte *>(output);
    for (uint64_t offset = 0; offset < count; offset += options_.maxElementsPerCall) {
      const uint64_t piece = std::min(options_.maxElementsPerCall, count - offset);
      // Every rank's slice of this piece, side by side (as they are already
      // when the call is not split).
      const std::byte *slices = in;
      if (piece != count) {
        packed_.resize(size_t(size_) * piece * elementBytes);
        for (int r = 0; r < size_; ++r)
          std::memcpy(packed_.data() + size_t(r) * piece * elementBytes,
                      in + (uint64_t(r) * count + offset) * elementBytes, piece * elementBytes);
        slices = packed_.data();
      }
      std::byte *mine = out + offset * elementBytes;
      MPI_Request request;
      if (options_.order == ReduceOrder::RankOrder) {
        gathered_.resize(size_t(size_) * piece * elementBytes);
        check(MPI_Ialltoall(slices, int(piece), elementType(dtype), gathered_.data(), int(piece),
                            elementType(dtype), comm_, &request),
              "reduce_scatter");
        wait(request, "reduce_scatter", uint64_t(size_) * piece * elementBytes);
        sumInRankOrder(gathered_.data(), size_, piece, dtype, mine);
      } else {
        check(MPI_Ireduce_scatter_block(slices, mine, int(piece), sumType(dtype), sumOp(dtype),
                                        comm_, &request),
              "reduce_scatter");
        wait(request, "reduce_scatter", uint64_t(size_) * piece * elementBytes);
      }
    }
  }

  void allGather(const void *input, void *output, uint64_t count, DType dtype) override {
    const size_t elementBytes = dtypeSize(dtype);
    const auto *in = static_cast<const std::byte *>(input);
    auto *out = static_cast<std::byte *>(output);
    for (uint64_t offset = 0; offset < count; offset += options_.maxElementsPerCall) {
      const uint64_t piece = std::min(options_.maxElementsPerCall, count - offset);
      std::byte *target = out;
      if (piece != count) {
        gathered_.resize(size_t(size_) * piece * elementBytes);
        target = gathered_.data();
      }
      MPI_Request request;
      check(MPI_Iallgather(in + offset * elementBytes, int(piece), elementType(dtype), target,
                           int(piece), elementType(dtype), comm_, &request),
            "all_gather");
      wait(request, "all_gather", uint64_t(size_) * piece * elementBytes);
      if (piece != count)
        for (int r = 0; r < size_; ++r)
          std::memcpy(out + (uint64_t(r) * count + offset) * elementBytes,
                      gathered_.data() + size_t(r) * piece * elementBytes, piece * elementBytes);
    }
  }

  void barrier() override {
    MPI_Request request;
    check(MPI_Ibarrier(comm_, &request), "barrier");
    wait(request, "barrier", 0);
  }

  [[noreturn]] void abortJob(int exitCode) override {
    MPI_Abort(comm_, exitCode);
    std::_Exit(exitCode); // MPI_Abort does not return; if it did, still end
  }

private:
  // One piece of all_reduce: the piece is split into `size_` slices (sizes
  // differing by at most one); rank r sums slice r, then the slices are
  // gathered back in place.
  void allReducePiece(std::byte *data, uint64_t count, DType dtype) {
    if (size_ == 1)
      return;
    const size_t elementBytes = dtypeSize(dtype);
    counts_.resize(size_t(size_));
    displacements_.resize(size_t(size_));
    for (int r = 0, start = 0; r < size_; ++r) {
      counts_[r] = int(count / uint64_t(size_) + (uint64_t(r) < count % uint64_t(size_)));
      displacements_[r] = start;
      start += counts_[r];
    }
    const int mine = counts_[rank_];
    std::byte *slice = data + uint64_t(displacements_[rank_]) * elementBytes;
    const uint64_t bytes = count * elementBytes;
    MPI_Request request;
    gathered_.resize(size_t(size_) * size_t(mine) * elementBytes);
    if (options_.order == ReduceOrder::RankOrder) {
      std::vector<int> &received = received_, &receivedAt = receivedAt_;
      received.assign(size_t(size_), mine);
      receivedAt.resize(size_t(size_));
      for (int r = 0; r < size_; ++r)
        receivedAt[r] = r * mine;
      check(MPI_Ialltoallv(data, counts_.data(), displacements_.data(), elementType(dtype),
                           gathered_.data(), received.data(), receivedAt.data(),
                           elementType(dtype), comm_, &request),
            "all_reduce");
      wait(request, "all_reduce", bytes);
      sumInRankOrder(gathered_.data(), size_, uint64_t(mine), dtype, slice);
    } else {
      check(MPI_Ireduce_scatter(data, gathered_.data(), counts_.data(), sumType(dtype),
                                sumOp(dtype), comm_, &request),
            "all_reduce");
      wait(request, "all_reduce", bytes);
      std::memcpy(slice, gathered_.data(), size_t(mine) * elementBytes);
    }
    check(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts_.data(),
                          displacements_.data(), elementType(dtype), comm_, &request),
          "all_reduce");
    wait(request, "all_reduce", bytes);
  }

  // A contiguous type of one element's bytes, so that counts are elements.
  MPI_Datatype elementType(DType dtype) {
    const size_t bytes = dtypeSize(dtype);
    MPI_Datatype &type = elementTypes_[bytes == 1 ? 0 : bytes == 2 ? 1 : bytes == 4 ? 2 : 3];
    if (type == MPI_DATATYPE_NULL) {
      MPI_Type_contiguous(int(bytes), MPI_BYTE, &type);
      MPI_Type_commit(&type);
    }
    return type;
  }
  static MPI_Datatype sumType(DType dtype) {
    return dtype == DType::F32 ? MPI_FLOAT : MPI_UINT16_T;
  }
  MPI_Op sumOp(DType dtype) const { return dtype == DType::F32 ? MPI_SUM : bf16Sum_; }

  std::string who() const {
    return "rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ": ";
  }

  void check(int rc, const char *what) const {
    if (rc != MPI_SUCCESS)
      throw CommError(who() + what + " failed: " + mpiErrorText(rc));
  }

  // Polls `request` (MPI progresses non-blocking collectives inside
  // MPI_Test): spinning first, then yielding, then sleeping briefly, so a
  // long wait for a slow rank does not take a core from compute threads.
  void wait(MPI_Request &request, const char *what, uint64_t bytes) const {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    for (uint64_t polls = 0;; ++polls) {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
      if (done)
        return;
      if (polls < 1000)
        continue;
      if (polls < 100000)
        sched_yield();
      else
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      if (options_.timeoutSeconds > 0 && waited > options_.timeoutSeconds)
        throw CommError(who() + what + (bytes ? " of " + byteCount(bytes) : std::string()) +
                        " timed out after " + std::to_string(int(waited)) +
                        " s: not every rank reached it (a rank died, is stuck, or runs "
                        "another plan)");
    }
  }

  CommOptions options_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  MPI_Op bf16Sum_ = MPI_OP_NULL;
  MPI_Datatype elementTypes_[4] = {MPI_DATATYPE_NULL, MPI_DATATYPE_NULL, MPI_DATATYPE_NULL,
                                   MPI_DATATYPE_NULL};
  // Scratch, grown to the largest call and kept: no allocation per step.
  std::vector<std::byte> gathered_, packed_;
  std::vector<int> counts_, displacements_, received_, receivedAt_;
};

} // namespace

bool haveMpi() { return true; }

std::unique_ptr<Communicator> createMpiCommunicator(const CommOptions &options) {
  return std::make_unique<MpiCommunicator>(options);
}

} // namespace off::comm
