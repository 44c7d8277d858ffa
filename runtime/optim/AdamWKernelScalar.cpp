// The scalar reference kernel: a plain loop over adamwElement. It is the
// definition every vector kernel must equal bit for bit, and the fallback on
// CPUs without AVX2.
#include "runtime/optim/AdamWKernels.h"

namespace off::optim::detail {

void adamwKernelScalar(const AdamWTensor &tensor, const AdamWStepScalars &scalars,
                       size_t begin, size_t end) {
  adamwElementsScalar(tensor, scalars, begin, end);
}

} // namespace off::optim::detail
