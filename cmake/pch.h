// Precompiled header: the torch includes every C++ target of gallop uses.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>
