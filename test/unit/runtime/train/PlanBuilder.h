// Hand-built plans for the loader tests: tiers, arenas, tensors laid out one
// after another (64-byte aligned), kernels, copies and events.
#pragma once

#include "runtime/plan/Plan.h"

#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace off::train::test {

class PlanBuilder {
public:
  PlanBuilder() {
    plan_.set_format_version(plan::kFormatVersion);
    plan_.set_producer("test");
  }

  uint32_t tier(plan::TierKind kind, uint64_t budget = 0) {
    plan::Tier *t = plan_.add_tiers();
    t->set_kind(kind);
    t->set_budget_bytes(budget);
    return uint32_t(plan_.tiers_size() - 1);
  }

  /// An arena on `tier`; its size grows as tensors are added to it.
  uint32_t arena(uint32_t tier) {
    plan::Arena *a = plan_.add_arenas();
    a->set_tier(tier);
    a->set_alignment(64);
    return uint32_t(plan_.arenas_size() - 1);
  }

  uint32_t tensor(const std::string &name, std::vector<int64_t> shape, plan::Role role,
                  uint32_t arena = 0, plan::DType dtype = plan::F32) {
    uint64_t bytes = plan::dtypeSize(dtype);
    for (int64_t d : shape)
      bytes *= uint64_t(d);
    plan::Arena *a = plan_.mutable_arenas(int(arena));
    uint64_t offset = (a->size_bytes() + 63) / 64 * 64;
    a->set_size_bytes(offset + bytes);
    return place(name, std::move(shape), role, arena, offset, dtype, bytes);
  }

  /// Another shape over an existing tensor's bytes (a reshape view).
  uint32_t view(const std::string &name, uint32_t of, std::vector<int64_t> shape) {
    const plan::Tensor &source = plan_.tensors(int(of));
    return place(name, std::move(shape), plan::ACTIVATION, source.arena(), source.offset(),
                 source.dtype(), source.size_bytes());
  }

  void constant(uint32_t id, const std::vector<float> &values) {
    plan::Tensor *t = plan_.mutable_tensors(int(id));
    t->set_role(plan::CONSTANT);
    t->set_initial_data(std::string(reinterpret_cast<const char *>(values.data()),
                                    values.size() * sizeof(float)));
  }

  uint32_t stream(plan::StreamKind kind) {
    plan_.add_streams()->set_kind(kind);
    return uint32_t(plan_.streams_size() - 1);
  }

  plan::Kernel &kernel(uint32_t stream, const std::string &op,
                       std::initializer_list<uint32_t> inputs,
                       std::initializer_list<uint32_t> outputs) {
    plan::Kernel *k = plan_.mutable_streams(int(stream))->add_instructions()->mutable_kernel();
    k->set_op(op);
    for (uint32_t id : inputs)
      k->add_inputs(id);
    for (uint32_t id : outputs)
      k->add_outputs(id);
    return *k;
  }

  /// A WORKSPACE tensor of `bytes` for kernel `k` (as off-assign-buffers
  /// gives one to a kernel whose rule asks for scratch).
  void workspace(plan::Kernel &k, int64_t bytes, uint32_t arena = 0) {
    k.set_workspace(tensor("ws." + std::to_string(plan_.tensors_size()), {bytes},
                           plan::WORKSPACE, arena, plan::U8));
  }

  static void attr(plan::Kernel &k, const std::string &name, double value) {
    (*k.mutable_attrs())[name].set_f(value);
  }
  static void attrInts(plan::Kernel &k, const std::string &name, std::vector<int64_t> values) {
    for (int64_t v : values)
      (*k.mutable_attrs())[name].mutable_ints()->add_values(v);
  }

  void copy(uint32_t stream, uint32_t src, uint32_t dst) {
    plan::Copy *c = plan_.mutable_streams(int(stream))->add_instructions()->mutable_copy();
    c->set_src(src);
    c->set_dst(dst);
  }
  void record(uint32_t stream, uint32_t event) {
    plan_.mutable_streams(int(stream))->add_instructions()->set_record_event(event);
    plan_.set_num_events(std::max(plan_.num_events(), event + 1));
  }
  void wait(uint32_t stream, uint32_t event) {
    plan_.mutable_streams(int(stream))->add_instructions()->set_wait_event(event);
    plan_.set_num_events(std::max(plan_.num_events(), event + 1));
  }

  plan::Plan &plan() { return plan_; }

private:
  uint32_t place(const std::string &name, std::vector<int64_t> shape, plan::Role role,
                 uint32_t arena, uint64_t offset, plan::DType dtype, uint64_t bytes) {
    plan::Tensor *t = plan_.add_tensors();
    t->set_name(name);
    for (int64_t d : shape)
      t->add_shape(d);
    t->set_dtype(dtype);
    t->set_role(role);
    t->set_arena(arena);
    t->set_offset(offset);
    t->set_size_bytes(bytes);
    t->set_trainable(role == plan::PARAM);
    if (role == plan::PARAM) {
      t->set_hf_name(name);
      t->set_init(plan::INIT_NORMAL);
    }
    return uint32_t(plan_.tensors_size() - 1);
  }

  plan::Plan plan_;
};

} // namespace off::train::test
