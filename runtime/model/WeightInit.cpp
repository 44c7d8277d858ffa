#include "runtime/model/WeightInit.h"

#include "runtime/model/Random.h"

#include <algorithm>
#include <stdexcept>

namespace off::model {

void initWeights(const std::vector<InitTarget> &targets, uint64_t seed, double stddev) {
  for (const InitTarget &target : targets) {
    uint64_t total = elementCount(target.shape);
    uint64_t count = target.count == 0 ? total - std::min(total, target.firstElement)
                                       : target.count;
    if (target.firstElement > total || count > total - target.firstElement)
      throw std::invalid_argument("initWeights: slice [" +
                                  std::to_string(target.firstElement) + ", +" +
                                  std::to_string(count) + ") is outside tensor '" +
                                  target.name + "' of " + std::to_string(total) +
                                  " elements");
    if (count > 0 && !target.data)
      throw std::invalid_argument("initWeights: tensor '" + target.name + "' has no buffer");
    switch (target.kind) {
    case InitKind::Normal:
      fillNormal(target.data, count, stddev, seed, streamIdForName(target.name),
                 target.firstElement);
      break;
    case InitKind::Ones:
      std::fill_n(target.data, count, 1.0f);
      break;
    case InitKind::Zeros:
      std::fill_n(target.data, count, 0.0f);
      break;
    }
  }
}

} // namespace off::model
