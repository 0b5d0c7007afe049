# Third-party dependencies. Nothing here is vendored: each comes from the PyPI torch wheel or a
# Debian -dev package (tools/setup.sh installs them).
#
# A machine without those packages (the GPU machine that tools/gpu/check.sh runs on has no network)
# can point GALLOP_DEPS_DIR at the folder tools/gpu/pack_deps.sh fills from this machine's packages:
# googletest/ (sources, built here), include/nlohmann/ and include/CLI/ (headers). They are used
# only for the packages that find_package does not find.
set(GALLOP_DEPS_DIR "" CACHE PATH "Fallback dependencies made by tools/gpu/pack_deps.sh")

# ---- LibTorch (from the PyPI torch wheel) -----------------------------------------------------
if(NOT Torch_DIR)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  # Ask for the path without importing torch (importing loads every CUDA library).
  execute_process(
    COMMAND ${Python3_EXECUTABLE} -c
      "import importlib.util, os; s = importlib.util.find_spec('torch'); print(os.path.join(os.path.dirname(s.origin), 'share', 'cmake') if s else '')"
    OUTPUT_VARIABLE _torch_cmake OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _torch_cmake)
    message(FATAL_ERROR "torch is not installed for ${Python3_EXECUTABLE}; run tools/setup.sh "
                        "(or pass -DTorch_DIR=<site-packages>/torch/share/cmake/Torch)")
  endif()
  list(APPEND CMAKE_PREFIX_PATH ${_torch_cmake})
endif()
set(_saved_cuda_flags "${CMAKE_CUDA_FLAGS}")
find_package(Torch REQUIRED)
set(CMAKE_CUDA_FLAGS "${_saved_cuda_flags}")   # see GallopCuda.cmake
set(GALLOP_TORCH_VERSION "${Torch_VERSION}")
if(NOT GALLOP_TORCH_VERSION)
  file(READ "${TORCH_INSTALL_PREFIX}/version.py" _tv)
  string(REGEX MATCH "__version__ = '([^']+)'" _m "${_tv}")
  set(GALLOP_TORCH_VERSION "${CMAKE_MATCH_1}")
endif()
message(STATUS "gallop: LibTorch ${GALLOP_TORCH_VERSION} at ${TORCH_INSTALL_PREFIX}")

