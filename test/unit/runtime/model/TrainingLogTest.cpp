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
  ProgressPrinter printer(1, 300, nullptr);
  EXPECT_EQ(printer.line(12, 4.12346, 12345, 6.0),
            "step 12/300 | loss 4.1235 | 12.3k tok/s | 500.0 ms/step | ETA 2m24s");
  // A resumed run (from step 101): 10 steps in 2 s -> 0.2 s/step, 190 left.
  ProgressPrinter resumed(101, 300, nullptr);
  EXPECT_EQ(resumed.line(110, 2.0, 800, 2.0),
            "step 110/300 | loss 2.0000 | 800 tok/s | 200.0 ms/step | ETA 38s");
  EXPECT_EQ(resumed.line(300, 1.5, 800, 40.0),
            "step 300/300 | loss 1.5000 | 800 tok/s | 200.0 ms/step | ETA 0s");
}

TEST(ModelTrainingLog, ProgressPrintsEveryNthFirstAndLast) {
  ScratchDir dir;
  std::FILE *out = std::fopen(dir.file("progress.txt").c_str(), "w");
  ASSERT_NE(out, nullptr);
  ProgressPrinter printer(1, 7, out, /*every=*/3);
  for (uint64_t step = 1; step <= 7; ++step)
    printer.report(step, 1.0, 100, double(step));
  std::fclose(out);
  std::string text = readBytes(dir.file("progress.txt"));
  EXPECT_NE(text.find("step 1/7 "), std::string::npos);
  EXPECT_NE(text.find("step 3/7 "), std::string::npos);
  EXPECT_NE(text.find("step 6/7 "), std::string::npos);
  EXPECT_NE(text.find("step 7/7 "), std::string::npos);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
}

} // namespace
} // namespace off::model
