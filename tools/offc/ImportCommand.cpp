// offc import: a model (ONNX file or the built-in Llama) to graph-level off IR.

#include "tools/offc/Commands.h"

#include <cstdio>

namespace off::offc {

int runImport(const std::vector<std::string> &) {
  std::fprintf(stderr, "offc import: not implemented yet (it arrives with issue "
                       "[B]); nothing was done\n");
  return 2;
}

} // namespace off::offc
