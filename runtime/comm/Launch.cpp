// launchedByMpi: the environment MPI launchers give each rank.

#include "runtime/comm/Communicator.h"

#include <cstdlib>

namespace off::comm {

bool launchedByMpi() {
  for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(name))
      return true;
  return false;
}

} // namespace off::comm
