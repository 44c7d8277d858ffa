// Tests off::cli::Command: values reach their variables in every spelling
// (--name VALUE, --name=VALUE, -o VALUE), bad values and command lines are
// one line naming the option with exit code 2, and --help lists what was
// declared.
#include "runtime/common/CliCommand.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using off::cli::Command;

struct Parsed {
  std::optional<int> exit;
  std::string out, err;
};

/// A small command with one option of each kind.
struct Fixture {
  std::string plan, data, mode = "a", custom;
  std::vector<std::string> shapes;
  uint64_t steps = 0, size = 0;
  int64_t warmup = -1;
  unsigned threads = 0;
  double lr = 0, beta = 0;
  bool quiet = false;
  enum class Pages { Huge, Small } pages = Pages::Huge;
  Command cmd{"tool run", "PLAN [options]", "Runs a plan."};

  Fixture() {
    cmd.positional("PLAN", plan, "the plan");
    cmd.group("Data");
    cmd.option("-d,--data", data, "FILE", "token file\nsecond line");
    cmd.option("--shape", shapes, "NAME=DxD", "a shape");
    cmd.group("Run");
    cmd.option("--steps", steps, "N", "steps", off::cli::positive);
    cmd.option("--warmup", warmup, "N", "warm-up", off::cli::between(0, 10));
    cmd.option("--threads", threads, "N", "threads");
    cmd.option("--lr", lr, "X", "learning rate", off::cli::positive);
    cmd.option("--beta", beta, "X", "any number");
    cmd.size("--vram", size, "budget");
    cmd.choice("--mode", mode, {"a", "b"}, "mode");
    cmd.choice("--pages", pages, {{"huge", Pages::Huge}, {"4k", Pages::Small}}, "pages");
    cmd.option("--custom", "X", "even length", [this](const std::string &text) -> std::string {
      if (text.size() % 2)
        return "needs an even length, got '" + text + "'";
      custom = text;
      return "";
    });
    cmd.flag("--quiet", quiet, "no output");
    cmd.footer("The end.");
  }

  Parsed parse(const std::vector<std::string> &args) {
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    Parsed p;
    p.exit = cmd.parse(args);
    p.out = testing::internal::GetCapturedStdout();
    p.err = testing::internal::GetCapturedStderr();
    return p;
  }
};

TEST(CliCommand, ValuesInEverySpelling) {
  Fixture f;
  Parsed p = f.parse({"plan.bin", "-d", "tokens.bin", "--steps=3", "--warmup", "0", "--threads",
                      "4", "--lr", "1e-3", "--beta=-0.5", "--vram", "24G", "--mode", "b",
                      "--pages=4k", "--custom", "ab", "--shape", "x=1", "--shape=y=2x3",
                      "--quiet"});
  ASSERT_FALSE(p.exit) << p.err;
  EXPECT_EQ(p.err, "");
  EXPECT_EQ(f.plan, "plan.bin");
  EXPECT_EQ(f.data, "tokens.bin");
  EXPECT_EQ(f.steps, 3u);
  EXPECT_EQ(f.warmup, 0);
  EXPECT_EQ(f.threads, 4u);
  EXPECT_DOUBLE_EQ(f.lr, 1e-3);
  EXPECT_DOUBLE_EQ(f.beta, -0.5);
  EXPECT_EQ(f.size, 24ull << 30);
  EXPECT_EQ(f.mode, "b");
  EXPECT_EQ(f.pages, Fixture::Pages::Small);
  EXPECT_EQ(f.custom, "ab");
  EXPECT_EQ(f.shapes, (std::vector<std::string>{"x=1", "y=2x3"}));
  EXPECT_TRUE(f.quiet);
  EXPECT_TRUE(f.cmd.given("--steps"));
  EXPECT_TRUE(f.cmd.given("--data")); // given as -d
  EXPECT_FALSE(f.cmd.given("--nonexistent"));
  EXPECT_EQ(f.cmd.value("--vram"), "24G");
  EXPECT_EQ(f.cmd.value("--lr"), "1e-3");
}

TEST(CliCommand, NothingGivenLeavesDefaults) {
  Fixture f;
  Parsed p = f.parse({});
  ASSERT_FALSE(p.exit);
  EXPECT_EQ(f.plan, "");
  EXPECT_EQ(f.mode, "a");
  EXPECT_EQ(f.warmup, -1);
  EXPECT_FALSE(f.quiet);
  EXPECT_FALSE(f.cmd.given("--steps"));
  EXPECT_EQ(f.cmd.value("--vram"), "");
}

