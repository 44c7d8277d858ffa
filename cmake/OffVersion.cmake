# Writes build/generated/OffBuildInfo.h on every build (only touching it when
# the content changes): version, git commit, build type, CUDA on/off.
set(OFF_BUILD_INFO_HEADER ${CMAKE_BINARY_DIR}/generated/OffBuildInfo.h)
if(OFF_ENABLE_CUDA)
  set(_off_cuda_flag 1)
else()
  set(_off_cuda_flag 0)
endif()
add_custom_target(off_build_info
  COMMAND ${CMAKE_COMMAND}
    -DSOURCE_DIR=${CMAKE_SOURCE_DIR}
    -DOUTPUT=${OFF_BUILD_INFO_HEADER}
    -DVERSION=${PROJECT_VERSION}
    -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DCUDA=${_off_cuda_flag}
    -P ${CMAKE_SOURCE_DIR}/cmake/WriteBuildInfo.cmake
  BYPRODUCTS ${OFF_BUILD_INFO_HEADER}
  COMMENT "Build info (version, commit)")
