# CUDA: decide whether the kernels are built, and for which architectures.
#
# GALLOP_CUDA=AUTO builds them when an nvcc is found. The kernels' .cu files see only plain
# structs (no torch headers), so their flags are ours alone: torch's CMake appends its own
# -gencode list to CMAKE_CUDA_FLAGS, which GallopDeps.cmake undoes right after find_package(Torch).
include(CheckLanguage)
set(GALLOP_HAVE_CUDA OFF)
if(NOT GALLOP_CUDA STREQUAL "OFF")
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_ARCHITECTURES OFF)   # we pass -gencode per source ourselves
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(GALLOP_HAVE_CUDA ON)
  elseif(GALLOP_CUDA STREQUAL "ON")
    message(FATAL_ERROR "GALLOP_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
endif()

# torch's CMake reads TORCH_CUDA_ARCH_LIST ("8.0;9.0a"); derive it from our list so that it
# does not probe for a GPU at configure time.
set(_torch_archs "")
foreach(_a IN LISTS GALLOP_CUDA_ARCHS)
  string(REGEX REPLACE "^([0-9]+)([0-9])(a?)$" "\\1.\\2\\3" _ta "${_a}")
  list(APPEND _torch_archs "${_ta}")
endforeach()
set(ENV{TORCH_CUDA_ARCH_LIST} "${_torch_archs}")

# gallop_cuda_gencode(OUT ARCHS...) -> "-gencode=arch=compute_90a,code=sm_90a;..."
function(gallop_cuda_gencode out)
  set(flags "")
  foreach(a IN LISTS ARGN)
    list(APPEND flags "-gencode=arch=compute_${a},code=sm_${a}")
  endforeach()
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()

# gallop_cuda_sources(SRCS ... ARCHS ...): compile the given .cu files for the intersection of
# ARCHS with GALLOP_CUDA_ARCHS. Sets GALLOP_CUDA_SOURCES_BUILT in the caller to what is compiled
# (empty when no requested arch applies: the family then falls back to its reference).
function(gallop_cuda_sources)
  cmake_parse_arguments(A "" "" "SRCS;ARCHS" ${ARGN})
  set(archs "")
  foreach(a IN LISTS A_ARCHS)
    if(a IN_LIST GALLOP_CUDA_ARCHS)
      list(APPEND archs ${a})
    endif()
  endforeach()
  if(archs)
    gallop_cuda_gencode(flags ${archs})
    set_source_files_properties(${A_SRCS} PROPERTIES COMPILE_OPTIONS "${flags}")
    set(GALLOP_CUDA_SOURCES_BUILT ${A_SRCS} PARENT_SCOPE)
  else()
    set(GALLOP_CUDA_SOURCES_BUILT "" PARENT_SCOPE)
  endif()
endfunction()
