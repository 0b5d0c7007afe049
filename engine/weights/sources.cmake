# engine/weights: checkpoint I/O (safetensors, sharded indexes, .pth state dicts), the uniform
# tensor source, checkpoint layout detection and loading into modules.
target_sources(gallop_engine PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/mapped_file.cpp
  ${CMAKE_CURRENT_LIST_DIR}/safetensors_header.cpp
  ${CMAKE_CURRENT_LIST_DIR}/safetensors.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sharded_safetensors.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pickle_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/pth.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tensor_source.cpp
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint.cpp
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint_keys.cpp
  ${CMAKE_CURRENT_LIST_DIR}/loader.cpp
)
