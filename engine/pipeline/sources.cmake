target_sources(gallop_engine PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/request.cpp
  ${CMAKE_CURRENT_LIST_DIR}/decode.cpp
  ${CMAKE_CURRENT_LIST_DIR}/latents.cpp
  ${CMAKE_CURRENT_LIST_DIR}/model_source.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tiny_model.cpp
  ${CMAKE_CURRENT_LIST_DIR}/text_to_video.cpp
)
# The tiny model's SentencePiece model, built into the program (`--model tiny` needs no files).
set(_spiece_cpp ${CMAKE_BINARY_DIR}/generated/embedded_tiny_spiece.cpp)
add_custom_command(OUTPUT ${_spiece_cpp}
  COMMAND ${CMAKE_COMMAND} -DINPUT=${PROJECT_SOURCE_DIR}/tokenizer/assets/tiny_spiece.model
          -DOUTPUT=${_spiece_cpp} -DSYMBOL=tiny_spiece_model -P ${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake
  DEPENDS ${PROJECT_SOURCE_DIR}/tokenizer/assets/tiny_spiece.model ${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake
  COMMENT "Embedding the tiny SentencePiece model")
target_sources(gallop_engine PRIVATE ${_spiece_cpp})
set_source_files_properties(${_spiece_cpp} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
