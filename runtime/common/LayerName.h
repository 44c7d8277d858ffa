// Which transformer layer a tensor belongs to, read from its name: the one
// rule the compiler's passes, offc's memory policy and offc explain share.
#pragma once

#include <string_view>

namespace off {

/// The name up to and including its last "layers.<digits>" component (at the
/// start or after a '.', followed by '.' or the end), e.g. "model.layers.3"
/// for "model.layers.3.mlp.up_proj.weight"; empty when there is none.
inline std::string_view layerOfName(std::string_view name) {
  std::string_view found;
  for (size_t at = name.find("layers."); at != std::string_view::npos;
       at = name.find("layers.", at + 1)) {
    const bool boundary = at == 0 || name[at - 1] == '.';
    const size_t digits = at + 7;
    size_t end = digits;
    while (end < name.size() && name[end] >= '0' && name[end] <= '9')
      ++end;
    if (boundary && end > digits && (end == name.size() || name[end] == '.'))
      found = name.substr(0, end);
  }
  return found;
}

} // namespace off
