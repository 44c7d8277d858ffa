// The JSONL step log and the progress line, against hand-written text.
#include "runtime/model/TrainingLog.h"

#include "ModelTestUtil.h"
#include "runtime/model/ModelError.h"

#include <gtest/gtest.h>

#include <cmath>

namespace off::model {
namespace {

using testutil::readBytes;
using testutil::ScratchDir;

TEST(ModelTrainingLog, StepLineIsOneJsonObject) {
  EXPECT_EQ(stepLogJson({3, 5.25, 1.5, 0.001, 12345.5, 80.25}),
            R"({"step":3,"loss":5.25,"grad_norm":1.5,"lr":0.001,"tokens_per_s":12345.5,"ms":80.25})");
  EXPECT_EQ(stepLogJson({4, NAN, INFINITY, 0, 0, 1}),
            R"({"step":4,"loss":null,"grad_norm":null,"lr":0.0,"tokens_per_s":0.0,"ms":1.0})");
}

TEST(ModelTrainingLog, WriterTruncatesOrAppends) {
  ScratchDir dir;
  std::string path = dir.file("log.jsonl");
  {
    JsonlLogWriter log(path, /*append=*/false);
    log.write({1, 2, 3, 4, 5, 6});
    // Flushed per line: readable before the writer closes.
    EXPECT_EQ(readBytes(path), stepLogJson({1, 2, 3, 4, 5, 6}) + "\n");
  }
  {
    JsonlLogWriter log(path, /*append=*/true);
    log.write({2, 1, 1, 1, 1, 1});
  }
  EXPECT_EQ(readBytes(path),
            stepLogJson({1, 2, 3, 4, 5, 6}) + "\n" + stepLogJson({2, 1, 1, 1, 1, 1}) + "\n");
  {
    JsonlLogWriter log(path, /*append=*/false);
  }
  EXPECT_EQ(readBytes(path), "");
  try {
    JsonlLogWriter bad(dir.file("no/such/dir/log.jsonl"), false);
    FAIL();
  } catch (const ModelIoError &error) {
    EXPECT_NE(std::string(error.what()).find("no/such/dir/log.jsonl: cannot open the log"),
              std::string::npos);
  }
}

TEST(ModelTrainingLog, Durations) {
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(59.4), "59s");
  EXPECT_EQ(formatDuration(185), "3m05s");
  EXPECT_EQ(formatDuration(7620), "2h07m");
  EXPECT_EQ(formatDuration(3 * 86400 + 4 * 3600 + 5), "3d04h");
  EXPECT_EQ(formatDuration(-1), "?");
  EXPECT_EQ(formatDuration(NAN), "?");
  EXPECT_EQ(formatRate(950), "950");
  EXPECT_EQ(formatRate(12345), "12.3k");
  EXPECT_EQ(formatRate(4560000), "4.56M");
}

TEST(ModelTrainingLog, ProgressLineAndEta) {
  // Steps 1..300; 12 steps done in 6 s -> 0.5 s/step; 288 left -> 144 s.
  // The window: the last 4 steps, 12345 tokens in 0.8 s -> 200 ms/step.
  ProgressPrinter printer(1, 300, nullptr);
  EXPECT_EQ(printer.line(12, 4.12346, 4, 12345, 0.8, 6.0),
            "step 12/300 | loss 4.1235 | 15.4k tok/s | 200.0 ms/step | ETA 2m24s");
  // A resumed run (from step 101): 10 steps in 2 s -> 0.2 s/step, 190 left.
  ProgressPrinter resumed(101, 300, nullptr);
  EXPECT_EQ(resumed.line(110, 2.0, 1, 160, 0.2, 2.0),
            "step 110/300 | loss 2.0000 | 800 tok/s | 200.0 ms/step | ETA 38s");
  EXPECT_EQ(resumed.line(300, 1.5, 1, 160, 0.2, 40.0),
            "step 300/300 | loss 1.5000 | 800 tok/s | 200.0 ms/step | ETA 0s");
}

std::string progressOf(uint64_t last, uint64_t every, const std::vector<double> &stepSeconds,
                       const std::vector<std::string> &notes = {}) {
  ScratchDir dir;
  std::FILE *out = std::fopen(dir.file("progress.txt").c_str(), "w");
  EXPECT_NE(out, nullptr);
  ProgressPrinter printer(1, last, out, every);
  double now = 0;
  for (uint64_t step = 1; step <= last; ++step) {
    now += stepSeconds[step - 1];
    printer.step(step, 1.0, 100, stepSeconds[step - 1], now,
                 step <= notes.size() ? notes[step - 1] : "");
  }
  std::fclose(out);
  return readBytes(dir.file("progress.txt"));
}

TEST(ModelTrainingLog, ProgressPrintsEveryNthFirstAndLast) {
  std::string text = progressOf(7, 3, std::vector<double>(7, 1.0));
  EXPECT_NE(text.find("step 1/7 "), std::string::npos);
  EXPECT_NE(text.find("step 3/7 "), std::string::npos);
  EXPECT_NE(text.find("step 6/7 "), std::string::npos);
  EXPECT_NE(text.find("step 7/7 "), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
  // Steps 4..6 are one window: 300 tokens in 3 s.
  EXPECT_NE(text.find("step 6/7 | loss 1.0000 | 100 tok/s | 1000.0 ms/step"), std::string::npos)
      << text;
}

TEST(ModelTrainingLog, ProgressByDefaultAboutOnceASecond) {
  // 25 steps of 0.125 s: lines at step 1, then once a second has passed
  // (steps 9 and 17), and the last; each window's rate is its own (steps
  // 2..9: 800 tokens in 1 s).
  std::string text = progressOf(25, 0, std::vector<double>(25, 0.125));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4) << text;
  for (const char *step : {"step 1/25 ", "step 9/25 ", "step 17/25 ", "step 25/25 "})
    EXPECT_NE(text.find(step), std::string::npos) << step << " in\n" << text;
  EXPECT_NE(text.find("step 9/25 | loss 1.0000 | 800 tok/s | 125.0 ms/step"),
            std::string::npos) << text;
  // A step with a note always gets a line.
  std::vector<std::string> notes(3);
  notes[1] = "skipped: loss nan";
  text = progressOf(3, 0, {0.1, 0.1, 0.1}, notes);
  EXPECT_NE(text.find("step 2/3 | loss 1.0000 | 1.0k tok/s | 100.0 ms/step | ETA 0s | skipped: loss nan"),
            std::string::npos) << text;
}

} // namespace
} // namespace off::model
