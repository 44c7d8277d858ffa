// Program validation: every malformed program is refused before it runs,
// with a message naming the stream, the instruction and the problem.
#include "ExecTestUtil.h"

namespace off::exec::testing {
namespace {

Program base() {
  Program program;
  program.arenas = {{"device", Tier::Device, 1024, 2048, false},
                    {"host", Tier::Host, 1024, 0, true},
                    {"disk", Tier::Nvme, 4096, 0, true}};
  program.streams.push_back(stream("compute", StreamKind::Compute));
  program.streams.push_back(stream("h2d", StreamKind::H2D));
  return program;
}

std::string validationError(const Program &program) {
  try {
    validate(program);
  } catch (const std::runtime_error &e) {
    return e.what();
  }
  return "";
}

KernelInstr reads(Slice slice, Tier tier) {
  return KernelInstr{"k", {{slice, tier, Access::Read}},
                     [](const KernelCall &) {}};
}

TEST(Program, AcceptsAWellFormedProgram) {
  Program program = base();
  program.eventCount = 1;
  program.streams[1].instructions = {CopyInstr{{0, 0, 64}, {1, 0, 64}},
                                     RecordInstr{0}};
  program.streams[0].instructions = {WaitInstr{0},
                                     reads({0, 0, 64}, Tier::Device),
                                     FreeInstr{{0, 0, 64}}};
  EXPECT_EQ(validationError(program), "");
}

TEST(Program, RefusesSlicesOutsideTheirArena) {
  Program program = base();
  program.streams[0].instructions = {reads({0, 1000, 64}, Tier::Device)};
  EXPECT_EQ(validationError(program),
            "invalid program: stream 'compute' instruction #0: arena "
            "'device'[1000, +64) ends past the arena's 1024 bytes");
  // offset + size wrapping around 2^64 must not pass.
  program.streams[0].instructions = {
      reads({0, 8, ~uint64_t(0) - 4}, Tier::Device)};
  EXPECT_NE(validationError(program).find("ends past the arena"),
            std::string::npos);
  program.streams[0].instructions = {reads({7, 0, 4}, Tier::Device)};
  EXPECT_NE(validationError(program).find("names arena #7 but there are 3"),
            std::string::npos);
}

TEST(Program, RefusesKernelArgumentsInTheWrongTier) {
  Program program = base();
  program.streams[0].instructions = {reads({1, 0, 64}, Tier::Device)};
  EXPECT_EQ(validationError(program),
            "invalid program: stream 'compute' instruction #0: kernel 'k' "
            "argument arena 'host'[0, +64) is in the host tier, but this "
            "instruction needs it in the device tier");
}

TEST(Program, RefusesBadTransfers) {
  Program program = base();
  program.streams[1].instructions = {CopyInstr{{0, 0, 64}, {1, 0, 32}}};
  EXPECT_NE(validationError(program).find("copies 32 bytes into 64"),
            std::string::npos);
  program.streams[1].instructions = {CopyInstr{{0, 0, 64}, {0, 32, 64}}};
  EXPECT_NE(validationError(program).find("overlap"), std::string::npos);
  program.streams[1].instructions = {CopyInstr{{0, 0, 64}, {2, 0, 64}}};
  EXPECT_NE(validationError(program).find("is on NVMe; use nvme-read"),
            std::string::npos);
  program.streams[1].instructions = {NvmeReadInstr{{0, 0, 64}, {2, 0, 64}}};
  EXPECT_NE(validationError(program).find(
                "destination arena 'device'[0, +64) is in the device tier, "
                "but this instruction needs it in the host tier"),
            std::string::npos);
  program.streams[1].instructions = {NvmeWriteInstr{{1, 0, 64}, {1, 64, 64}}};
  EXPECT_NE(validationError(program).find("needs it in the nvme tier"),
            std::string::npos);
  program.streams[1].instructions = {KernelInstr{"nofn", {}, nullptr}};
  EXPECT_NE(validationError(program).find("kernel 'nofn' needs a backend kernel or a host function"),
            std::string::npos);
}

TEST(Program, RefusesAnArenaOverItsBudget) {
  Program program = base();
  program.arenas[0].size = 4096;
  EXPECT_EQ(validationError(program),
            "invalid program: arena 'device' (device) needs 4096 bytes but "
            "its budget is 2048");
}

TEST(Program, RefusesBadEvents) {
  Program program = base();
  program.eventCount = 1;
  program.streams[0].instructions = {RecordInstr{0}};
  program.streams[1].instructions = {RecordInstr{0}};
  EXPECT_NE(validationError(program).find("event 0 is recorded 2 times"),
            std::string::npos);
  program.streams[1].instructions = {WaitInstr{0}};
  program.streams[0].instructions = {};
  EXPECT_NE(validationError(program).find("event 0 is waited on but never "
                                          "recorded"),
            std::string::npos);
  program.streams[0].instructions = {RecordInstr{3}};
  EXPECT_NE(validationError(program).find("records event 3 but the program "
                                          "has 1"),
            std::string::npos);
}

TEST(Program, RefusesWaitsThatWouldHang) {
  Program program = base();
  program.eventCount = 2;
  // compute waits for h2d's event 1, h2d waits for compute's event 0, and
  // each records only after its wait: neither can start.
  program.streams[0].instructions = {WaitInstr{1}, RecordInstr{0}};
  program.streams[1].instructions = {WaitInstr{0}, RecordInstr{1}};
  EXPECT_EQ(validationError(program),
            "invalid program: these waits can never be satisfied (a cycle of "
            "waits between streams):\n"
            "  stream 'compute' instruction #0 (wait event 1)\n"
            "  stream 'h2d' instruction #0 (wait event 0)");
  // Same stream: waiting for an event recorded later by itself.
  program.streams[0].instructions = {WaitInstr{0}, RecordInstr{0}};
  program.streams[1].instructions = {RecordInstr{1}};
  EXPECT_NE(validationError(program).find(
                "stream 'compute' instruction #0 (wait event 0)"),
            std::string::npos);
}

TEST(Program, ExecutorRefusesAnInvalidProgram) {
  Program program = base();
  program.streams[0].instructions = {reads({0, 1000, 64}, Tier::Device)};
  EXPECT_THROW((Executor{testBackend(), program}), std::runtime_error);
}

TEST(Program, DescribesSlicesAndInstructions) {
  Program program = base();
  program.streams[1].instructions = {OffloadInstr{{1, 8, 16}, {0, 32, 16}}};
  EXPECT_EQ(describe(program, Slice{2, 4096, 0}), "arena 'disk'[4096, +0)");
  EXPECT_EQ(describe(program, 1, 0),
            "stream 'h2d' instruction #0 (offload arena 'device'[32, +16) -> "
            "arena 'host'[8, +16))");
}

} // namespace
} // namespace off::exec::testing
