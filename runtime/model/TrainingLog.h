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
  bool skipped = false;        // non-finite loss or norm: no update was applied
};

struct EvalLog {
  uint64_t step = 0;           // the optimizer step after which it ran
  double loss = 0;             // mean loss over the held-out micro-batches
  uint64_t tokens = 0;         // tokens it was measured on
};

/// {"step":1,"loss":5.5,"grad_norm":1.2,"lr":0.001,"tokens_per_s":1234.5,"ms":12.5}
/// (no newline), with "skipped":true after a skipped step. Doubles are
/// written in their shortest round-trip form; NaN and infinities, which JSON
/// cannot hold, as null.
std::string stepLogJson(const StepLog &entry);

/// {"step":100,"eval_loss":3.2,"eval_ppl":24.5,"eval_tokens":4096}
std::string evalLogJson(const EvalLog &entry);

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
  void write(const EvalLog &entry);
  const std::string &path() const { return path_; }

private:
  std::string path_;
  std::FILE *file_ = nullptr;
};

/// For a resumed run: keeps the lines of the JSONL log at `path` whose
/// "step" is at most `lastStep` (the checkpoint's) and drops the rest, and
/// any torn last line, so that the steps the resumed run repeats are logged
/// once. The file is rewritten atomically; a missing file, or one that is
/// not a regular file (a pipe, /dev/null), is left alone. Returns the number
/// of lines dropped. Throws ModelIoError naming the file.
size_t truncateLogAfterStep(const std::string &path, uint64_t lastStep);

/// "45s", "3m05s", "2h07m", "3d04h" (negative or non-finite: "?").
std::string formatDuration(double seconds);

/// "950", "12.3k", "4.56M" tokens.
std::string formatRate(double perSecond);

/// Progress lines on a stream (stderr by default):
///   step 120/300 | loss 4.1234 | 12.3k tok/s | 45.1 ms/step | ETA 13s
/// tok/s and ms/step are measured over the same window: the steps since the
/// previous line. The ETA is the mean step time of this run (steps done
/// before a resume do not count) times the steps left.
class ProgressPrinter {
public:
  /// Steps firstStep..lastStep will be reported. `every` > 0: a line every
  /// `every`-th step; 0: a line once at least `seconds` have passed since the
  /// previous one. The first and the last step always get a line.
  ProgressPrinter(uint64_t firstStep, uint64_t lastStep, std::FILE *out = stderr,
                  uint64_t every = 0, double seconds = 1.0);

  /// A step finished: its loss, its tokens and wall time, and `now`, the
  /// caller's clock in seconds since the run started. `note` is appended to
  /// its line (e.g. "skipped: loss nan"); a step with a note always prints.
  void step(uint64_t step, double loss, uint64_t tokens, double seconds, double now,
            const std::string &note = "");

  /// The line for `step` after a window of `windowSteps` steps that took
  /// `windowSeconds` for `windowTokens` tokens, `elapsed` seconds into the run.
  std::string line(uint64_t step, double loss, uint64_t windowSteps, uint64_t windowTokens,
                   double windowSeconds, double elapsed) const;

private:
  uint64_t firstStep_;
  uint64_t lastStep_;
  std::FILE *out_;
  uint64_t every_;
  double seconds_;
  uint64_t windowSteps_ = 0, windowTokens_ = 0;
  double windowSeconds_ = 0, lastLine_ = 0;
};

} // namespace off::model
