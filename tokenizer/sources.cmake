# Sources of gallop_tokenizer. generated_*.cpp come from tools/reference/gen_tokenizer_tables.py.
target_sources(gallop_tokenizer PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/tokenizer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/text_clean.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ftfy_fix.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mojibake.cpp
  ${CMAKE_CURRENT_LIST_DIR}/html_unescape.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unicode_text.cpp
  ${CMAKE_CURRENT_LIST_DIR}/generated_unicode_tables.cpp
  ${CMAKE_CURRENT_LIST_DIR}/generated_html_entities.cpp
  ${CMAKE_CURRENT_LIST_DIR}/generated_ftfy_entities.cpp
  ${CMAKE_CURRENT_LIST_DIR}/generated_ftfy_tables.cpp)
