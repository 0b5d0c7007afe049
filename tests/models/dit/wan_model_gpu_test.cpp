// WanModel on a CUDA GPU (skipped, and says so, without one):
//   * the tiny T2V / I2V / FLF2V goldens of wan_model_parity_test on the GPU: fp32 path within
//     1e-4 relative of the fp32 reference (TF32 switched off for cuBLAS and cuDNN, so that the
//     GPU computes in true fp32); bf16 path within 2 x the error of diffusers' bf16 run (CPU) +
//     1e-3 · max|reference|, with the attention backend `auto` (fused kernels where they apply,
//     head dim 32 falls back) and `reference`; pre-cast weights bit-identical to on-the-fly casts.
//   * the real T2V-1.3B shapes (head dim 128, 12 heads, 30 layers) with small random weights on a
//     16 x 1 x 30 x 52 latent (390 tokens): the bf16 run (official map, attention `auto`) is
//     finite and within 5e-2 relative of the fp32 run with `reference` attention. A gross-error
//     check (head layout, masking, NaN in the fused paths): the same model cut to 6 layers measured
//     5.4e-3 on the CPU, and the bf16 error grows with depth. The same check for every gallop
//     attention kernel the device runs (by name, so the whole-model plumbing is covered too).
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "models/dit/wan_model.h"
#include "tests/models/dit/dit_golden.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using gallop::models::dit::DitConfig;
using gallop::models::dit::ForwardOptions;
using gallop::models::dit::WanModel;

namespace {

// Restores the TF32 switches on scope exit.
class NoTf32 {
 public:
  NoTf32()
      : cublas_(at::globalContext().allowTF32CuBLAS()), cudnn_(at::globalContext().allowTF32CuDNN()) {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
  ~NoTf32() {
    at::globalContext().setAllowTF32CuBLAS(cublas_);
    at::globalContext().setAllowTF32CuDNN(cudnn_);
  }

 private:
  bool cublas_, cudnn_;
};

at::Tensor run_with(WanModel& model, const gallop::testing::dit::Inputs& in, at::ScalarType dtype,
                    const gallop::kernels::AttentionOptions& attention) {
  ForwardOptions options;
  options.compute_dtype = dtype;
  options.attention = attention;
  return model->forward(in.x, in.t, in.context, in.clip_fea, in.y, options).cpu();
}
at::Tensor run_with(WanModel& model, const gallop::testing::dit::Inputs& in, at::ScalarType dtype,
                    gallop::kernels::AttentionBackend backend) {
  gallop::kernels::AttentionOptions attention;
  attention.backend = backend;
  return run_with(model, in, dtype, attention);
}

}  // namespace

TEST(WanModelGpu, GoldensOnTheGpu) {
  GALLOP_SKIP_IF_NO_CUDA();
  using gallop::kernels::AttentionBackend;
  NoTf32 no_tf32;
  const at::Device cuda(at::kCUDA, 0);
  for (const auto& name : gallop::testing::dit::golden_names()) {
    const auto g = gallop::testing::dit::open_golden(name);
    auto model = gallop::testing::dit::load_model(g, cuda);
    auto model_bf16 = gallop::testing::dit::load_model(g, cuda);
    model_bf16->cast_weights(at::kBFloat16);
    for (const auto& c : g.cases) {
      SCOPED_TRACE(name + " / " + c);
      const auto in = gallop::testing::dit::load_inputs(g, c).to(cuda);
      const auto ref32 = g.file->tensor(c + ".out_fp32");
      const auto ref16 = g.file->tensor(c + ".out_bf16");
      const double atol = 1e-3 * ref32.abs().max().item<double>();
      const auto out32 = run_with(model, in, at::kFloat, AttentionBackend::Auto);
      EXPECT_REL_CLOSE(out32, ref32, 1e-4);
      for (auto backend : {AttentionBackend::Auto, AttentionBackend::Reference}) {
        const auto out16 = run_with(model, in, at::kBFloat16, backend);
        EXPECT_TRUE(gallop::testing::WithinBaselineError(out16, ref16, ref32, 2.0, atol))
            << gallop::kernels::attention_backend_name(backend);
        EXPECT_TRUE(gallop::testing::Identical(run_with(model_bf16, in, at::kBFloat16, backend), out16));
        std::cout << "[ measured ] gpu " << name << "/" << c << " attention "
                  << gallop::kernels::attention_backend_name(backend) << ": fp32 rel "
                  << gallop::testing::relative_error(out32, ref32) << ", bf16 rel "
                  << gallop::testing::relative_error(out16, ref32) << " (diffusers bf16 rel "
                  << gallop::testing::relative_error(ref16, ref32) << ")\n";
      }
    }
  }
}

TEST(WanModelGpu, RealT2V13BShapes) {
  GALLOP_SKIP_IF_NO_CUDA();
  NoTf32 no_tf32;
  const at::Device cuda(at::kCUDA, 0);
  const auto config = DitConfig::t2v_1_3b();
  WanModel model(config, at::TensorOptions().dtype(at::kFloat).device(cuda));
  {
    at::NoGradGuard no_grad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(/*seed=*/11);
    for (auto& p : model->named_parameters()) {
      // Norm weights near 1, modulation tables as the official init, everything else small.
      const auto& k = p.key();
      const bool norm = k.find("norm") != std::string::npos && k.find(".weight") != std::string::npos;
      auto v = at::randn(p.value().sizes(), gen);
      if (norm) v = 1.0 + 0.1 * v;
      else if (k.find("modulation") != std::string::npos) v = v / std::sqrt(static_cast<double>(config.dim));
      else v = 0.02 * v;
      p.value().copy_(v);
    }
  }
  gallop::testing::dit::Inputs in;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(/*seed=*/12);
  in.x = at::randn({1, 16, 1, 30, 52}, gen).to(cuda);
  in.t = at::tensor({999L}).to(cuda);
  in.context = gallop::models::dit::pad_text_context({at::randn({40, 4096}, gen)}).to(cuda);
  const auto ref = run_with(model, in, at::kFloat, gallop::kernels::AttentionBackend::Reference);
  const auto out = run_with(model, in, at::kBFloat16, gallop::kernels::AttentionBackend::Auto);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 16, 1, 30, 52}));
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  EXPECT_REL_CLOSE(out, ref, 5e-2);
  std::cout << "[ measured ] gpu T2V-1.3B shapes: bf16 vs fp32 rel " << gallop::testing::relative_error(out, ref)
            << "\n";
  // Every gallop attention kernel this device runs, in the whole model (head dim 128, 390 tokens).
  for (auto kernel : gallop::kernels::attn::kAllGallopKernels) {
    if (!gallop::kernels::gallop_kernel_available(kernel, at::kBFloat16, 128)) continue;
    const auto attention = gallop::kernels::parse_attention_options(gallop::kernels::gallop_kernel_name(kernel));
    SCOPED_TRACE(gallop::kernels::gallop_kernel_name(kernel));
    const auto got = run_with(model, in, at::kBFloat16, attention);
    EXPECT_TRUE(at::isfinite(got).all().item<bool>());
    EXPECT_REL_CLOSE(got, ref, 5e-2);
    std::cout << "[ measured ] gpu T2V-1.3B shapes, " << gallop::kernels::gallop_kernel_name(kernel)
              << ": bf16 vs fp32 rel " << gallop::testing::relative_error(got, ref) << "\n";
  }
}
