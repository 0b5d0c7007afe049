#include "engine/pipeline/latents.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include "engine/core/error.h"

namespace gallop::engine {

at::Tensor initial_noise(at::IntArrayRef shape, uint64_t seed, const at::Device& device) {
  at::Generator gen;
  if (device.is_cuda()) {
    // A fresh generator for the run's device, seeded like torch.Generator(device='cuda').manual_seed(seed).
    gen = at::globalContext().defaultGenerator(device).clone();
  } else {
    gen = at::make_generator<at::CPUGeneratorImpl>();
  }
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
  return at::randn(shape, gen, at::TensorOptions().dtype(at::kFloat).device(device));
}

at::Tensor classifier_free_guidance(const at::Tensor& v_cond, const at::Tensor& v_uncond, double guidance) {
  // Same op order as the reference: uncond + g * (cond - uncond), each op rounded in fp32.
  return v_uncond + guidance * (v_cond - v_uncond);
}

at::Tensor video_to_uint8_frames(const at::Tensor& video) {
  at::Tensor v = video;
  if (v.dim() == 5) {
    GALLOP_CHECK(v.size(0) == 1, InvalidArgument, "video_to_uint8_frames: expected one video, got a batch of ",
                 v.size(0));
    v = v[0];
  }
  GALLOP_CHECK(v.dim() == 4 && v.size(0) == 3, InvalidArgument, "video_to_uint8_frames: expected [3, F, H, W], got ",
               v.sizes());
  v = v.to(at::kFloat).clamp(-1.0, 1.0);
  // torchvision make_grid(normalize=True, value_range=(-1, 1)): (x - low) / (high - low).
  v = v.sub(-1.0).div(2.0);
  v = v.mul(255.0).to(at::kByte);  // truncation toward zero, as `.type(torch.uint8)`
  return v.permute({1, 2, 3, 0}).contiguous().cpu();  // [F, H, W, 3]
}

}  // namespace gallop::engine
