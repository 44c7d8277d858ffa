# cmake -DPROFILE_DIR=<models/devices> -DOUTPUT=<file.inc> -P EmbedDeviceProfiles.cmake
# One `{"NAME", R"offjson(<json text>)offjson"},` line per NAME.json: the
# built-in profiles of DeviceProfile.cpp, so offc needs no source tree.
file(GLOB profiles ${PROFILE_DIR}/*.json)
list(SORT profiles)
set(text "// Generated from models/devices/*.json by EmbedDeviceProfiles.cmake; do not edit.\n")
foreach(profile ${profiles})
  get_filename_component(file ${profile} NAME)
  string(REGEX REPLACE "\\.json$" "" name "${file}")
  file(READ ${profile} body)
  string(FIND "${body}" ")offjson\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${profile} contains the raw-string delimiter )offjson\"")
  endif()
  string(APPEND text "{\"${name}\", R\"offjson(${body})offjson\"},\n")
endforeach()
file(WRITE ${OUTPUT} "${text}")
