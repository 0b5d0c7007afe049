# sources of engine/sampling: flow-matching schedulers (UniPC, DPM++, Euler) and their sigma grids
target_sources(gallop_engine PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/scheduler.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sigma_schedule.cpp
  ${CMAKE_CURRENT_LIST_DIR}/unipc.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dpmpp.cpp
  ${CMAKE_CURRENT_LIST_DIR}/euler.cpp
)
# The grids repeat numpy's float64 arithmetic: no a*b+c fused into an FMA (GCC contracts by default
# in C++ wherever the target has FMA, e.g. aarch64). The file needs no torch headers, so it skips
# the shared precompiled header, which was built without this flag.
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/sigma_schedule.cpp PROPERTIES
  COMPILE_OPTIONS "-ffp-contract=off"
  SKIP_PRECOMPILE_HEADERS ON)
