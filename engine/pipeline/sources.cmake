target_sources(gallop_engine PRIVATE ${CMAKE_CURRENT_LIST_DIR}/request.cpp ${CMAKE_CURRENT_LIST_DIR}/latents.cpp)
