// Collectives between the data-parallel ranks of one training job: the
// interface every transport implements (MPI for CPU ranks here; NCCL for
// GPUs later), and what the collective stream of a plan calls.
//
// Each call is collective: every rank makes the same calls, in the same
// order, with the same counts and dtype (the plan guarantees it: collectives
// carry an effect on the shared channel, so no pass reorders or drops one).
// Calls block the calling thread (the collective stream's) until this rank's
// part is done; a rank that does not arrive within the timeout ends the call
// with a CommError naming this rank and the call, never a hang.
#pragma once

#include "runtime/common/DType.h"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace off::comm {

/// How sums over ranks are formed.
enum class ReduceOrder : uint8_t {
  /// Rank 0's value plus rank 1's, plus rank 2's, ... left to right, whatever
  /// the transport: the bits of one rank's plan accumulating the same N
  /// micro-batch gradients in order (bf16: each addition in fp32, rounded to
  /// bf16, as the plan's bf16 off.add does).
  RankOrder,
  /// The transport's own reduction (MPI_SUM; for bf16 a pairwise sum rounded
  /// after each addition): faster for many ranks, same bits on every rank,
  /// not those of a single-rank run.
  Transport,
};

const char *reduceOrderName(ReduceOrder order); // "rank-order", "transport"

struct CommOptions {
  ReduceOrder order = ReduceOrder::RankOrder;
  /// A collective whose other ranks have not all arrived after this long
  /// throws CommError (0: wait forever).
  double timeoutSeconds = 300;
  /// Elements per transport call at most (calls are split beyond it; MPI
  /// counts are 32-bit). Tests set it small to exercise the split.
  uint64_t maxElementsPerCall = uint64_t(1) << 28;
};

/// A collective that failed or timed out; the message names the rank.
class CommError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class Communicator {
public:
  virtual ~Communicator() = default;

  /// "mpi", "local".
  virtual const char *name() const = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const CommOptions &options() const = 0;

  /// Sums `count` elements (F32 or BF16) over the ranks, in place; every rank
  /// ends with the same bits.
  virtual void allReduce(void *data, uint64_t count, DType dtype) = 0;
  /// `input` holds size() * count elements (F32 or BF16); rank r receives in
  /// `output` (count elements) the sum over ranks of elements
  /// [r * count, (r + 1) * count).
  virtual void reduceScatter(const void *input, void *output, uint64_t count, DType dtype) = 0;
  /// Every rank's `count` elements (any dtype), concatenated in rank order in
  /// `output` (size() * count elements) on every rank.
  virtual void allGather(const void *input, void *output, uint64_t count, DType dtype) = 0;
  /// Returns once every rank has called it.
  virtual void barrier() = 0;
  /// Ends every rank of the job at once (after a CommError or any fatal error
  /// on one rank, so that the others do not wait out their timeouts).
  [[noreturn]] virtual void abortJob(int exitCode) = 0;
};

/// One rank alone: sums are copies, gathers are copies.
std::unique_ptr<Communicator> createLocalCommunicator(const CommOptions &options = {});

/// Whether this build has the MPI transport.
bool haveMpi();
/// Whether this process was started by an MPI launcher (mpirun/mpiexec).
bool launchedByMpi();
/// The MPI transport over all the job's ranks (initialises MPI once per
/// process; finalised when the last communicator is destroyed). Throws
/// CommError when MPI is not built in or cannot start.
std::unique_ptr<Communicator> createMpiCommunicator(const CommOptions &options = {});

} // namespace off::comm
