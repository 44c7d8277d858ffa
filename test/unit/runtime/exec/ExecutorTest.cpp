// The executor: order within a stream, events across streams, the data path
// (copy / kernel / offload; NVMe is in NvmeBackendTest.cpp), error
// propagation, affinity, reuse.
#include "ExecTestUtil.h"

#include "runtime/exec/ThreadAffinity.h"

#include <atomic>
#include <random>
#include <unistd.h>

namespace off::exec::testing {
namespace {

TEST(Executor, RunsEachStreamInPlanOrderOnItsOwnThread) {
  constexpr int kStreams = 3, kSteps = 60;
  std::vector<std::vector<int>> seen(kStreams);
  std::vector<std::thread::id> threads(kStreams);
  Program program;
  for (int s = 0; s < kStreams; ++s) {
    Stream st = stream("s" + std::to_string(s), StreamKind::Compute);
    for (int i = 0; i < kSteps; ++i)
      st.instructions.push_back(action("step", [&seen, &threads, s, i] {
        seen[s].push_back(i);
        threads[s] = std::this_thread::get_id();
      }));
    program.streams.push_back(std::move(st));
  }
  ExecutorOptions options;
  options.beforeInstruction = [](uint32_t stream, uint32_t index) {
    if ((stream * 7 + index) % 5 == 0)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  };
  Executor executor(testBackend(), std::move(program), options);
  executor.run();
  std::vector<int> expected(kSteps);
  for (int i = 0; i < kSteps; ++i)
    expected[i] = i;
  for (int s = 0; s < kStreams; ++s)
    EXPECT_EQ(seen[s], expected) << "stream " << s;
  EXPECT_NE(threads[0], threads[1]);
  EXPECT_NE(threads[1], threads[2]);
  EXPECT_NE(threads[0], std::this_thread::get_id());
}

// A backend kernel: y = x + 1 per float, scratch of one float per element
// that it must be given.
void validateIncrement(const backend::KernelCall &) {}
void runIncrement(const backend::KernelCall &call) {
  const float *x = call.inputs[0].as<float>();
  float *y = call.outputs[0].as<float>();
  auto *scratch = reinterpret_cast<float *>(call.workspace.data());
  for (int64_t i = 0; i < call.inputs[0].numel(); ++i) {
    scratch[i] = x[i] + 1.0f;
    y[i] = scratch[i];
  }
}
uint64_t incrementWorkspace(const backend::KernelCall &call) {
  return uint64_t(call.inputs[0].numel()) * sizeof(float);
}

TEST(Executor, LaunchesBackendKernelsWithTheirWorkspace) {
  static const backend::KernelTable table = [] {
    backend::KernelTable t("test");
    t.add("increment", {validateIncrement, runIncrement, incrementWorkspace});
    return t;
  }();
  backend::HostBackend host("test", table);
  auto bound = std::make_shared<backend::BoundKernel>(
      table, "increment", std::vector<backend::TensorArg>{{nullptr, {4}}},
      std::vector<backend::TensorArg>{{nullptr, {4}}});
  Slice x{0, 0, 16}, y{0, 16, 16}, workspace{0, 32, 16};
  KernelInstr kernel{"increment",
                     {{x, Tier::Device, Access::Read},
                      {y, Tier::Device, Access::Write},
                      {workspace, Tier::Device, Access::Write}},
                     nullptr, bound, true};
  Program program{{{"device", Tier::Device, 48, 0, false}},
                  {stream("compute", StreamKind::Compute, {kernel})}, 0, {x}};
  ExecutorOptions options;
  options.checkResidency = true;
  Executor executor(host, program, options);
  writeFloats(executor, x, {1, 2, 3, -4});
  executor.run();
  EXPECT_EQ(readFloats(executor, y), (std::vector<float>{2, 3, 4, -3}));
  EXPECT_EQ(executor.arenaBytes(Tier::Device), 48u);

  // A workspace smaller than the kernel's rule is a program error.
  std::get<KernelInstr>(program.streams[0].instructions[0]).args[2].slice.size = 12;
  try {
    Executor small(host, program);
    FAIL() << "a short workspace was accepted";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("needs 16 bytes of workspace, the program gives it 12"),
              std::string::npos)
        << e.what();
  }
}

// A slow producer and a consumer behind a wait: the consumer must see the
// produced value. `value` is a plain int on purpose: under the TSan build
// the event is the only thing that orders the two accesses.
TEST(Executor, WaitOrdersConsumerAfterSlowProducer) {
  int value = 0, consumed = -1;
  Program program;
  program.eventCount = 1;
  program.streams.push_back(stream("h2d", StreamKind::H2D,
                                   {action("produce",
                                           [&] {
                                             sleepMs(30);
                                             value = 42;
                                           }),
                                    RecordInstr{0}}));
  program.streams.push_back(stream(
      "compute", StreamKind::Compute,
      {WaitInstr{0}, action("consume", [&] { consumed = value; })}));
  Executor executor(testBackend(), std::move(program));
  executor.run();
  EXPECT_EQ(consumed, 42);
}

TEST(Executor, EventsChainAcrossThreeStreams) {
  std::vector<std::string> log;
  auto note = [&](const char *what) {
    return action(what, [&log, what] { log.push_back(what); });
  };
  Program program;
  program.eventCount = 3;
  // a1 -> b -> c -> a2, each hop an event; c starts first and must wait.
  program.streams.push_back(stream("a", StreamKind::Compute,
                                   {note("a1"), RecordInstr{0}, WaitInstr{2},
                                    note("a2")}));
  program.streams.push_back(
      stream("b", StreamKind::H2D, {WaitInstr{0}, note("b"), RecordInstr{1}}));
  program.streams.push_back(
      stream("c", StreamKind::D2H, {WaitInstr{1}, note("c"), RecordInstr{2}}));
  ExecutorOptions options;
  options.beforeInstruction = [](uint32_t stream, uint32_t) {
    if (stream == 0)
      sleepMs(1);
  };
  Executor executor(testBackend(), std::move(program), options);
  for (int run = 0; run < 20; ++run) {
    log.clear();
    executor.run();
    EXPECT_EQ(log, (std::vector<std::string>{"a1", "b", "c", "a2"}));
  }
}

// Host -> device copy, a kernel on the device copy, offload back to a second
// host range: host[16..32) = 2 * host[0..16) + 1, computed by hand below.
TEST(Executor, CopyKernelOffloadDataPath) {
  Slice hostIn{1, 0, 16}, hostOut{1, 16, 16}, dev{0, 64, 16};
  Program program;
  program.arenas = {{"device", Tier::Device, 128, 128, false},
                    {"host", Tier::Host, 32, 0, true}};
  program.eventCount = 2;
  program.residentAtStart = {hostIn};
  KernelInstr twice{"twice_plus_one",
                    {{dev, Tier::Device, Access::ReadWrite}},
                    [](const KernelCall &call) {
                      float *x = call.arg<float>(0);
                      for (uint64_t i = 0; i < call.count<float>(0); ++i)
                        x[i] = 2 * x[i] + 1;
                    }};
  program.streams.push_back(
      stream("h2d", StreamKind::H2D, {CopyInstr{dev, hostIn}, RecordInstr{0}}));
  program.streams.push_back(stream("compute", StreamKind::Compute,
                                   {WaitInstr{0}, twice, RecordInstr{1}}));
  program.streams.push_back(stream("d2h", StreamKind::D2H,
                                   {WaitInstr{1}, OffloadInstr{hostOut, dev}}));
  for (bool check : {false, true}) {
    ExecutorOptions options;
    options.checkResidency = check;
    Executor executor(testBackend(), program, options);
    writeFloats(executor, hostIn, {1.5f, -2, 0, 100});
    executor.run();
    EXPECT_EQ(readFloats(executor, hostOut),
              (std::vector<float>{4, -3, 1, 201}));
    EXPECT_EQ(readFloats(executor, hostIn),
              (std::vector<float>{1.5f, -2, 0, 100}));
  }
}

TEST(Executor, FailingKernelStopsAllStreamsAndNamesTheInstruction) {
  constexpr int kSlowSteps = 100000;
  std::atomic<int> explodeCalls{0}, afterFailure{0}, slowSteps{0};
  std::atomic<bool> sleepy{true};
  Program program;
  program.eventCount = 1;
  program.streams.push_back(stream(
      "compute", StreamKind::Compute,
      {action("fine", [] {}), action("explode",
                                     [&] {
                                       if (explodeCalls++ == 0)
                                         throw std::runtime_error("boom");
                                     }),
       RecordInstr{0}, action("after", [&] { ++afterFailure; })}));
  // Would wait forever for event 0 if the failure did not wake it.
  program.streams.push_back(stream(
      "h2d", StreamKind::H2D,
      {WaitInstr{0}, action("after", [&] { ++afterFailure; })}));
  // Would run for 100 s if it were not stopped between instructions.
  Stream slow = stream("d2h", StreamKind::D2H);
  for (int i = 0; i < kSlowSteps; ++i)
    slow.instructions.push_back(action("slow", [&] {
      if (sleepy)
        sleepMs(1);
      ++slowSteps;
    }));
  program.streams.push_back(std::move(slow));
  Executor executor(testBackend(), std::move(program));

  try {
    executor.run();
    FAIL() << "the run should have failed";
  } catch (const ExecError &e) {
    EXPECT_EQ(e.stream, 0u);
    EXPECT_EQ(e.index, 1u);
    EXPECT_EQ(std::string(e.what()),
              "stream 'compute' instruction #1 (kernel 'explode') failed: "
              "boom");
  }
  EXPECT_EQ(afterFailure, 0);
  EXPECT_LT(slowSteps, kSlowSteps);

  // The executor is usable again; this time nothing fails.
  slowSteps = 0;
  sleepy = false;
  executor.run();
  EXPECT_EQ(afterFailure, 2);
  EXPECT_EQ(slowSteps, kSlowSteps);
}

TEST(Executor, NonStandardExceptionIsReportedToo) {
  Program program;
  program.streams.push_back(stream("compute", StreamKind::Compute,
                                   {action("odd", [] { throw 7; })}));
  Executor executor(testBackend(), std::move(program));
  EXPECT_EQ(runError(executor),
            "stream 'compute' instruction #0 (kernel 'odd') failed with an "
            "exception that is not a std::exception");
}

TEST(Executor, PinsStreamsThatAreConfigured) {
  std::vector<int> allowed = currentThreadCpus();
  ASSERT_FALSE(allowed.empty());
  int cpu = allowed.back();
  std::vector<int> pinnedSees, freeSees;
  Program program;
  program.streams.push_back(stream(
      "compute", StreamKind::Compute,
      {action("where", [&] { pinnedSees = currentThreadCpus(); })}));
  program.streams.push_back(stream(
      "h2d", StreamKind::H2D,
      {action("where", [&] { freeSees = currentThreadCpus(); })}));
  ExecutorOptions options;
  options.affinity = parseStreamAffinity("compute=" + std::to_string(cpu));
  Executor executor(testBackend(), program, options);
  executor.run();
  EXPECT_EQ(pinnedSees, std::vector<int>{cpu});
  EXPECT_EQ(freeSees, allowed);

  options.affinity = {{"nonesuch", {cpu}}};
  EXPECT_THROW(Executor(testBackend(), program, options), std::invalid_argument);
  options.affinity = {{"compute", {CPU_SETSIZE - 1}}}; // no such CPU here
  try {
    Executor executor2(testBackend(), program, options);
    FAIL() << "pinning to a missing CPU should fail";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("stream 'compute': cannot pin thread "
                                         "to CPUs 1023"),
              std::string::npos)
        << e.what();
  }
}

