// adaLN modulation steps of the Wan block (spec §2.6): LayerNorm without affine + modulation,
// and the gated residual add. Each has an ATen reference in the official op order and a
// dispatcher that uses the fused CUDA kernel when it applies (CUDA tensors, supported dtypes,
// 16-byte-aligned rows) and the reference otherwise.
#pragma once

#include <ATen/ATen.h>

#include <optional>

#include "kernels/common/fused_backend.h"

namespace gallop::kernels {

// h = LayerNorm(x) without affine (eps, computed in fp32, rounded back to x's dtype), then in fp32
// h * (1 + scale) + shift. x [B, L, C] (fp32, bf16 or fp16); shift and scale fp32, [B, C],
// [B, 1, C] or [B, L, C]. Result [B, L, C] in out_dtype (default fp32, as the official code; bf16
// fuses the cast that the next Linear's autocast would do, with identical values). `schedule`:
// how the CUDA kernel spreads rows over CTAs (fused_backend.h). Narrow by default: on an H200
// (2026-11-26) it moved 79.8-83.4% of peak bandwidth at the 1.3B width (1536) where one CTA of up
// to 512 threads per row moved 57.0-74.5%, and within 0.4 points of it at the 14B width (5120).
at::Tensor layer_norm_modulate(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale,
                               double eps = 1e-6, std::optional<at::ScalarType> out_dtype = std::nullopt,
                               FusedBackend backend = FusedBackend::Auto,
                               RowSchedule schedule = RowSchedule::kNarrow);
at::Tensor layer_norm_modulate_reference(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale,
                                         double eps = 1e-6, std::optional<at::ScalarType> out_dtype = std::nullopt);

// LayerNorm with weight and bias (nn.LayerNorm with elementwise_affine, the block's norm3): in fp32,
// weight · ((x − mean) · rstd) + bias as one fma (the formula of ATen's CUDA kernel, contracted),
// then out_dtype (default fp32; bf16 fuses the cast of the next Linear's autocast). x [B, L, C]
// (fp32, bf16 or fp16), weight and bias [C] (any float dtype; used in fp32). Differs from ATen only
// by the reduction order of mean and variance. The CUDA path is layer_norm_modulate's kernel.
at::Tensor layer_norm_affine(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                             double eps = 1e-6, std::optional<at::ScalarType> out_dtype = std::nullopt,
                             FusedBackend backend = FusedBackend::Auto, RowSchedule schedule = RowSchedule::kNarrow);
at::Tensor layer_norm_affine_reference(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                       double eps = 1e-6, std::optional<at::ScalarType> out_dtype = std::nullopt);

// x + y * gate in fp32 (the product rounded, then the add, as ATen does it): x [B, L, C] fp32 or
// 16-bit, y [B, L, C] any float dtype, gate fp32 [B, C], [B, 1, C] or [B, L, C]. Returns fp32.
at::Tensor gated_residual(const at::Tensor& x, const at::Tensor& y, const at::Tensor& gate,
                          FusedBackend backend = FusedBackend::Auto);
// In place: x (fp32) += y * gate.
void gated_residual_(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, FusedBackend backend = FusedBackend::Auto);
at::Tensor gated_residual_reference(const at::Tensor& x, const at::Tensor& y, const at::Tensor& gate);

}  // namespace gallop::kernels
