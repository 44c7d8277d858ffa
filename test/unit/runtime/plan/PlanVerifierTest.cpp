// verifyPlanOrder: hand-built plans whose order is right, and one broken
// plan per rule (a read without its wait, bytes reused while still read, a
// read before any write, a param clobbered by the end of the step, waits in
// a cycle, an event recorded twice), each named in the message.
#include "runtime/plan/Plan.h"
#include "test/unit/runtime/plan/PlanTestUtil.h"

#include <gtest/gtest.h>

namespace off::plan {
namespace {

/// A device and a host tier; `w` (a param on the host), `x` (an input),
/// and room for copies and activations on the device.
class Builder {
public:
  Builder() {
    plan.set_format_version(kFormatVersion);
    plan.add_tiers()->set_kind(TIER_DEVICE);
    plan.add_tiers()->set_kind(TIER_HOST);
    for (uint32_t tier = 0; tier < 2; ++tier) {
      Arena *arena = plan.add_arenas();
      arena->set_tier(tier);
      arena->set_size_bytes(1024);
      arena->set_alignment(64);
    }
    compute = plan.add_streams();
    compute->set_kind(COMPUTE);
    h2d = plan.add_streams();
    h2d->set_kind(H2D);
    w = tensor("w", PARAM, 1, 0);
    x = tensor("x", INPUT, 0, 0);
  }
  uint32_t tensor(const std::string &name, Role role, uint32_t arena, uint64_t offset) {
    Tensor *t = plan.add_tensors();
    t->set_name(name);
    t->add_shape(16);
    t->set_dtype(F32);
    t->set_role(role);
    t->set_arena(arena);
    t->set_offset(offset);
    t->set_size_bytes(64);
    if (role == PARAM)
      t->set_init(INIT_NORMAL);
    if (role == WORKSPACE) {
      t->set_dtype(U8);
      t->set_shape(0, 64);
    }
    return uint32_t(plan.tensors_size() - 1);
  }
  void kernel(Stream *s, const char *op, std::vector<uint32_t> in, std::vector<uint32_t> out) {
    Kernel *k = s->add_instructions()->mutable_kernel();
    k->set_op(op);
    for (uint32_t id : in) k->add_inputs(id);
    for (uint32_t id : out) k->add_outputs(id);
  }
  void copy(Stream *s, uint32_t src, uint32_t dst) {
    s->add_instructions()->mutable_copy()->set_src(src);
    s->mutable_instructions(s->instructions_size() - 1)->mutable_copy()->set_dst(dst);
  }
  uint32_t event() { plan.set_num_events(plan.num_events() + 1); return plan.num_events() - 1; }
  void record(Stream *s, uint32_t e) { s->add_instructions()->set_record_event(e); }
  void wait(Stream *s, uint32_t e) { s->add_instructions()->set_wait_event(e); }

  std::string problem() {
    EXPECT_TRUE(validatePlan(plan).empty()) << validatePlan(plan).front();
    std::vector<std::string> problems = verifyPlanOrder(plan);
    return problems.empty() ? "" : problems.front();
  }

