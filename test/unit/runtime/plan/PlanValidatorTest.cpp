#include "PlanTestUtil.h"

#include <gtest/gtest.h>

#include <functional>

using namespace off::plan;

namespace {

// Applies `corrupt` to a valid plan and expects exactly one problem containing `needle`.
void expectProblem(const std::function<void(Plan &)> &corrupt, const std::string &needle) {
  Plan plan = test_util::smallValidPlan();
  corrupt(plan);
  std::vector<std::string> problems = validatePlan(plan);
  ASSERT_FALSE(problems.empty()) << "expected: " << needle;
  bool found = false;
  for (const std::string &p : problems)
    found |= p.find(needle) != std::string::npos;
  EXPECT_TRUE(found) << "expected '" << needle << "', got: " << problems.front();
}

TEST(PlanValidator, AcceptsTheSmallPlan) {
  EXPECT_TRUE(validatePlan(test_util::smallValidPlan()).empty());
}

TEST(PlanValidator, RejectsOtherVersions) {
  expectProblem([](Plan &p) { p.set_format_version(kFormatVersion + 1); },
                "this offrt reads version " + std::to_string(kFormatVersion));
  expectProblem([](Plan &p) { p.set_format_version(kFormatVersion - 1); },
                "this offrt reads version " + std::to_string(kFormatVersion));
  expectProblem([](Plan &p) { p.set_format_version(0); }, "format version 0");
}

TEST(PlanValidator, ParamsSayHowTheyStartAndNothingElseDoes) {
  expectProblem([](Plan &p) { p.mutable_tensors(0)->set_role(PARAM); },
                "tensor 0 'x' is a parameter without an init kind");
  expectProblem([](Plan &p) { p.mutable_tensors(0)->set_init(INIT_ONES); },
                "tensor 0 'x' has an init kind but is not a parameter");
  Plan ok = test_util::smallValidPlan();
  ok.mutable_tensors(0)->set_role(PARAM);
  ok.mutable_tensors(0)->set_init(INIT_ZEROS);
  EXPECT_TRUE(validatePlan(ok).empty());
}

TEST(PlanValidator, AKernelsWorkspaceIsAWorkspaceTensor) {
  auto kernel = [](Plan &p) {
    return p.mutable_streams(0)->mutable_instructions(0)->mutable_kernel();
  };
  expectProblem([&](Plan &p) { kernel(p)->set_workspace(7); },
                "stream 0 instruction 0 (silu): workspace tensor 7 does not exist");
  expectProblem([&](Plan &p) { kernel(p)->set_workspace(1); },
                "stream 0 instruction 0 (silu): its workspace tensor 1 'y' is not a WORKSPACE "
                "tensor");
  expectProblem(
      [&](Plan &p) {
        Tensor *ws = p.add_tensors();
        *ws = p.tensors(1);
        ws->set_name("ws");
        ws->set_role(WORKSPACE);
        kernel(p)->set_workspace(2);
      },
      "stream 0 instruction 0 (silu): its workspace tensor 2 'ws' overlaps its operand "
      "tensor 1 'y'");
  Plan ok = test_util::smallValidPlan();
  ok.mutable_arenas(0)->set_size_bytes(384);
  Tensor *ws = ok.add_tensors();
  *ws = ok.tensors(1);
  ws->set_offset(256);
  ws->set_name("ws");
  ws->set_role(WORKSPACE);
  ws->set_dtype(U8);
  ws->clear_shape();
  ws->add_shape(128);
  kernel(ok)->set_workspace(2);
  EXPECT_TRUE(validatePlan(ok).empty()) << validatePlan(ok).front();
}

TEST(PlanValidator, TensorPastItsArena) {
  expectProblem([](Plan &p) { p.mutable_tensors(1)->set_offset(192); },
                "tensor 1 'y' spans bytes [192, 320) past the end of arena 0 (256 bytes)");
}

TEST(PlanValidator, OffsetOverflowDoesNotWrapAround) {
  expectProblem([](Plan &p) { p.mutable_tensors(1)->set_offset(UINT64_MAX - 64); },
                "past the end of arena 0");
}

TEST(PlanValidator, MisalignedOffset) {
  expectProblem([](Plan &p) { p.mutable_tensors(1)->set_offset(100); },
                "offset 100 is not a multiple of the arena's alignment 64");
}

TEST(PlanValidator, SizeDisagreesWithShape) {
  expectProblem([](Plan &p) { p.mutable_tensors(0)->set_size_bytes(64); },
                "tensor 0 'x' is 64 bytes but its shape and dtype need 128");
  expectProblem([](Plan &p) { p.mutable_tensors(0)->set_shape(0, -4); }, "bad shape");
}

TEST(PlanValidator, DuplicateNamesAndMissingRole) {
  expectProblem([](Plan &p) { p.mutable_tensors(1)->set_name("x"); }, "repeats a name");
  expectProblem([](Plan &p) { p.mutable_tensors(1)->set_role(ROLE_UNSPECIFIED); }, "has no role");
}

TEST(PlanValidator, BadReferences) {
  expectProblem([](Plan &p) { p.mutable_tensors(0)->set_arena(3); }, "names arena 3 of 1");
  expectProblem([](Plan &p) { p.mutable_arenas(0)->set_tier(2); }, "names tier 2 of 1");
  expectProblem(
      [](Plan &p) { p.mutable_streams(0)->mutable_instructions(0)->mutable_kernel()->add_inputs(9); },
      "stream 0 instruction 0 (silu): input tensor 9 does not exist");
  expectProblem([](Plan &p) { p.mutable_streams(0)->mutable_instructions(2)->set_wait_event(5); },
                "waits for event 5 of 1");
}

TEST(PlanValidator, WaitWithoutRecordWouldHang) {
  expectProblem(
      [](Plan &p) {
        p.set_num_events(2);
        p.mutable_streams(0)->mutable_instructions(2)->set_wait_event(1);
      },
      "event 1 is waited for but never recorded");
}

TEST(PlanValidator, BudgetExceeded) {
  expectProblem([](Plan &p) { p.mutable_tiers(0)->set_budget_bytes(200); },
                "arenas need 256 bytes, over its budget of 200");
}

TEST(PlanValidator, ConstantsCarryTheirBytes) {
  expectProblem(
      [](Plan &p) {
        p.mutable_tensors(0)->set_role(CONSTANT);
        p.mutable_tensors(0)->set_initial_data(std::string(12, '\0'));
      },
      "is a constant with 12 bytes of data for 128");
  expectProblem([](Plan &p) { p.mutable_tensors(0)->set_initial_data("x"); },
                "has initial data but is not a constant");
}

TEST(PlanValidator, CopiesKeepTheSize) {
  expectProblem(
      [](Plan &p) {
        p.mutable_tensors(1)->clear_shape();
        p.mutable_tensors(1)->add_shape(8);
        p.mutable_tensors(1)->set_size_bytes(32);
        Copy *c = p.mutable_streams(0)->add_instructions()->mutable_copy();
        c->set_src(0);
        c->set_dst(1);
      },
      "of a different size");
}

} // namespace
