// The lower bound (compiler/Simulate/LowerBound.h) on cases worked out by
// hand: the optimum where the device and host AdamW lines cross, the device
// memory capping the device's share, a link as the limit, and no AdamW.

#include "compiler/Simulate/LowerBound.h"

#include <gtest/gtest.h>

using namespace off::sim;

namespace {

BoundInputs base() {
  BoundInputs in;
  in.deviceCompute = 1;  // s
  in.adamDevice = 0.5;   // s, all updates on the device
  in.adamHost = 4;       // s, all updates on the host
  in.gradBytes = 10;     // at d2h 10 B/s: 1 s when all go to the host
  in.paramBytes = 10;    // at h2d 10 B/s: 1 s
  in.h2d = in.d2h = 10;
  in.stateBytes = 100;
  in.deviceBytes = 1000; // room for every update's operands
  return in;
}

TEST(LowerBound, DeviceAndHostAdamCross) {
  // max(1 + 0.5 f, 4 (1 - f), 1 - f, 1 - f) is least where 1 + 0.5 f = 4 - 4 f:
  // f = 2/3, 4/3 s.
  Bound b = lowerBound(base());
  EXPECT_NEAR(b.deviceFraction, 2.0 / 3, 1e-12);
  EXPECT_NEAR(b.seconds, 4.0 / 3, 1e-12);
}

TEST(LowerBound, DeviceMemoryCapsTheDeviceShare) {
  // Room for half the operands: f <= 0.5, so 4 (1 - 0.5) = 2 s, host AdamW.
  BoundInputs in = base();
  in.deviceBytes = 50;
  Bound b = lowerBound(in);
  EXPECT_DOUBLE_EQ(b.deviceFraction, 0.5);
  EXPECT_DOUBLE_EQ(b.seconds, 2);
  EXPECT_EQ(b.limit, "host AdamW");
  // No room at all: everything on the host, 4 s.
  in.deviceBytes = 0;
  EXPECT_DOUBLE_EQ(lowerBound(in).seconds, 4);
}

TEST(LowerBound, ALinkCanBind) {
  // A slow d2h: 30 (1 - f) s for the gradients; host AdamW is fast (0.1 s).
  // max(1 + 0.5 f, 0.1 (1 - f), 30 (1 - f), 1 - f): 1 + 0.5 f = 30 - 30 f at
  // f = 29 / 30.5.
  BoundInputs in = base();
  in.adamHost = 0.1;
  in.d2h = 10.0 / 30;
  Bound b = lowerBound(in);
  EXPECT_NEAR(b.deviceFraction, 29 / 30.5, 1e-12);
  EXPECT_NEAR(b.seconds, 1 + 0.5 * 29 / 30.5, 1e-12);
}

TEST(LowerBound, WithoutAdamTheComputeIsTheBound) {
  BoundInputs in;
  in.deviceCompute = 3;
  in.h2d = in.d2h = 1;
  Bound b = lowerBound(in);
  EXPECT_DOUBLE_EQ(b.seconds, 3);
  EXPECT_EQ(b.limit, "device compute");
}

} // namespace

namespace {

TEST(LowerBound, OneResourceAddsTheCosts) {
  // The CPU backend: 1 + 0.5 f + 4 (1 - f) + (1 - f) + (1 - f) = 7 - 5.5 f,
  // least at f = 1: 1.5 s (with room for every update's operands), and at
  // f = 0.5: 4.25 s when only half fit.
  BoundInputs in = base();
  in.oneResource = true;
  Bound b = lowerBound(in);
  EXPECT_DOUBLE_EQ(b.deviceFraction, 1);
  EXPECT_DOUBLE_EQ(b.seconds, 1.5);
  in.deviceBytes = 50;
  EXPECT_DOUBLE_EQ(lowerBound(in).seconds, 4.25);
}

} // namespace