TEST(Executor, ParsesStreamAffinity) {
  auto parsed = parseStreamAffinity("compute=0-2,5;h2d=3;d2h=3");
  EXPECT_EQ(parsed["compute"], (std::vector<int>{0, 1, 2, 5}));
  EXPECT_EQ(parsed["h2d"], std::vector<int>{3});
  EXPECT_EQ(parsed["d2h"], std::vector<int>{3});
  EXPECT_TRUE(parseStreamAffinity("").empty());
  for (const char *bad : {"compute", "=1", "compute=", "compute=a",
                          "compute=3-1", "compute=1;;h2d=2", "compute=-1"})
    EXPECT_THROW(parseStreamAffinity(bad), std::invalid_argument) << bad;
}

TEST(Executor, ManyRunsAndEmptyPrograms) {
  int counter = 0;
  Program program;
  program.eventCount = 1;
  program.streams.push_back(stream("a", StreamKind::Compute,
                                   {action("inc", [&] { ++counter; }),
                                    RecordInstr{0}}));
  program.streams.push_back(stream(
      "b", StreamKind::H2D, {WaitInstr{0}, action("inc", [&] { ++counter; })}));
  Executor executor(testBackend(), std::move(program));
  for (int run = 0; run < 300; ++run)
    executor.run();
  EXPECT_EQ(counter, 600);

  Executor empty(testBackend(), Program{});
  empty.run();
  { Executor neverRun(testBackend(), Program{{}, {stream("a", StreamKind::Compute)}, 0, {}}); }
}

} // namespace
} // namespace off::exec::testing
