target_sources(gallop_tokenizer PRIVATE ${CMAKE_CURRENT_LIST_DIR}/tokenizer_anchor.cpp)
