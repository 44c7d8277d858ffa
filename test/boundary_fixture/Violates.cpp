// Fixture of the backend_boundary_catches_an_include test: a source that
// includes a backend's header, which test/CheckBackendBoundary.cmake must
// report. Not compiled.
#include "runtime/cpu/CpuBackend.h"
