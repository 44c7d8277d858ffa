#include "runtime/model/TrainingLog.h"

#include "runtime/model/FileIo.h"
#include "runtime/model/Json.h"
#include "runtime/model/ModelError.h"

#include <cerrno>
#include <cmath>
#include <string_view>
#include <sys/stat.h>

namespace off::model {

std::string stepLogJson(const StepLog &entry) {
  Json json = {{"step", entry.step},
               {"loss", entry.loss},
               {"grad_norm", entry.gradNorm},
               {"lr", entry.lr},
               {"tokens_per_s", entry.tokensPerSecond},
               {"ms", entry.ms}};
  if (entry.skipped)
    json["skipped"] = true;
  return json.dump();
}

std::string evalLogJson(const EvalLog &entry) {
  Json json = {{"step", entry.step},
               {"eval_loss", entry.loss},
               {"eval_ppl", std::exp(entry.loss)},
               {"eval_tokens", entry.tokens}};
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

void JsonlLogWriter::write(const EvalLog &entry) {
  std::string text = evalLogJson(entry) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() ||
      std::fflush(file_) != 0)
    throwSystemError(path_, "cannot write the log", errno);
}

void JsonlLogWriter::write(const StepLog &entry) {
  std::string text = stepLogJson(entry) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() ||
      std::fflush(file_) != 0)
    throwSystemError(path_, "cannot write the log", errno);
}

size_t truncateLogAfterStep(const std::string &path, uint64_t lastStep) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode))
    return 0;
  const std::string text = readTextFile(path);
  std::string kept;
  size_t dropped = 0;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) { // torn: the writer died mid-line
      ++dropped;
      break;
    }
    std::string_view line(text.data() + begin, end - begin);
    begin = end + 1;
    // Every line is an object with a "step" (whatever the key order).
    constexpr std::string_view key = "\"step\":";
    size_t at = line.find(key);
    uint64_t step = 0;
    bool ok = !line.empty() && line.front() == '{' && line.back() == '}' &&
              at != std::string_view::npos;
    size_t i = ok ? at + key.size() : 0;
    size_t digits = i;
    for (; ok && i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i)
      step = step * 10 + uint64_t(line[i] - '0');
    ok = ok && i > digits && i < line.size() && (line[i] == ',' || line[i] == '}');
    if (ok && step <= lastStep) {
      kept.append(line);
      kept += '\n';
    } else {
      ++dropped;
    }
  }
  if (dropped)
    writeFileAtomically(path, kept);
  return dropped;
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
                                 uint64_t every, double seconds)
    : firstStep_(firstStep), lastStep_(lastStep), out_(out), every_(every),
      seconds_(seconds) {}

std::string ProgressPrinter::line(uint64_t step, double loss, uint64_t windowSteps,
                                  uint64_t windowTokens, double windowSeconds,
                                  double elapsed) const {
  uint64_t done = step >= firstStep_ ? step - firstStep_ + 1 : 0;
  uint64_t left = lastStep_ > step ? lastStep_ - step : 0;
  double meanStep = done ? elapsed / double(done) : NAN;
  double msPerStep = windowSteps ? windowSeconds / double(windowSteps) * 1e3 : NAN;
  double tokensPerSecond = windowSeconds > 0 ? double(windowTokens) / windowSeconds : NAN;
  char lossText[32];
  std::snprintf(lossText, sizeof lossText, "%.4f", loss);
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "step %llu/%llu | loss %s | %s tok/s | %.1f ms/step | ETA %s",
                (unsigned long long)step, (unsigned long long)lastStep_,
                std::isnan(loss) ? "nan" : lossText,
                formatRate(tokensPerSecond).c_str(), msPerStep,
                left == 0 ? "0s" : formatDuration(meanStep * double(left)).c_str());
  return buffer;
}

void ProgressPrinter::step(uint64_t step, double loss, uint64_t tokens, double seconds,
                           double now, const std::string &note) {
  windowSteps_ += 1;
  windowTokens_ += tokens;
  windowSeconds_ += seconds;
  bool due = step == firstStep_ || step == lastStep_ || !note.empty() ||
             (every_ ? step % every_ == 0 : now - lastLine_ >= seconds_);
  if (!due || !out_)
    return;
  std::string text = line(step, loss, windowSteps_, windowTokens_, windowSeconds_, now);
  if (!note.empty())
    text += " | " + note;
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
  windowSteps_ = windowTokens_ = 0;
  windowSeconds_ = 0;
  lastLine_ = now;
}

} // namespace off::model
