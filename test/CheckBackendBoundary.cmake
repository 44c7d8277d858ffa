# The executor and the plan loader see backends only through
# runtime/backend: fails when a source under one of DIRS (;-separated)
# includes a header of a backend folder (runtime/cpu, runtime/cuda), or when
# one of LINKS (the direct link libraries of their targets) is a backend's
# library (off_cpu, off_cuda's kernels come through off_backend_list only).
foreach(dir ${DIRS})
  file(GLOB_RECURSE sources "${dir}/*.h" "${dir}/*.cpp" "${dir}/*.cu")
  if(NOT sources)
    list(APPEND problems "no sources under ${dir} (wrong folder?)")
  endif()
  foreach(source ${sources})
    file(STRINGS "${source}" hits REGEX "#[ \t]*include[ \t]*[<\"]runtime/(cpu|cuda)/")
    if(hits)
      list(APPEND problems "${source}: ${hits}")
    endif()
  endforeach()
endforeach()
foreach(lib ${LINKS})
  if(lib MATCHES "^(off_cpu|off_backend_list)$")
    list(APPEND problems "links ${lib}")
  endif()
endforeach()
if(problems)
  list(JOIN problems "\n  " text)
  message(FATAL_ERROR "the backend boundary is crossed (runtime/exec and runtime/train "
                      "must use runtime/backend only):\n  ${text}")
endif()
message(STATUS "no backend header or library in: ${DIRS}")
