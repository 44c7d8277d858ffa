# ctest script: runs the replay driver on the deliberately broken selftest
# target and requires what a real crash must produce: a non-zero exit, a
# report naming the input and how it was made, and the input saved.
#   cmake -DDRIVER=... -DCORPUS=... -DWORKDIR=... -P CheckReplayCatchesCrash.cmake
file(REMOVE ${WORKDIR}/crash-selftest.bin)
execute_process(
  COMMAND ${DRIVER} --mutations 2000 --crash-dir ${WORKDIR} ${CORPUS}
  RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "the replay driver exited 0 on a target that aborts:\n${out}${err}")
endif()
if(NOT err MATCHES "target 'selftest' crashed on (seed|mutation) ")
  message(FATAL_ERROR "no crash report naming the input:\n${err}")
endif()
if(NOT EXISTS ${WORKDIR}/crash-selftest.bin)
  message(FATAL_ERROR "the crashing input was not saved in ${WORKDIR}")
endif()
file(SIZE ${WORKDIR}/crash-selftest.bin size)
if(size GREATER_EQUAL 4)
  message(FATAL_ERROR "the saved input has ${size} bytes, not the crashing one (< 4)")
endif()
message(STATUS "replay driver caught the crash: ${err}")
