# engine/io: MP4 / PNG writers and image / video readers over FFmpeg. Every file compiles without
# FFmpeg too (GALLOP_HAVE_FFMPEG undefined); the public functions then throw Unsupported.
target_sources(gallop_engine PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/ffmpeg_support.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_header.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_writer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/media_decoder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/media_types.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rgb_converter.cpp
  ${CMAKE_CURRENT_LIST_DIR}/video_reader.cpp
  ${CMAKE_CURRENT_LIST_DIR}/video_writer.cpp
)