  Plan plan;
  Stream *compute, *h2d;
  uint32_t w, x;
};

TEST(PlanVerifier, AcceptsAPrefetchTheComputeStreamWaitsFor) {
  Builder b;
  uint32_t wd = b.tensor("w@device", ACTIVATION, 0, 64);
  uint32_t y = b.tensor("y", OUTPUT, 0, 128);
  uint32_t e = b.event();
  b.copy(b.h2d, b.w, wd);
  b.record(b.h2d, e);
  b.wait(b.compute, e);
  b.kernel(b.compute, "mul", {b.x, wd}, {y});
  EXPECT_EQ(b.problem(), "");
}

TEST(PlanVerifier, AcceptsAViewReadAfterItsSourceIsWritten) {
  Builder b;
  uint32_t y = b.tensor("y", ACTIVATION, 0, 64);
  uint32_t view = b.tensor("y.view", ACTIVATION, 0, 64); // same bytes, nothing writes it
  uint32_t z = b.tensor("z", OUTPUT, 0, 128);
  b.kernel(b.compute, "neg", {b.x}, {y});
  b.kernel(b.compute, "neg", {view}, {z});
  EXPECT_EQ(b.problem(), "");
}

TEST(PlanVerifier, AcceptsBytesReusedOnceTheirReaderIsOrderedBefore) {
  Builder b;
  uint32_t wd = b.tensor("w@device", ACTIVATION, 0, 64);
  uint32_t y = b.tensor("y", ACTIVATION, 0, 128);
  uint32_t again = b.tensor("w@device.2", ACTIVATION, 0, 64); // wd's bytes, reused
  uint32_t z = b.tensor("z", OUTPUT, 0, 192);
  uint32_t copied = b.event(), issued = b.event(), copiedAgain = b.event();
  b.copy(b.h2d, b.w, wd);
  b.record(b.h2d, copied);
  b.wait(b.compute, copied);
  b.kernel(b.compute, "mul", {b.x, wd}, {y});
  b.record(b.compute, issued); // after wd's last read
  b.wait(b.h2d, issued);
  b.copy(b.h2d, b.w, again);
  b.record(b.h2d, copiedAgain);
  b.wait(b.compute, copiedAgain);
  b.kernel(b.compute, "mul", {y, again}, {z});
  EXPECT_EQ(b.problem(), "");
}

TEST(PlanVerifier, ReadWithoutWaitingForTheCopy) {
  Builder b;
  uint32_t wd = b.tensor("w@device", ACTIVATION, 0, 64);
  uint32_t y = b.tensor("y", OUTPUT, 0, 128);
  b.copy(b.h2d, b.w, wd);
  b.kernel(b.compute, "mul", {b.x, wd}, {y});
  EXPECT_EQ(b.problem(), "stream 0 (compute) instruction #0 (kernel 'mul') reads 'w@device' "
                         "with no event ordering it after its write by stream 1 (h2d) "
                         "instruction #0 (copy)");
}

TEST(PlanVerifier, BytesReusedWhileStillRead) {
  Builder b;
  uint32_t wd = b.tensor("w@device", ACTIVATION, 0, 64);
  uint32_t y = b.tensor("y", OUTPUT, 0, 128);
  uint32_t again = b.tensor("w@device.2", ACTIVATION, 0, 64);
  uint32_t copied = b.event();
  b.copy(b.h2d, b.w, wd);
  b.record(b.h2d, copied);
  b.wait(b.compute, copied);
  b.kernel(b.compute, "mul", {b.x, wd}, {y});
  b.copy(b.h2d, b.w, again); // nothing orders it after the mul's read
  EXPECT_EQ(b.problem(), "stream 0 (compute) instruction #1 (kernel 'mul') reads 'w@device' "
                         "while stream 1 (h2d) instruction #2 (copy) may overwrite its bytes "
                         "with 'w@device.2' (no event orders them)");
}

TEST(PlanVerifier, WriteWhileAnotherStreamMayStillRead) {
  Builder b;
  uint32_t y = b.tensor("y", OUTPUT, 0, 128);
  uint32_t staged = b.tensor("w@device", ACTIVATION, 0, 0); // x's bytes
  b.kernel(b.compute, "neg", {b.x}, {y});
  b.copy(b.h2d, b.w, staged);
  EXPECT_EQ(b.problem(), "stream 1 (h2d) instruction #0 (copy) writes 'w@device' while "
                         "stream 0 (compute) instruction #0 (kernel 'neg') may still read the "
                         "same bytes ('x'; no event orders them)");
}

TEST(PlanVerifier, ReadOfBytesAnotherTensorOverwrote) {
  Builder b;
  uint32_t y = b.tensor("y", ACTIVATION, 0, 64);
  uint32_t z = b.tensor("z", ACTIVATION, 0, 64); // reuses y's bytes too early
  uint32_t out = b.tensor("out", OUTPUT, 0, 128);
  b.kernel(b.compute, "neg", {b.x}, {y});
  b.kernel(b.compute, "neg", {b.x}, {z});
  b.kernel(b.compute, "neg", {y}, {out});
  EXPECT_EQ(b.problem(), "stream 0 (compute) instruction #2 (kernel 'neg') reads 'y' after "
                         "stream 0 (compute) instruction #1 (kernel 'neg') overwrote its "
                         "bytes with 'z'");
}

TEST(PlanVerifier, WorkspaceOverBytesStillToBeRead) {
  Builder b;
  uint32_t y = b.tensor("y", ACTIVATION, 0, 64);
  uint32_t z = b.tensor("z", ACTIVATION, 0, 192);
  uint32_t ws = b.tensor("ws", WORKSPACE, 0, 64); // y's bytes, while y is live
  uint32_t out = b.tensor("out", OUTPUT, 0, 128);
  b.kernel(b.compute, "neg", {b.x}, {y});
  b.kernel(b.compute, "neg", {b.x}, {z});
  b.compute->mutable_instructions(1)->mutable_kernel()->set_workspace(ws);
  b.kernel(b.compute, "add", {y, z}, {out});
  EXPECT_EQ(b.problem(), "stream 0 (compute) instruction #2 (kernel 'add') reads 'y' after "
                         "stream 0 (compute) instruction #1 (kernel 'neg') overwrote its "
                         "bytes with 'ws'");
}

TEST(PlanVerifier, ReadBeforeAnythingWrites) {
  Builder b;
  uint32_t y = b.tensor("y", ACTIVATION, 0, 64);
  uint32_t out = b.tensor("out", OUTPUT, 0, 128);
  b.kernel(b.compute, "neg", {y}, {out});
  EXPECT_EQ(b.problem(), "stream 0 (compute) instruction #0 (kernel 'neg') reads 'y' before "
                         "anything writes it");
}

TEST(PlanVerifier, ParamClobberedByTheEndOfTheStep) {
  Builder b;
  uint32_t scratch = b.tensor("scratch", ACTIVATION, 1, 0); // the param's host bytes
  b.kernel(b.compute, "neg", {b.x}, {scratch});
  EXPECT_EQ(b.problem(), "'w' does not hold its value at the end of the step: stream 0 "
                         "(compute) instruction #0 (kernel 'neg') overwrote it with 'scratch'");
}

TEST(PlanVerifier, WaitsInACycle) {
  Builder b;
  uint32_t e0 = b.event(), e1 = b.event();
  b.wait(b.compute, e0);
  b.record(b.compute, e1);
  b.wait(b.h2d, e1);
  b.record(b.h2d, e0);
  EXPECT_EQ(b.problem(), "stream 0 (compute) instruction #0 waits for event 0, which is "
                         "never recorded before it can be (the waits form a cycle)");
}

TEST(PlanVerifier, EventRecordedTwice) {
  Builder b;
  uint32_t e = b.event();
  b.record(b.compute, e);
  b.record(b.h2d, e);
  EXPECT_NE(b.problem().find("records event 0 a second time"), std::string::npos);
}

TEST(PlanVerifier, TheSmallValidPlanIsInOrder) {
  EXPECT_TRUE(verifyPlanOrder(test_util::smallValidPlan()).empty());
}

} // namespace
} // namespace off::plan
