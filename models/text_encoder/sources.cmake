# sources of models/text_encoder: the umT5-XXL encoder (config, key renaming, position buckets, module)
target_sources(gallop_models PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/config.cpp
  ${CMAKE_CURRENT_LIST_DIR}/name_map.cpp
  ${CMAKE_CURRENT_LIST_DIR}/position_bucket.cpp
  ${CMAKE_CURRENT_LIST_DIR}/umt5.cpp
)