TEST(CliCommand, UsageErrorsNameTheOptionAndExit2) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--steps", "x"}, "--steps: needs a positive integer, got 'x'"},
      {{"--steps", "0"}, "--steps: needs a positive integer, got '0'"},
      {{"--steps", "-2"}, "--steps: needs a positive integer, got '-2'"},
      {{"--steps", "3x"}, "--steps: needs a positive integer, got '3x'"},
      {{"--warmup", "11"}, "--warmup: needs an integer from 0 to 10, got '11'"},
      {{"--threads", "-1"}, "--threads: needs a non-negative integer, got '-1'"},
      {{"--lr", "0"}, "--lr: needs a positive number, got '0'"},
      {{"--lr", "abc"}, "--lr: needs a positive number, got 'abc'"},
      {{"--beta", "nan"}, "--beta: needs a number, got 'nan'"},
      {{"--beta", "inf"}, "--beta: needs a number, got 'inf'"},
      {{"--vram", "12Q"}, "--vram: needs a size such as 24G or 512M, got '12Q'"},
      {{"--vram", "0"}, "--vram: needs a size such as 24G or 512M, got '0'"},
      {{"--mode", "c"}, "--mode: needs one of a, b, got 'c'"},
      {{"--pages=2m"}, "--pages: needs one of huge, 4k, got '2m'"},
      {{"--custom", "abc"}, "--custom: needs an even length, got 'abc'"},
      {{"--steps", "1", "--steps", "2"}, "--steps: given more than once"},
      {{"-d", "a", "--data", "b"}, "-d: given more than once"},
      {{"--data"}, "-d: needs a value"},
      {{"--bogus", "1"}, "unknown option '--bogus'"},
      {{"p", "--bogus=1"}, "unknown option '--bogus'"},
      {{"p", "q"}, "more than one PLAN: 'p' and 'q'"},
  };
  for (const Case &c : cases) {
    Fixture f;
    Parsed p = f.parse(c.args);
    ASSERT_TRUE(p.exit) << c.message;
    EXPECT_EQ(*p.exit, 2) << c.message;
    EXPECT_EQ(p.err, "tool run: error: " + c.message + " (see `tool run --help`)\n");
    EXPECT_EQ(p.out, "");
  }
}

TEST(CliCommand, UsageErrorPrintsTheSameForm) {
  Fixture f;
  testing::internal::CaptureStderr();
  EXPECT_EQ(f.cmd.usageError("no plan given"), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "tool run: error: no plan given (see `tool run --help`)\n");
}

TEST(CliCommand, HelpListsGroupsInOrder) {
  Fixture f;
  // --help wins wherever it is, even after a bad value.
  Parsed p = f.parse({"--steps", "x", "--help"});
  ASSERT_TRUE(p.exit);
  EXPECT_EQ(*p.exit, 0);
  EXPECT_EQ(p.err, "");
  EXPECT_EQ(p.out, f.cmd.help());
  const std::string &h = p.out;
  EXPECT_EQ(h.rfind("Usage: tool run PLAN [options]\n\nRuns a plan.\n", 0), 0u) << h;
  EXPECT_NE(h.find("\nArguments:\n  PLAN                  the plan\n"), std::string::npos) << h;
  EXPECT_NE(h.find("\nData:\n  -d, --data FILE       token file\n"
                   "                        second line\n"),
            std::string::npos)
      << h;
  EXPECT_NE(h.find("  --shape NAME=DxD      a shape (repeatable)\n"), std::string::npos) << h;
  EXPECT_NE(h.find("  --mode a|b            mode\n"), std::string::npos) << h;
  EXPECT_NE(h.find("  --vram SIZE           budget\n"), std::string::npos) << h;
  EXPECT_NE(h.find("  --quiet               no output\n"), std::string::npos) << h;
  EXPECT_LT(h.find("\nData:\n"), h.find("\nRun:\n"));
  EXPECT_EQ(h.substr(h.size() - 10), "\nThe end.\n");
  Parsed shortForm = Fixture().parse({"-h"});
  EXPECT_EQ(shortForm.exit, 0);
  EXPECT_EQ(shortForm.out, h);
}

TEST(CliCommand, LongNamesPutTheHelpOnItsOwnLine) {
  std::string value;
  Command cmd("t", "", "");
  cmd.option("--a-rather-long-option", value, "VALUE", "help");
  EXPECT_NE(cmd.help().find("  --a-rather-long-option VALUE\n                        help\n"),
            std::string::npos)
      << cmd.help();
}

TEST(CliCommand, PositionalListTakesEveryOne) {
  std::vector<std::string> inputs;
  std::string output;
  Command cmd("t", "INPUT... -o OUT", "");
  cmd.positional("INPUT", inputs, "files");
  cmd.option("-o", output, "OUT", "output");
  ASSERT_FALSE(cmd.parse({"a", "b", "-o", "x", "c"}));
  EXPECT_EQ(inputs, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(output, "x");
}

TEST(CliCommand, DoubleDashEndsOptions) {
  std::vector<std::string> inputs;
  Command cmd("t", "INPUT...", "");
  cmd.positional("INPUT", inputs, "files");
  testing::internal::CaptureStdout();
  std::optional<int> exit = cmd.parse({"a", "--", "--help", "-x"});
  std::string out = testing::internal::GetCapturedStdout();
  ASSERT_FALSE(exit) << out;
  EXPECT_EQ(inputs, (std::vector<std::string>{"a", "--help", "-x"}));
}

} // namespace
