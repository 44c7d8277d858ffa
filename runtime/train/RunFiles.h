// What `offrt train` and `offrt forward` check about their files before any
// work starts, so that a run never trains for an hour and then fails on
// something knowable at the start, and never overwrites what it reads:
//
//  * every input is a regular file (a directory, FIFO or device is refused
//    by name; opening a FIFO would block);
//  * no output (--log, --save-grads, -o) is one of the inputs;
//  * the save directory is created, writable, has room for one checkpoint,
//    holds no other run's checkpoints (unless resuming from it or
//    --overwrite), and is locked against a second run for as long as this
//    one lives.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace off::train {

/// Throws TrainError naming the first input that is not a regular file.
void checkInputFiles(const std::vector<std::string> &inputs);

/// Throws TrainError when an output is a directory or one of `inputs`.
void checkOutputFiles(const std::vector<std::string> &outputs,
                      const std::vector<std::string> &inputs);

struct SaveDirOptions {
  std::string dir;
  /// Bytes one checkpoint takes (weights, moments, a little for JSON).
  uint64_t checkpointBytes = 0;
  /// The checkpoint directory a --resume run starts from (resolved), or
  /// empty for a fresh run.
  std::string resumeFrom;
  /// --overwrite: an earlier run's checkpoints in `dir` are removed.
  bool overwrite = false;
};

/// The save directory of a run, checked and locked (DIR/.lock, flock; the
/// lock goes with the process, so a killed run leaves no stale lock).
class SaveDirLock {
public:
  /// Throws TrainError saying what is wrong and how to proceed.
  explicit SaveDirLock(const SaveDirOptions &options);
  ~SaveDirLock();
  SaveDirLock(const SaveDirLock &) = delete;
  SaveDirLock &operator=(const SaveDirLock &) = delete;

  /// Step directories of an earlier run that --overwrite removed.
  size_t removed() const { return removed_; }

private:
  int fd_ = -1;
  size_t removed_ = 0;
};

} // namespace off::train
