target_sources(gallop_kernels PRIVATE ${CMAKE_CURRENT_LIST_DIR}/attention.cpp)
