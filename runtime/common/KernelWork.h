// The work a kernel does, in the unit its time grows with: FLOPs for the
// products (matmul, attention), bytes read and written for everything else.
// One definition for the two sides that must agree on it: offrt calibrate
// measures seconds per unit of work (runtime/calibrate/KernelTimes.cpp) and
// the simulator prices a plan's kernels with those curves
// (compiler/Simulate/KernelCost.cpp).
#pragma once

#include <cstdint>
#include <string>

namespace off::work {

/// Each output element is a K-long dot product: K multiplies, K adds.
inline uint64_t matmulFlops(uint64_t outputElements, uint64_t k) { return 2 * outputElements * k; }

/// `scores` = B * Hq * T * S; dq, dv the head dims of q/k and v. Forward:
/// Q K^T and P V, then the softmax (~5 per score). Backward recomputes Q K^T
/// and forms dV = P^T dO, dP = dO V^T, dQ = dS K, dK = dS^T Q and the
/// softmax gradient (~10 per score). The causal mask is not subtracted (as
/// compiler/Import/ModelStats.cpp counts).
inline uint64_t attentionFlops(bool grad, uint64_t scores, uint64_t dq, uint64_t dv) {
  return grad ? 2 * scores * (3 * dq + 2 * dv) + 10 * scores
              : 2 * scores * (dq + dv) + 5 * scores;
}

/// Whether a kernel's time is looked up by its FLOPs (else by its bytes).
inline bool timedByFlops(const std::string &op) {
  return op == "matmul" || op == "attention" || op == "attention_grad";
}

/// The key of a kernel's measured time curve in a profile's "kernel_times":
/// "OP.DTYPE" (the first operand's dtype), and for matmul the operand
/// layout too: "matmul.f32.nt" is x W^T (transpose_rhs), ".tn" dY^T X.
inline std::string kernelTimeKey(const std::string &op, const std::string &dtype,
                                 bool transposeLhs = false, bool transposeRhs = false) {
  std::string key = op + "." + dtype;
  if (op == "matmul")
    key += std::string(".") + (transposeLhs ? "t" : "n") + (transposeRhs ? "t" : "n");
  return key;
}

} // namespace off::work
