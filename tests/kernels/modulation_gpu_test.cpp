// GPU tests of the adaLN modulation kernels (kernels/modulation/modulation.cu).
//
// layer_norm_modulate: the kernel (FusedBackend::Cuda) is compared with the float64 evaluation of
// the formula without intermediate rounding; rule: max error <= 2 x the error of the ATen path in
// the official op order (the reference, same dtypes) + 2 x half an ulp of the output dtype x max
// |out|. The kernel may differ from ATen only through the LN reduction order; for a 16-bit x the
// test also bounds the share of elements that differ from the ATen path (a different rounding of
// LN(x) to bf16/fp16) at 2%. gated_residual: bit-identical to ATen (same two rounded operations),
// out of place and in place, for every dtype pair. Shapes: Wan widths 1536 and 5120, odd token
// counts, tiny and uneven widths, modulation per sample, broadcast [B, 1, C] and per token. The
// staged row schedule must give exactly the per-row schedule's output, also where each CTA walks
// many rows (20000 rows) and with per-token modulation over two samples; the narrow one (another
// reduction order) meets the per-row kernel's tolerance. layer_norm_affine (norm3, weight and bias)
// runs the same kernel and meets the same rule against ATen's LayerNorm.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/modulation/modulation.h"
#include "tests/kernels/gpu_test_util.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

