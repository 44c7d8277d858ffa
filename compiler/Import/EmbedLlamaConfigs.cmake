# cmake -DCONFIG_DIR=<models/llama> -DOUTPUT=<file.inc> -P EmbedLlamaConfigs.cmake
# Writes one `{"NAME", R"offjson(<json text>)offjson"},` line per NAME.json,
# the initialiser list of LlamaConfig.cpp's built-in sizes.
file(GLOB configs ${CONFIG_DIR}/*.json)
list(SORT configs)
set(text "// Generated from models/llama/*.json by EmbedLlamaConfigs.cmake; do not edit.\n")
foreach(config ${configs})
  # Not NAME_WE: it stops at the first dot (llama3.1-8b).
  get_filename_component(file ${config} NAME)
  string(REGEX REPLACE "\\.json$" "" name "${file}")
  file(READ ${config} body)
  string(FIND "${body}" ")offjson\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${config} contains the raw-string delimiter )offjson\"")
  endif()
  string(APPEND text "{\"${name}\", R\"offjson(${body})offjson\"},\n")
endforeach()
file(WRITE ${OUTPUT} "${text}")
