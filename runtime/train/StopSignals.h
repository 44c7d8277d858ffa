// SIGINT and SIGTERM during `offrt train`: the first asks the run to stop
// after the step in progress (it then saves a checkpoint when it has a
// --save-dir, says so and exits 128 + the signal); a second one ends the
// process at once (exit 128 + signal). A checkpoint being written when that
// happens is left as a step-N.tmp/ directory that never replaces a complete
// one (see runtime/model/Checkpoint.h), so the previous checkpoint and
// `latest` stay intact.
#pragma once

namespace off::train {

class StopSignals {
public:
  /// Installs the handlers (restored by the destructor). `command` starts
  /// the messages written on stderr from the handler ("offrt train").
  explicit StopSignals(const char *command);
  ~StopSignals();
  StopSignals(const StopSignals &) = delete;
  StopSignals &operator=(const StopSignals &) = delete;

  /// 0, or the first signal received (SIGINT or SIGTERM).
  int requested() const;

  /// "SIGINT" / "SIGTERM" / "signal N".
  static const char *name(int signal);
};

} // namespace off::train
