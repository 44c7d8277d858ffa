// Builds without MPI (find_package(MPI) failed): the transport says so.

#include "runtime/comm/Communicator.h"

namespace off::comm {

bool haveMpi() { return false; }

std::unique_ptr<Communicator> createMpiCommunicator(const CommOptions &) {
  throw CommError("this offrt was built without MPI (install libopenmpi-dev and rebuild) "
                  "and cannot run several ranks");
}

} // namespace off::comm
