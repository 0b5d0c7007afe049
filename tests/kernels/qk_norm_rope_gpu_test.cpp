// GPU tests of the fused q/k RMSNorm + 3-D RoPE kernel (kernels/qk_norm_rope/qk_norm_rope.cu).
//
// The kernel (FusedBackend::Cuda) is compared with the float64 evaluation of the formula without
// intermediate rounding (normalize, weight, rotate, all in float64); rule: max error <= 2 x the
// error of the ATen path in the official op order (the reference: fp32 normalize, round to the
// input dtype, fp32 weight, complex128 rotation, fp32, output dtype) + 2 x half an ulp of the
// output dtype x max |out|. For a 16-bit output the share of elements that differ from the ATen path
// (the RMS reduction order can move a rounding) must stay under 2%. Shapes: Wan 1.3B and 14B
// widths (12 x 128, 40 x 128), head dim 64, per-sample grids with padding tokens, bf16 and fp32
// inputs, bf16, fp16 and fp32 outputs. The paired kernel variant and the staged row schedule (each CTA
// walks many rows through a shared-memory ring: 32760 rows on a grid of a few hundred CTAs) must
// give exactly the same outputs; the narrow schedule (another reduction order), per-tensor and
// paired, meets the same tolerance as the per-row kernel. A bf16 or fp16 output is rotated in fp32
// wherever the bracket of rope_rotate.h decides it, an fp32 output always in float64: for every
// kernel and schedule the 16-bit output must equal the same call's fp32 output cast to 16 bits,
// bit for bit.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/qk_norm_rope/qk_norm_rope.h"
#include "tests/kernels/gpu_test_util.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

