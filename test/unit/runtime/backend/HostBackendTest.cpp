// backend::HostBackend through the Backend interface: arenas and the tier
// budget, usage, transfers, and what a launch hands a kernel (addresses,
// workspace, the step's context, the stream).
#include "runtime/backend/HostBackend.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace off::backend {
namespace {

// A kernel recording what it was given: y[i] = x[i] * step, and the
// workspace filled with 0x5A.
struct Seen {
  int64_t step = 0;
  size_t workspace = 0;
  const Stream *stream = nullptr;
};
Seen seen;

void validateScale(const KernelCall &call) {
  if (call.inputs.size() != 1 || call.outputs.size() != 1 ||
      call.inputs[0].shape != call.outputs[0].shape)
    throw std::invalid_argument("scale: one input and one output of one shape");
}
void runScale(const KernelCall &call) {
  seen = {call.step ? call.step->optimizerStep : -1, call.workspace.size(), call.stream};
  std::memset(call.workspace.data(), 0x5A, call.workspace.size());
  for (int64_t i = 0; i < call.inputs[0].numel(); ++i)
    call.outputs[0].as<float>()[i] = call.inputs[0].as<float>()[i] * float(seen.step);
}
uint64_t scaleWorkspace(const KernelCall &call) { return uint64_t(call.inputs[0].numel()) * 4; }

const KernelTable &table() {
  static const KernelTable t = [] {
    KernelTable k("test");
    k.add("scale", {validateScale, runScale, scaleWorkspace});
    return k;
  }();
  return t;
}

ArenaRequest request(Tier tier, uint64_t size, uint64_t budget = 0) {
  ArenaRequest r;
  r.label = "arena 'x'";
  r.tier = tier;
  r.size = size;
  r.budget = budget;
  return r;
}

TEST(HostBackend, ArenasOfATierStayWithinItsBudgetTogether) {
  HostBackend backend("test", table());
  auto a = backend.allocateArena(request(Tier::Device, 600, 1000));
  EXPECT_EQ(backend.usage(Tier::Device).current, 600u);
  try {
    backend.allocateArena(request(Tier::Device, 500, 1000));
    FAIL() << "a second arena past the budget was allocated";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("over the device budget of 1000 bytes"),
              std::string::npos)
        << e.what();
  }
  auto b = backend.allocateArena(request(Tier::Device, 400, 1000)); // exactly full
  EXPECT_EQ(backend.usage(Tier::Device).current, 1000u);
  a.reset();
  EXPECT_EQ(backend.usage(Tier::Device).current, 400u);
  EXPECT_EQ(backend.usage(Tier::Device).peak, 1000u);
  EXPECT_EQ(backend.usage(Tier::Host).peak, 0u);
}

TEST(HostBackend, ArenasAreHostMemoryAndNvmeIsRefused) {
  HostBackend backend("test", table());
  auto device = backend.allocateArena(request(Tier::Device, 4096));
  EXPECT_TRUE(device->hostAccessible());
  EXPECT_FALSE(device->pinned()); // the device stand-in is not DMA'd
  EXPECT_EQ(device->size(), 4096u);
  device->data()[4095] = std::byte{1};
  EXPECT_THROW(backend.allocateArena(request(Tier::Nvme, 64)), std::invalid_argument);
  EXPECT_EQ(backend.usage(Tier::Nvme).current, 0u);
}

TEST(HostBackend, LaunchHandsTheKernelItsWorkspaceStepAndStream) {
  HostBackend backend("test", table());
  BoundKernel kernel(backend.kernels(StreamKind::Compute), "scale", {{nullptr, {3}}},
                     {{nullptr, {3}}});
  EXPECT_EQ(kernel.workspaceBytes(), 12u);
  auto arena = backend.allocateArena(request(Tier::Device, 256));
  std::byte *x = arena->data(), *y = arena->data() + 64, *ws = arena->data() + 128;
  const float in[3] = {1, 2, -3};
  backend.upload(x, in, sizeof in);
  auto stream = backend.createStream(StreamKind::Compute, "compute");
  StepContext step;
  step.optimizerStep = 5;
  void *inputs[] = {x}, *outputs[] = {y};
  backend.launch(*stream, kernel, inputs, outputs, {ws, 12}, step);
  backend.synchronize(*stream);
  float out[3];
  backend.download(out, y, sizeof out);
  EXPECT_EQ(out[0], 5.0f);
  EXPECT_EQ(out[2], -15.0f);
  EXPECT_EQ(seen.step, 5);
  EXPECT_EQ(seen.workspace, 12u);
  EXPECT_EQ(seen.stream, stream.get());
  EXPECT_EQ(ws[11], std::byte{0x5A});
  // Less workspace than the rule asks for is refused before the kernel runs.
  seen = {};
  EXPECT_THROW(backend.launch(*stream, kernel, inputs, outputs, {ws, 11}, step),
               std::invalid_argument);
  EXPECT_EQ(seen.step, 0);
}

TEST(HostBackend, CopiesAndHostTasksRunInStreamOrder) {
  HostBackend backend("test", table());
  auto host = backend.allocateArena(request(Tier::Device, 128));
  auto stream = backend.createStream(StreamKind::H2D, "h2d");
  auto event = backend.createEvent();
  std::memset(host->data(), 7, 64);
  backend.copy(*stream, host->data() + 64, host->data(), 64);
  backend.record(*stream, *event);
  int ran = 0;
  backend.hostTask(*stream, [&] { ran = int(host->data()[127]); });
  backend.wait(*stream, *event);
  EXPECT_EQ(ran, 7);
  EXPECT_EQ(stream->kind(), StreamKind::H2D);
  EXPECT_EQ(stream->name(), "h2d");
}

TEST(KernelTable, CallGivesTheWorkspaceTheRuleAsksFor) {
  float x[2] = {1, 2}, y[2];
  TensorArg in{x, {2}}, out{y, {2}};
  table().call("scale", {&in, 1}, {&out, 1});
  EXPECT_EQ(seen.workspace, 8u);
  EXPECT_EQ(seen.step, -1); // no step context outside a step
  EXPECT_EQ(y[1], -2.0f);
}

} // namespace
} // namespace off::backend