# gallop::torch: torch's headers as SYSTEM includes (their warnings are not ours) + libraries.
add_library(gallop_torch INTERFACE)
add_library(gallop::torch ALIAS gallop_torch)
target_include_directories(gallop_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_compile_options(gallop_torch INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${TORCH_CXX_FLAGS}>)
# The wheel's libtorch.so and libtorch_cpu.so export their own statically linked copies of
# std::filesystem, which crash when our code's calls bind to them. Listing libstdc++ before them
# makes the dynamic linker resolve those symbols to the system library first.
target_link_libraries(gallop_torch INTERFACE "-Wl,--push-state,--no-as-needed" -lstdc++ "-Wl,--pop-state")
if(GALLOP_HAVE_CUDA)
  target_link_libraries(gallop_torch INTERFACE ${TORCH_LIBRARIES})
  # torch_cuda registers the CUDA hooks from a static initializer; a linker that drops
  # "unneeded" libraries (Ubuntu's default --as-needed) would silently make CUDA invisible.
  target_link_options(gallop_torch INTERFACE "LINKER:--no-as-needed")
else()
  target_link_libraries(gallop_torch INTERFACE torch_cpu c10)
endif()
# The wheel's libraries find their own CUDA dependencies through RPATH; keep ours pointing at them.
set(CMAKE_BUILD_RPATH "${TORCH_INSTALL_PREFIX}/lib")
set(CMAKE_INSTALL_RPATH "${TORCH_INSTALL_PREFIX}/lib")

# ---- cuDNN (with the CUDA build; torch's wheel carries the runtime library) -------------------
set(GALLOP_CUDNN_VERSION "")
if(GALLOP_HAVE_CUDA)
  find_path(CUDNN_INCLUDE_DIR cudnn_version.h
    HINTS ${CUDAToolkit_INCLUDE_DIRS} ${TORCH_INSTALL_PREFIX}/../nvidia/cudnn/include
    PATH_SUFFIXES include)
  if(CUDNN_INCLUDE_DIR)
    file(READ "${CUDNN_INCLUDE_DIR}/cudnn_version.h" _cv)
    string(REGEX MATCH "define CUDNN_MAJOR ([0-9]+)" _m "${_cv}")
    set(_cmaj ${CMAKE_MATCH_1})
    string(REGEX MATCH "define CUDNN_MINOR ([0-9]+)" _m "${_cv}")
    set(_cmin ${CMAKE_MATCH_1})
    string(REGEX MATCH "define CUDNN_PATCHLEVEL ([0-9]+)" _m "${_cv}")
    set(GALLOP_CUDNN_VERSION "${_cmaj}.${_cmin}.${CMAKE_MATCH_1}")
  endif()
endif()

# ---- Debian packages ----------------------------------------------------------------------------
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(SENTENCEPIECE IMPORTED_TARGET sentencepiece)
endif()
if(NOT TARGET PkgConfig::SENTENCEPIECE)
  # No pkg-config (or no .pc file): the library and header where a plain install puts them.
  find_path(SENTENCEPIECE_INCLUDE_DIR sentencepiece_processor.h)
  find_library(SENTENCEPIECE_LIBRARY sentencepiece)
  if(NOT SENTENCEPIECE_INCLUDE_DIR OR NOT SENTENCEPIECE_LIBRARY)
    message(FATAL_ERROR "SentencePiece (library and sentencepiece_processor.h) not found; install libsentencepiece-dev")
  endif()
  add_library(PkgConfig::SENTENCEPIECE INTERFACE IMPORTED)
  set_target_properties(PkgConfig::SENTENCEPIECE PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${SENTENCEPIECE_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${SENTENCEPIECE_LIBRARY}")
endif()
# FFmpeg is optional so that a GPU machine without it can still build kernels and tests;
# without it, video/image I/O throws a clear "built without FFmpeg" error.
set(FFMPEG_FOUND FALSE)
if(PkgConfig_FOUND)
  pkg_check_modules(FFMPEG IMPORTED_TARGET libavformat libavcodec libavutil libswscale)
endif()
set(GALLOP_HAVE_FFMPEG ${FFMPEG_FOUND})
set(GALLOP_X264_BUILD "")
if(GALLOP_HAVE_FFMPEG)
  find_path(X264_INCLUDE_DIR x264.h)
  if(X264_INCLUDE_DIR)
    file(STRINGS "${X264_INCLUDE_DIR}/x264.h" _xb REGEX "^#define X264_BUILD")
    string(REGEX MATCH "[0-9]+" GALLOP_X264_BUILD "${_xb}")
  endif()
else()
  message(WARNING "gallop: FFmpeg (libavformat/libavcodec/libavutil/libswscale) not found; "
                  "MP4 and image I/O are disabled in this build")
endif()
# Header-only packages: the installed package, else GALLOP_DEPS_DIR/include.
function(gallop_header_fallback target header what)
  if(GALLOP_DEPS_DIR AND EXISTS "${GALLOP_DEPS_DIR}/include/${header}")
    add_library(${target} INTERFACE IMPORTED)
    set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${GALLOP_DEPS_DIR}/include")
    message(STATUS "gallop: ${what} from ${GALLOP_DEPS_DIR}/include")
  else()
    message(FATAL_ERROR "${what} not found: install it (tools/setup.sh) or pass -DGALLOP_DEPS_DIR=<tools/gpu/pack_deps.sh output>")
  endif()
endfunction()
find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  gallop_header_fallback(nlohmann_json::nlohmann_json nlohmann/json.hpp "nlohmann-json")
endif()
find_package(CLI11 QUIET)
if(NOT CLI11_FOUND)
  gallop_header_fallback(CLI11::CLI11 CLI/CLI.hpp "CLI11")
endif()
if(GALLOP_BUILD_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND)
    if(GALLOP_DEPS_DIR AND EXISTS "${GALLOP_DEPS_DIR}/googletest/CMakeLists.txt")
      set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
      set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
      add_subdirectory("${GALLOP_DEPS_DIR}/googletest" "${CMAKE_BINARY_DIR}/_deps/googletest" EXCLUDE_FROM_ALL)
      # Its own -Werror must not turn a newer compiler's new warnings into a failed build.
      target_compile_options(gtest PRIVATE -Wno-error)
      target_compile_options(gtest_main PRIVATE -Wno-error)
      if(NOT TARGET GTest::gtest)  # GoogleTest >= 1.11 defines these itself
        add_library(GTest::gtest ALIAS gtest)
        add_library(GTest::gtest_main ALIAS gtest_main)
      endif()
      message(STATUS "gallop: GoogleTest built from ${GALLOP_DEPS_DIR}/googletest")
    else()
      message(FATAL_ERROR "GoogleTest not found: install libgtest-dev or pass -DGALLOP_DEPS_DIR=<tools/gpu/pack_deps.sh output>")
    endif()
  endif()
endif()
