#include "runtime/model/TrainingLog.h"

#include "runtime/model/Json.h"
#include "runtime/model/ModelError.h"

#include <cerrno>
#include <cmath>

namespace off::model {

std::string stepLogJson(const StepLog &entry) {
  Json json = {{"step", entry.step},
               {"loss", entry.loss},
               {"grad_norm", entry.gradNorm},
               {"lr", entry.lr},
               {"tokens_per_s", entry.tokensPerSecond},
               {"ms", entry.ms}};
  return json.dump();
}

JsonlLogWriter::JsonlLogWriter(const std::string &path, bool append) : path_(path) {
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!file_)
    throwSystemError(path, "cannot open the log for writing", errno);
}

JsonlLogWriter::~JsonlLogWriter() {
  if (file_)
    std::fclose(file_);
}

void JsonlLogWriter::write(const StepLog &entry) {
  std::string text = stepLogJson(entry) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() ||
      std::fflush(file_) != 0)
    throwSystemError(path_, "cannot write the log", errno);
}

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  uint64_t total = uint64_t(std::llround(seconds));
  char buffer[48];
  if (total < 60)
    std::snprintf(buffer, sizeof buffer, "%llus", (unsigned long long)total);
  else if (total < 3600)
    std::snprintf(buffer, sizeof buffer, "%llum%02llus", (unsigned long long)(total / 60),
                  (unsigned long long)(total % 60));
  else if (total < 86400)
    std::snprintf(buffer, sizeof buffer, "%lluh%02llum", (unsigned long long)(total / 3600),
                  (unsigned long long)(total % 3600 / 60));
  else
    std::snprintf(buffer, sizeof buffer, "%llud%02lluh", (unsigned long long)(total / 86400),
                  (unsigned long long)(total % 86400 / 3600));
  return buffer;
}

std::string formatRate(double perSecond) {
  char buffer[48];
  if (!std::isfinite(perSecond) || perSecond < 0)
    return "?";
  if (perSecond < 1e3)
    std::snprintf(buffer, sizeof buffer, "%.0f", perSecond);
  else if (perSecond < 1e6)
    std::snprintf(buffer, sizeof buffer, "%.1fk", perSecond / 1e3);
  else
    std::snprintf(buffer, sizeof buffer, "%.2fM", perSecond / 1e6);
  return buffer;
}

ProgressPrinter::ProgressPrinter(uint64_t firstStep, uint64_t lastStep, std::FILE *out,
                                 uint64_t every)
    : firstStep_(firstStep), lastStep_(lastStep), out_(out), every_(every ? every : 1) {}

std::string ProgressPrinter::line(uint64_t step, double loss, double tokensPerSecond,
                                  double elapsedSeconds) const {
  uint64_t done = step >= firstStep_ ? step - firstStep_ + 1 : 0;
  uint64_t left = lastStep_ > step ? lastStep_ - step : 0;
  double perStep = done ? elapsedSeconds / double(done) : NAN;
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "step %llu/%llu | loss %.4f | %s tok/s | %.1f ms/step | ETA %s",
                (unsigned long long)step, (unsigned long long)lastStep_, loss,
                formatRate(tokensPerSecond).c_str(), perStep * 1e3,
                left == 0 ? "0s" : formatDuration(perStep * double(left)).c_str());
  return buffer;
}

void ProgressPrinter::report(uint64_t step, double loss, double tokensPerSecond,
                             double elapsedSeconds) {
  if (step != firstStep_ && step != lastStep_ && step % every_ != 0)
    return;
  std::fprintf(out_, "%s\n", line(step, loss, tokensPerSecond, elapsedSeconds).c_str());
  std::fflush(out_);
}

} // namespace off::model
