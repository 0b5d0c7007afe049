# adaLN modulation (LayerNorm + modulation, gated residual): dispatcher + ATen reference always,
# the fused CUDA kernels when the build has CUDA (plain CUDA, built for every requested arch).
target_sources(gallop_kernels PRIVATE ${CMAKE_CURRENT_LIST_DIR}/modulation.cpp)
if(GALLOP_HAVE_CUDA)
  gallop_cuda_sources(SRCS ${CMAKE_CURRENT_LIST_DIR}/modulation.cu ARCHS 80 90a)
  if(GALLOP_CUDA_SOURCES_BUILT)
    target_sources(gallop_kernels PRIVATE ${GALLOP_CUDA_SOURCES_BUILT})
  else()
    # No arch of ours applies: the dispatcher must not reference the launchers.
    message(FATAL_ERROR "kernels/modulation: GALLOP_CUDA_ARCHS (${GALLOP_CUDA_ARCHS}) has neither 80 nor 90a")
  endif()
endif()
