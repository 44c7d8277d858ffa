// A small valid plan: one device tier, one arena, an input and the
// activation one kernel computes from it (valid for validatePlan and, being
// in order, for verifyPlanOrder too).
#pragma once

#include "runtime/plan/Plan.h"

namespace off::plan::test_util {

inline Plan smallValidPlan() {
  Plan plan;
  plan.set_format_version(kFormatVersion);
  plan.set_producer("test");
  plan.add_tiers()->set_kind(TIER_DEVICE);
  Arena *arena = plan.add_arenas();
  arena->set_tier(0);
  arena->set_size_bytes(256);
  arena->set_alignment(64);
  for (int i = 0; i < 2; ++i) {
    Tensor *t = plan.add_tensors();
    t->set_name(i == 0 ? "x" : "y");
    t->add_shape(4);
    t->add_shape(8);
    t->set_dtype(F32);
    t->set_role(i == 0 ? INPUT : ACTIVATION);
    t->set_arena(0);
    t->set_offset(i * 128);
    t->set_size_bytes(128);
  }
  Stream *stream = plan.add_streams();
  stream->set_kind(COMPUTE);
  Kernel *k = stream->add_instructions()->mutable_kernel();
  k->set_op("silu");
  k->add_inputs(0);
  k->add_outputs(1);
  plan.set_num_events(1);
  stream->add_instructions()->set_record_event(0);
  stream->add_instructions()->set_wait_event(0);
  return plan;
}

} // namespace off::plan::test_util
