// Plain parameters of the adaLN modulation kernels (modulation.cu); no torch types.
#pragma once

#include <cstdint>

#include "kernels/common/element_type.h"
#include "kernels/common/fused_backend.h"

namespace gallop::kernels::mod {

// out = LN(x) rounded to x's type, then (in fp32) out * (1 + scale) + shift; with `affine`, the
// LayerNorm with weight (scale) and bias (shift) instead: fma(scale, (x - mean) * rstd, shift).
// Rows are tokens: row r belongs to batch sample r / len. The modulation vectors are fp32 with
// their own batch and row strides (row stride 0 when one vector serves every token).
struct LayerNormModulateParams {
  const void* x = nullptr;  // [rows, dim], row stride x_row_stride
  void* out = nullptr;      // [rows, dim], row stride out_row_stride
  const float* shift = nullptr;
  const float* scale = nullptr;
  int64_t rows = 0;
  int64_t len = 0;  // rows per batch sample
  int32_t dim = 0;
  int64_t x_row_stride = 0, out_row_stride = 0;
  int64_t shift_batch_stride = 0, shift_row_stride = 0;
  int64_t scale_batch_stride = 0, scale_row_stride = 0;
  float eps = 1e-6f;
  ElementKind x_type = ElementKind::kFloat32;
  ElementKind out_type = ElementKind::kFloat32;
  RowSchedule schedule = RowSchedule::kNarrow;
  int32_t affine = 0;
};

// out = x + y * gate, in fp32 (out is fp32; it may alias x when x is fp32).
struct GatedResidualParams {
  const void* x = nullptr;  // [rows, dim]
  const void* y = nullptr;  // [rows, dim]
  const float* gate = nullptr;
  float* out = nullptr;  // [rows, dim] fp32
  int64_t rows = 0;
  int64_t len = 0;
  int32_t dim = 0;
  int64_t x_row_stride = 0, y_row_stride = 0, out_row_stride = 0;
  int64_t gate_batch_stride = 0, gate_row_stride = 0;
  ElementKind x_type = ElementKind::kFloat32;
  ElementKind y_type = ElementKind::kBFloat16;
};

}  // namespace gallop::kernels::mod
