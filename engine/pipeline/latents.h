// The pieces of a generation that are plain tensor bookkeeping: the seeded initial noise, the
// classifier-free guidance combination, and the conversion of decoded video to uint8 frames, each
// exactly as the official Wan2.1 code does it.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace gallop::engine {

// torch.randn(shape, dtype=float32, device=device, generator=torch.Generator(device).manual_seed(seed))
// — the same numbers as the Python reference for the same seed and device (CPU: mt19937-based CPU
// generator; CUDA: Philox), so that outputs can be compared with it.
at::Tensor initial_noise(at::IntArrayRef shape, uint64_t seed, const at::Device& device);

// v = v_uncond + g·(v_cond − v_uncond), in fp32 (spec §6.2).
at::Tensor classifier_free_guidance(const at::Tensor& v_cond, const at::Tensor& v_uncond, double guidance);

// Decoded video [3, F, H, W] (or [1, 3, F, H, W]) in [-1, 1] -> frames [F, H, W, 3] uint8 on the CPU,
// as the official cache_video: clamp to [-1, 1], (x + 1) / 2, × 255, truncate (not round).
at::Tensor video_to_uint8_frames(const at::Tensor& video);

}  // namespace gallop::engine
