// What a training run tells its user: one JSON object per step in a JSONL
// file (`--log log.jsonl`) and a progress line per step on stderr.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace off::model {

struct StepLog {
  uint64_t step = 0;           // 1-based optimizer step just completed
  double loss = 0;             // mean loss over the step's micro-batches
  double gradNorm = 0;         // global gradient norm before clipping
  double lr = 0;               // learning rate used by this step
  double tokensPerSecond = 0;  // this step's tokens / its wall time
  double ms = 0;               // this step's wall time in milliseconds
};

/// {"step":1,"loss":5.5,"grad_norm":1.2,"lr":0.001,"tokens_per_s":1234.5,"ms":12.5}
/// (no newline). Doubles are written in their shortest round-trip form;
/// NaN and infinities, which JSON cannot hold, as null.
std::string stepLogJson(const StepLog &entry);

/// Appends stepLogJson lines to a file, flushed after every line so that a
/// crashed run keeps its log. Throws ModelIoError naming the file.
class JsonlLogWriter {
public:
  /// `append`: keep existing lines (a resumed run); otherwise truncate.
  JsonlLogWriter(const std::string &path, bool append);
  ~JsonlLogWriter();
  JsonlLogWriter(const JsonlLogWriter &) = delete;
  JsonlLogWriter &operator=(const JsonlLogWriter &) = delete;

  void write(const StepLog &entry);
  const std::string &path() const { return path_; }

private:
  std::string path_;
  std::FILE *file_ = nullptr;
};

/// "45s", "3m05s", "2h07m", "3d04h" (negative or non-finite: "?").
std::string formatDuration(double seconds);

/// "950", "12.3k", "4.56M" tokens.
std::string formatRate(double perSecond);

/// Progress lines on a stream (stderr by default):
///   step 12/300 | loss 4.1234 | 12.3k tok/s | 45.1 ms/step | ETA 13s
/// The ETA is the mean time of the steps reported so far in this run times
/// the steps left, so a resumed run (firstStep > 1) does not count the
/// steps done before it.
class ProgressPrinter {
public:
  /// Steps firstStep..lastStep will be reported; a line is printed for every
  /// `every`-th step, the first and the last.
  ProgressPrinter(uint64_t firstStep, uint64_t lastStep, std::FILE *out = stderr,
                  uint64_t every = 1);

  /// `elapsedSeconds`: wall time since the run started (the caller's clock).
  void report(uint64_t step, double loss, double tokensPerSecond, double elapsedSeconds);

  /// The line report() prints for these values (without newline).
  std::string line(uint64_t step, double loss, double tokensPerSecond,
                   double elapsedSeconds) const;

private:
  uint64_t firstStep_;
  uint64_t lastStep_;
  std::FILE *out_;
  uint64_t every_;
};

} // namespace off::model
