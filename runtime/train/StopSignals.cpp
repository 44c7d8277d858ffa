// See StopSignals.h. The handler only uses async-signal-safe calls (write,
// _exit) and a sig_atomic_t flag that the training loop reads between steps.

#include "runtime/train/StopSignals.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

namespace off::train {
namespace {

volatile sig_atomic_t gRequested = 0;
char gFirstMessage[192];
char gSecondMessage[192];
struct sigaction gPreviousInt, gPreviousTerm;

void writeAll(const char *text) {
  size_t left = std::strlen(text);
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0)
      return;
    text += n;
    left -= size_t(n);
  }
}

void onStopSignal(int signal) {
  if (gRequested != 0) {
    writeAll(gSecondMessage);
    ::_exit(128 + signal);
  }
  gRequested = signal;
  writeAll(gFirstMessage);
}

} // namespace

StopSignals::StopSignals(const char *command) {
  gRequested = 0;
  std::snprintf(gFirstMessage, sizeof gFirstMessage,
                "%s: stop requested: finishing this step, then saving and exiting (signal "
                "again to exit at once)\n",
                command);
  std::snprintf(gSecondMessage, sizeof gSecondMessage,
                "%s: second stop signal: exiting now without saving (earlier checkpoints "
                "are intact)\n",
                command);
  struct sigaction action {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART; // reads and writes in progress carry on
  ::sigaction(SIGINT, &action, &gPreviousInt);
  ::sigaction(SIGTERM, &action, &gPreviousTerm);
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &gPreviousInt, nullptr);
  ::sigaction(SIGTERM, &gPreviousTerm, nullptr);
}

int StopSignals::requested() const { return gRequested; }

const char *StopSignals::name(int signal) {
  switch (signal) {
  case SIGINT: return "SIGINT";
  case SIGTERM: return "SIGTERM";
  default: return "a signal";
  }
}

} // namespace off::train
