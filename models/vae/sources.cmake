# sources of models/vae (the Wan2.1 3D causal VAE)
target_sources(gallop_models PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/config.cpp
  ${CMAKE_CURRENT_LIST_DIR}/encoder_decoder.cpp
  ${CMAKE_CURRENT_LIST_DIR}/layers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/name_map.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wan_vae.cpp)