namespace gallop::kernels {
namespace {

using ::gallop::testing::WithinBaselineError;
namespace kt = ::gallop::kernels::gpu_test;

// float64 reference without rounding: x [B, L, dim] -> [B, L, heads, hd].
at::Tensor exact_norm_rope(const at::Tensor& x, const at::Tensor& w, const at::Tensor& freqs,
                           const std::vector<RopeGrid>& grids, int64_t heads) {
  auto xd = x.to(at::kDouble);
  auto n = xd * at::rsqrt(xd.pow(2).mean(-1, true) + 1e-6) * w.to(at::kDouble);  // [B, L, dim]
  const int64_t hd = x.size(2) / heads;
  auto h = n.view({x.size(0), x.size(1), heads, hd / 2, 2});
  auto re = h.select(4, 0), im = h.select(4, 1);
  auto table = at::view_as_real(freqs.to(x.device()));  // [P, hd/2, 2]
  const int64_t ct = hd / 2 - 2 * (hd / 2 / 3), ch = hd / 2 / 3;
  auto out = h.clone();
  for (int64_t b = 0; b < x.size(0); ++b) {
    const auto& g = grids.size() == 1 ? grids[0] : grids[b];
    const int64_t seq = g.frames * g.height * g.width;
    auto l = at::arange(seq, at::TensorOptions().dtype(at::kLong).device(x.device()));
    auto f = l.div(g.height * g.width, "floor"), i = l.div(g.width, "floor").remainder(g.height), j = l.remainder(g.width);
    auto cs = at::cat({table.index_select(0, f).slice(1, 0, ct), table.index_select(0, i).slice(1, ct, ct + ch),
                       table.index_select(0, j).slice(1, ct + ch)},
                      1)
                  .unsqueeze(1);  // [seq, 1, hd/2, 2]
    auto c = cs.select(3, 0), s = cs.select(3, 1);
    auto a = re[b].slice(0, 0, seq), bb = im[b].slice(0, 0, seq);
    out[b].slice(0, 0, seq).select(3, 0).copy_(a * c - bb * s);
    out[b].slice(0, 0, seq).select(3, 1).copy_(a * s + bb * c);
  }
  return out.view({x.size(0), x.size(1), heads, hd});
}

struct RopeCase {
  int64_t heads, head_dim;
  std::vector<RopeGrid> grids;
  int64_t len;
};

// Every case and input dtype for one output dtype (one test per output dtype, each inside the
// 60 s that tools/gpu/check.sh gives a test).
void check_official_op_order(at::ScalarType out, uint64_t seed) {
  const std::vector<RopeCase> cases = {
      {12, 128, {{21, 30, 52}}, 32760},            // Wan 1.3B at 480p, one sample
      {40, 128, {{3, 10, 16}, {2, 9, 16}}, 490},   // 14B width, two samples with padding
      {2, 64, {{2, 3, 5}, {1, 4, 4}}, 37},         // head dim 64
      {3, 128, {{5, 1, 7}}, 36},                   // one padding token
  };
  for (const auto& c : cases) {
    const int64_t batch = static_cast<int64_t>(c.grids.size()), dim = c.heads * c.head_dim;
    const auto freqs = rope_freqs_table(c.head_dim, 1024, 10000.0, at::kCUDA);
    for (auto in : {at::kBFloat16, at::kFloat}) {
      SCOPED_TRACE("heads=" + std::to_string(c.heads) + " hd=" + std::to_string(c.head_dim) + " L=" +
                   std::to_string(c.len) + " in=" + c10::toString(in) + " out=" + c10::toString(out));
      const auto q = kt::cuda_randn({batch, c.len, dim}, in, seed++, 3.0);
      const auto k = kt::cuda_randn({batch, c.len, dim}, in, seed++, 0.5);
      const auto wq = kt::cuda_randn({dim}, at::kFloat, seed++, 0.2).add_(1.0);
      const auto wk = kt::cuda_randn({dim}, at::kFloat, seed++, 0.2).add_(1.0);
      QkNormRopeOptions opts;
      opts.out_dtype = out;
      opts.backend = FusedBackend::Cuda;
      opts.paired_kernel = false;  // the per-tensor kernel first, one CTA per row: the bit baseline
      opts.row_schedule = RowSchedule::kPerRow;
      kt::poison_cuda_allocator(2 * q.numel() * 4);
      auto [gq, gk] = qk_norm_rope(q, k, wq, wk, freqs, c.grids, c.heads, opts);
      // The paired kernel (q and k in one CTA) shares the reduction order: bit-identical.
      opts.paired_kernel = true;
      kt::poison_cuda_allocator(2 * q.numel() * 4);
      auto [pq, pk] = qk_norm_rope(q, k, wq, wk, freqs, c.grids, c.heads, opts);
      opts.paired_kernel = false;
      EXPECT_TRUE(at::equal(pq, gq)) << "paired kernel, q";
      EXPECT_TRUE(at::equal(pk, gk)) << "paired kernel, k";
      // The staged row schedule (resident grid, shared-memory ring) runs the same per-row code.
      opts.row_schedule = RowSchedule::kStaged;
      for (bool paired : {false, true}) {
        opts.paired_kernel = paired;
        kt::poison_cuda_allocator(2 * q.numel() * 4);
        auto [sq, sk] = qk_norm_rope(q, k, wq, wk, freqs, c.grids, c.heads, opts);
        EXPECT_TRUE(at::equal(sq, gq)) << "staged schedule, q, paired=" << paired;
        EXPECT_TRUE(at::equal(sk, gk)) << "staged schedule, k, paired=" << paired;
      }
      // The narrow and warp schedules (more groups per thread, smaller CTAs) sum in other orders:
      // they meet the same tolerance as the per-row kernel below.
      std::vector<std::pair<std::string, std::pair<at::Tensor, at::Tensor>>> results = {{"per-row", {gq, gk}}};
      for (auto [schedule, name] : {std::pair{RowSchedule::kNarrow, "narrow"}, std::pair{RowSchedule::kWarp, "warp"}}) {
        opts.row_schedule = schedule;
        for (bool paired : {false, true}) {
          opts.paired_kernel = paired;
          kt::poison_cuda_allocator(2 * q.numel() * 4);
          auto [nq, nk] = qk_norm_rope(q, k, wq, wk, freqs, c.grids, c.heads, opts);
          results.push_back({std::string(name) + (paired ? ", paired" : ""), {nq, nk}});
        }
      }
      if (out != at::kFloat) {
        // The bracketed fp32 rotation against float64 for every pair: same bits.
        for (auto [paired, schedule] : std::vector<std::pair<bool, RowSchedule>>{{false, RowSchedule::kPerRow},
                                                                                {true, RowSchedule::kPerRow},
                                                                                {true, RowSchedule::kStaged},
                                                                                {false, RowSchedule::kNarrow},
                                                                                {true, RowSchedule::kNarrow},
                                                                                {false, RowSchedule::kWarp},
                                                                                {true, RowSchedule::kWarp}}) {
          opts.paired_kernel = paired;
          opts.row_schedule = schedule;
          auto [hq, hk] = qk_norm_rope(q, k, wq, wk, freqs, c.grids, c.heads, opts);
          QkNormRopeOptions f32 = opts;
          f32.out_dtype = at::kFloat;
          auto [fq, fk] = qk_norm_rope(q, k, wq, wk, freqs, c.grids, c.heads, f32);
          EXPECT_TRUE(at::equal(hq, fq.to(out))) << "bracketed rotation, q, paired=" << paired
                                                 << " schedule=" << static_cast<int>(schedule);
          EXPECT_TRUE(at::equal(hk, fk.to(out))) << "bracketed rotation, k, paired=" << paired
                                                 << " schedule=" << static_cast<int>(schedule);
        }
      }
      opts.row_schedule = RowSchedule::kPerRow;
      opts.paired_kernel = false;
      opts.backend = FusedBackend::Reference;
      auto [aq, ak] = qk_norm_rope(q, k, wq, wk, freqs, c.grids, c.heads, opts);
      for (int which = 0; which < 2; ++which) {
        const auto exact = exact_norm_rope(which == 0 ? q : k, which == 0 ? wq : wk, freqs, c.grids, c.heads);
        const double atol = 2.0 * kt::half_ulp(out) * exact.abs().max().item<double>();
        const auto& aten = which == 0 ? aq : ak;
        for (const auto& [label, qk] : results) {
          SCOPED_TRACE(label + (which == 0 ? ", q" : ", k"));
          const auto& got = which == 0 ? qk.first : qk.second;
          ASSERT_EQ(got.sizes(), (std::vector<int64_t>{batch, c.len, c.heads, c.head_dim}));
          EXPECT_TRUE(WithinBaselineError(got.to(at::kDouble), aten.to(at::kDouble), exact, 2.0, atol));
          if (out != at::kFloat) {
            const double differ = got.ne(aten).to(at::kDouble).mean().item<double>();
            EXPECT_LE(differ, 0.02) << "share of elements that differ from the ATen path";
          }
        }
      }
    }
  }
}

TEST(QkNormRopeGpu, MatchesTheOfficialOpOrderBf16Out) {
  GALLOP_SKIP_IF_NO_CUDA();
  check_official_op_order(at::kBFloat16, 500);
}
TEST(QkNormRopeGpu, MatchesTheOfficialOpOrderHalfOut) {
  GALLOP_SKIP_IF_NO_CUDA();
  check_official_op_order(at::kHalf, 600);
}
TEST(QkNormRopeGpu, MatchesTheOfficialOpOrderFloatOut) {
  GALLOP_SKIP_IF_NO_CUDA();
  check_official_op_order(at::kFloat, 700);
}

// rms_norm (qk_norm_rope's per-tensor kernel with no token rotated, one tensor): the tolerance rule
// above against float64 and the ATen path, in every row schedule, at the cross-attention shapes
// (1.3B q: 32760 x 1536; 14B text k: 512 x 5120) and an odd one; and the same bits as qk_norm_rope's
// per-tensor kernel with an empty grid (the same code and reduction order).
TEST(RmsNormGpu, MatchesTheOfficialOpOrder) {
  GALLOP_SKIP_IF_NO_CUDA();
  struct Shape {
    int64_t batch, len, dim;
  };
  uint64_t seed = 800;
  for (const Shape& s : {Shape{1, 32760, 1536}, Shape{2, 512, 5120}, Shape{3, 37, 192}}) {
    for (auto in : {at::kBFloat16, at::kFloat}) {
      for (auto out : {at::kBFloat16, at::kHalf, at::kFloat}) {
        SCOPED_TRACE("shape=" + std::to_string(s.batch) + "x" + std::to_string(s.len) + "x" + std::to_string(s.dim) +
                     " in=" + c10::toString(in) + " out=" + c10::toString(out));
        const auto x = kt::cuda_randn({s.batch, s.len, s.dim}, in, seed++, 3.0);
        const auto w = kt::cuda_randn({s.dim}, at::kFloat, seed++, 0.2).add_(1.0);
        const auto exact = [&] {
          auto xd = x.to(at::kDouble);
          return xd * at::rsqrt(xd.pow(2).mean(-1, true) + 1e-6) * w.to(at::kDouble);
        }();
        const auto aten = rms_norm_reference(x, w, 1e-6, out);
        const double atol = 2.0 * kt::half_ulp(out) * exact.abs().max().item<double>();
        for (auto schedule : {RowSchedule::kPerRow, RowSchedule::kNarrow, RowSchedule::kWarp, RowSchedule::kStaged}) {
          SCOPED_TRACE("schedule=" + std::to_string(static_cast<int>(schedule)));
          kt::poison_cuda_allocator(x.numel() * 4);
          const auto got = rms_norm(x, w, 1e-6, out, FusedBackend::Cuda, schedule);
          ASSERT_EQ(got.sizes(), x.sizes());
          ASSERT_EQ(got.scalar_type(), out);
          EXPECT_TRUE(WithinBaselineError(got.to(at::kDouble), aten.to(at::kDouble), exact, 2.0, atol));
          if (out != at::kFloat) {
            const double differ = got.ne(aten).to(at::kDouble).mean().item<double>();
            EXPECT_LE(differ, 0.02) << "share of elements that differ from the ATen path";
          }
          if (s.batch <= 16) {
            QkNormRopeOptions o;
            o.out_dtype = out;
            o.backend = FusedBackend::Cuda;
            o.paired_kernel = false;
            o.row_schedule = schedule;
            auto [same, unused] =
                qk_norm_rope(x, x, w, w, rope_freqs_table(64, 8, 10000.0, at::kCUDA), {{0, 0, 0}}, s.dim / 64, o);
            EXPECT_TRUE(at::equal(got, same.view(x.sizes()))) << "the per-tensor kernel with an empty grid";
          }
        }
      }
    }
  }
}

TEST(QkNormRopeGpu, RefusesMoreSamplesThanTheKernelCarries) {
  GALLOP_SKIP_IF_NO_CUDA();
  const auto q = kt::cuda_randn({17, 4, 128}, at::kBFloat16, 9);
  const auto w = kt::cuda_randn({128}, at::kFloat, 10);
  QkNormRopeOptions opts;
  opts.backend = FusedBackend::Cuda;
  EXPECT_THROW(qk_norm_rope(q, q, w, w, rope_freqs_table(64, 8, 10000.0, at::kCUDA), {{1, 2, 2}}, 2, opts),
               std::invalid_argument);
}

}  // namespace
}  // namespace gallop::kernels
