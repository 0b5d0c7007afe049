// Element types the fused kernels take, as a plain enum the .cu files can see (no torch types).
#pragma once

#include <cstdint>

namespace gallop::kernels {

enum class ElementKind : int32_t { kFloat32 = 0, kBFloat16 = 1, kFloat16 = 2 };

}  // namespace gallop::kernels
