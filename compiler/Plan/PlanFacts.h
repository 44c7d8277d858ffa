//===- PlanFacts.h - what plan.bin says about params and kernels -*- C++ -*-===//
//
// Facts the runtime reads from the plan instead of guessing: how each
// parameter is initialised (from what it feeds in the IR) and how much
// workspace each kernel gets (the runtime's own rule, runtime/cpu's
// CpuWorkspace.h, so the two agree). Used by the lowering to plan.bin.
//
//===----------------------------------------------------------------------===//

#ifndef OFF_PLAN_PLANFACTS_H
#define OFF_PLAN_PLANFACTS_H

#include "dialects/off/IR/OffDialect.h"
#include "runtime/plan/Plan.h"

#include <cstdint>
#include <optional>

namespace mlir::off {

namespace plan = ::off::plan;

/// Hugging Face's _init_weights by what a parameter is, read from its uses
/// (through reshape, transpose, cast, broadcast_to and transfers; adam_step
/// aside): the weight of an rms_norm (or a scale only ever multiplied in,
/// an unfused norm) starts at ones, a value only ever added (a bias) at
/// zeros, everything else (Linear and Embedding weights) normal.
plan::InitKind paramInitKind(ParamOp param);

/// `op`'s attributes as its kernel reads them (plan.proto's Attr), into
/// `kernel`'s attrs: the IR's own bookkeeping (off.*) and attributes of
/// other kinds are left out.
void addKernelAttrs(Operation *op, plan::Kernel &kernel);

/// The static f32/bf16/f16/i32/i64 tensor types plan.bin holds.
std::optional<plan::DType> toPlanDType(Type type);

/// The workspace the runtime's rule (runtime/cpu/CpuWorkspace.h) gives the
/// kernel `op` runs as, from its operand and result types and attributes
/// (0: none, or a value the rule cannot see: the serializer refuses those).
uint64_t opWorkspaceBytes(Operation *op);

} // namespace mlir::off

#endif // OFF_PLAN_PLANFACTS_H