namespace gallop::kernels {
namespace {

using ::gallop::testing::Identical;
using ::gallop::testing::WithinBaselineError;
namespace kt = ::gallop::kernels::gpu_test;

struct LnShape {
  int64_t b, l, c;
  int mod_kind;  // 0: [B, C], 1: [B, 1, C], 2: [B, L, C]
};

TEST(LayerNormModulateGpu, MatchesTheOfficialOpOrder) {
  GALLOP_SKIP_IF_NO_CUDA();
  const std::vector<LnShape> shapes = {{1, 1, 8, 0},     {2, 7, 64, 1},    {2, 33, 1536, 0}, {1, 1000, 1536, 1},
                                       {2, 17, 5120, 0}, {1, 5, 2056, 2},  {3, 9, 4096, 2},  {1, 3, 12288, 0},
                                       {1, 20000, 1536, 1}, {2, 4099, 1536, 2}, {1, 3001, 5120, 0}};
  const std::vector<std::pair<at::ScalarType, at::ScalarType>> types = {
      {at::kBFloat16, at::kFloat}, {at::kFloat, at::kFloat}, {at::kHalf, at::kFloat},
      {at::kBFloat16, at::kBFloat16}, {at::kFloat, at::kBFloat16}};
  uint64_t seed = 100;
  for (const auto& s : shapes) {
    for (const auto& [xt, ot] : types) {
      SCOPED_TRACE("B=" + std::to_string(s.b) + " L=" + std::to_string(s.l) + " C=" + std::to_string(s.c) +
                   " mod=" + std::to_string(s.mod_kind) + " x=" + c10::toString(xt) + " out=" + c10::toString(ot));
      const auto x = kt::cuda_randn({s.b, s.l, s.c}, at::kFloat, seed++, 2.0).add_(0.5).to(xt);
      std::vector<int64_t> mshape = s.mod_kind == 0 ? std::vector<int64_t>{s.b, s.c}
                                    : s.mod_kind == 1 ? std::vector<int64_t>{s.b, 1, s.c}
                                                      : std::vector<int64_t>{s.b, s.l, s.c};
      const auto shift = kt::cuda_randn(mshape, at::kFloat, seed++, 0.5);
      const auto scale = kt::cuda_randn(mshape, at::kFloat, seed++, 0.5);

      kt::poison_cuda_allocator(x.numel() * 4);
      const auto got = layer_norm_modulate(x, shift, scale, 1e-6, ot, FusedBackend::Cuda, RowSchedule::kPerRow);
      const auto aten = layer_norm_modulate_reference(x, shift, scale, 1e-6, ot);
      ASSERT_EQ(got.scalar_type(), ot);
      // The staged row schedule (resident grid, shared-memory ring) runs the same per-row code.
      kt::poison_cuda_allocator(x.numel() * 4);
      const auto staged = layer_norm_modulate(x, shift, scale, 1e-6, ot, FusedBackend::Cuda, RowSchedule::kStaged);
      EXPECT_TRUE(at::equal(staged, got)) << "staged schedule";
      // float64, no rounding anywhere.
      const auto xd = x.to(at::kDouble);
      const auto mean = xd.mean(-1, true);
      const auto var = (xd - mean).pow(2).mean(-1, true);
      const auto m3 = [](const at::Tensor& m) { return m.dim() == 2 ? m.unsqueeze(1) : m; };
      const auto exact = (xd - mean) * at::rsqrt(var + 1e-6) * (1 + m3(scale).to(at::kDouble)) +
                         m3(shift).to(at::kDouble);
      const double atol = 2.0 * kt::half_ulp(ot) * exact.abs().max().item<double>();
      // The narrow schedule (smaller CTAs, more groups per thread; the default) sums in another
      // order: the same tolerance as the per-row kernel.
      kt::poison_cuda_allocator(x.numel() * 4);
      const auto narrow = layer_norm_modulate(x, shift, scale, 1e-6, ot, FusedBackend::Cuda);
      // The warp schedule (one warp per row up to 256 groups) sums in yet another order.
      kt::poison_cuda_allocator(x.numel() * 4);
      const auto warp = layer_norm_modulate(x, shift, scale, 1e-6, ot, FusedBackend::Cuda, RowSchedule::kWarp);
      for (const auto& [label, out] :
           {std::pair{"per-row", got}, std::pair{"narrow", narrow}, std::pair{"warp", warp}}) {
        SCOPED_TRACE(label);
        EXPECT_TRUE(WithinBaselineError(out.to(at::kDouble), aten.to(at::kDouble), exact, 2.0, atol));
        if (xt != at::kFloat) {
          const double differ = out.ne(aten).to(at::kDouble).mean().item<double>();
          EXPECT_LE(differ, 0.02) << "share of elements that differ from the ATen path";
        }
      }
    }
  }
}

// layer_norm_affine (the block's norm3) through the same kernel: the tolerance rule above against
// float64 and ATen's nn.LayerNorm path, fp32 x (the residual stream) and bf16 x, fp32 and bf16
// outputs, per-row, narrow and warp schedules; the staged schedule gives the per-row bits.
TEST(LayerNormAffineGpu, MatchesAtenLayerNorm) {
  GALLOP_SKIP_IF_NO_CUDA();
  const std::vector<std::vector<int64_t>> shapes = {{1, 32760, 1536}, {2, 33, 5120}, {1, 7, 72}};
  uint64_t seed = 400;
  for (const auto& shape : shapes) {
    for (auto [xt, ot] : {std::pair{at::kFloat, at::kBFloat16}, std::pair{at::kFloat, at::kFloat},
                          std::pair{at::kBFloat16, at::kBFloat16}}) {
      SCOPED_TRACE("C=" + std::to_string(shape[2]) + " L=" + std::to_string(shape[1]) + " x=" + c10::toString(xt) +
                   " out=" + c10::toString(ot));
      const auto x = kt::cuda_randn(shape, at::kFloat, seed++, 2.0).add_(0.5).to(xt);
      const auto w = kt::cuda_randn({shape[2]}, at::kFloat, seed++, 0.3).add_(1.0);
      const auto b = kt::cuda_randn({shape[2]}, at::kFloat, seed++, 0.3);
      const auto aten = layer_norm_affine_reference(x, w, b, 1e-6, ot);
      const auto xd = x.to(at::kDouble);
      const auto mean = xd.mean(-1, true);
      const auto exact = (xd - mean) * at::rsqrt((xd - mean).pow(2).mean(-1, true) + 1e-6) * w.to(at::kDouble) +
                         b.to(at::kDouble);
      const double atol = 2.0 * kt::half_ulp(ot) * exact.abs().max().item<double>();
      at::Tensor per_row;
      for (auto schedule : {RowSchedule::kPerRow, RowSchedule::kNarrow, RowSchedule::kWarp, RowSchedule::kStaged}) {
        SCOPED_TRACE("schedule=" + std::to_string(static_cast<int>(schedule)));
        kt::poison_cuda_allocator(x.numel() * 4);
        const auto got = layer_norm_affine(x, w, b, 1e-6, ot, FusedBackend::Cuda, schedule);
        ASSERT_EQ(got.scalar_type(), ot);
        ASSERT_EQ(got.sizes(), x.sizes());
        EXPECT_TRUE(WithinBaselineError(got.to(at::kDouble), aten.to(at::kDouble), exact, 2.0, atol));
        if (ot != at::kFloat) {
          const double differ = got.ne(aten).to(at::kDouble).mean().item<double>();
          EXPECT_LE(differ, 0.02) << "share of elements that differ from the ATen path";
        }
        if (schedule == RowSchedule::kPerRow) per_row = got;
        if (schedule == RowSchedule::kStaged) {
          EXPECT_TRUE(at::equal(got, per_row)) << "staged schedule";
        }
      }
    }
  }
}

TEST(LayerNormModulateGpu, FallsBackOnUnalignedRows) {
  GALLOP_SKIP_IF_NO_CUDA();
  const auto x = kt::cuda_randn({2, 5, 60}, at::kBFloat16, 7);  // 60 % 8 != 0
  const auto m = kt::cuda_randn({2, 60}, at::kFloat, 8);
  EXPECT_THROW(layer_norm_modulate(x, m, m, 1e-6, std::nullopt, FusedBackend::Cuda), std::invalid_argument);
  EXPECT_TRUE(Identical(layer_norm_modulate(x, m, m), layer_norm_modulate_reference(x, m, m)));
}

TEST(GatedResidualGpu, BitIdenticalToAten) {
  GALLOP_SKIP_IF_NO_CUDA();
  const std::vector<std::vector<int64_t>> shapes = {{1, 1, 8}, {2, 33, 1536}, {1, 1001, 5120}, {2, 7, 72}};
  uint64_t seed = 300;
  for (const auto& shape : shapes) {
    for (auto xt : {at::kFloat, at::kBFloat16}) {
      for (auto yt : {at::kBFloat16, at::kHalf, at::kFloat}) {
        for (bool per_token : {false, true}) {
          SCOPED_TRACE(std::string("x=") + c10::toString(xt) + " y=" + c10::toString(yt) +
                       " C=" + std::to_string(shape[2]) + (per_token ? " per-token gate" : ""));
          const auto x = kt::cuda_randn(shape, at::kFloat, seed++).to(xt);
          const auto y = kt::cuda_randn(shape, at::kFloat, seed++).to(yt);
          const auto gate = per_token ? kt::cuda_randn(shape, at::kFloat, seed++)
                                      : kt::cuda_randn({shape[0], 1, shape[2]}, at::kFloat, seed++);
          const auto expected = gated_residual_reference(x, y, gate);
          kt::poison_cuda_allocator(x.numel() * 4);
          EXPECT_TRUE(Identical(gated_residual(x, y, gate, FusedBackend::Cuda), expected));
          if (xt == at::kFloat) {
            auto inplace = x.clone();
            gated_residual_(inplace, y, gate, FusedBackend::Cuda);
            EXPECT_TRUE(Identical(inplace, expected));
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace gallop::kernels
