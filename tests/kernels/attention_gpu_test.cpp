// GPU tests of gallop's attention kernels (sm_80 mma.sync kernel; Hopper wgmma/TMA kernel in each of
// its schedules) and of the attention dispatcher's library backends.
//
// Compares each kernel's output with the fp32 ATen reference (attention_reference on fp32 copies
// of the inputs). Tolerance rule (FlashAttention's): max|kernel - ref| <= 2 x max|aten_lowp - ref|
// + atol, where aten_lowp is the same attention done by plain ATen in the input dtype (q·kᵀ in
// bf16/fp16, softmax, P rounded to the dtype, P·v in the dtype) and atol = 2 x half an ulp of the
// dtype x max|ref| (the final rounding of the output alone costs half an ulp). Sweeps: odd and
// block-straddling lengths from 1 to 80k tokens, Lq != Lk, padded keys, non-contiguous inputs,
// both head dims and both dtypes. For the long sequences the reference runs on a sample of query
// rows (the first, the last and a spread between). Outputs start as NaN (poisoned allocator), so
// an unwritten element fails. Two diagnostic tests (uniform attention and one-hot attention)
// report *where* a wrong kernel goes wrong: which output rows hold which value rows.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/attention/attention.h"
#include "kernels/attention/attention_select.h"
#if defined(GALLOP_HAVE_CUDA)
#include <ATen/cuda/CUDAContext.h>

#include "kernels/attention/attention_cuda.h"
#endif
#include "tests/kernels/gpu_test_util.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

namespace gallop::kernels {
namespace {

using attn::GallopKernel;
using ::gallop::testing::WithinBaselineError;
namespace kt = ::gallop::kernels::gpu_test;

struct KernelCase {
  GallopKernel kernel;
  at::ScalarType dtype;
  int64_t head_dim;
};

void PrintTo(const KernelCase& kc, std::ostream* os) {
  *os << gallop_kernel_name(kc.kernel) << " " << c10::toString(kc.dtype) << " D=" << kc.head_dim;
}

std::string case_name(const ::testing::TestParamInfo<KernelCase>& info) {
  std::string n = gallop_kernel_name(info.param.kernel);
  for (auto& c : n)
    if (c == '-') c = '_';
  return n + (info.param.dtype == at::kBFloat16 ? "_bf16" : "_fp16") + "_d" + std::to_string(info.param.head_dim);
}

// Same attention in the input dtype with plain ATen ops (the baseline of the tolerance rule).
at::Tensor attention_lowp(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens,
                          double scale) {
  auto qt = q.transpose(1, 2), kt = k.transpose(1, 2), vt = v.transpose(1, 2);  // [B, H, L, D]
  auto logits = at::matmul(qt, kt.transpose(-1, -2)).mul(scale);                // [B, H, Lq, Lk] in dtype
  if (k_lens.defined()) {
    auto pos = at::arange(k.size(1), at::TensorOptions().dtype(at::kLong).device(q.device()));
    auto keep = pos.unsqueeze(0).lt(k_lens.to(q.device(), at::kLong).unsqueeze(1));  // [B, Lk]
    logits = logits.masked_fill(keep.logical_not().view({k.size(0), 1, 1, k.size(1)}),
                                -std::numeric_limits<float>::infinity());
  }
  auto p = at::softmax(logits, -1);  // dtype
  return at::matmul(p, vt).transpose(1, 2);
}

struct Shape {
  Shape(int64_t b, int64_t lq, int64_t lk, int64_t h, std::vector<int64_t> lens = {}, int64_t sample = 0,
        bool strided = false)
      : batch(b), len_q(lq), len_k(lk), heads(h), k_lens(std::move(lens)), sample_rows(sample), transposed(strided) {}
  int64_t batch, len_q, len_k, heads;
  std::vector<int64_t> k_lens;  // empty: every key valid
  int64_t sample_rows;          // > 0: compare only this many query rows
  bool transposed;              // q, k, v as [B, H, L, D] tensors viewed as [B, L, H, D]
};

std::string describe(const Shape& s) {
  std::ostringstream os;
  os << "B=" << s.batch << " Lq=" << s.len_q << " Lk=" << s.len_k << " H=" << s.heads;
  if (!s.k_lens.empty()) {
    os << " k_lens={";
    for (auto l : s.k_lens) os << l << ",";
    os << "}";
  }
  if (s.sample_rows) os << " rows sampled=" << s.sample_rows;
  if (s.transposed) os << " strided";
  return os.str();
}

at::Tensor make_input(const Shape& s, int64_t len, const KernelCase& kc, uint64_t seed) {
  if (!s.transposed) return kt::cuda_randn({s.batch, len, s.heads, kc.head_dim}, kc.dtype, seed);
  return kt::cuda_randn({s.batch, s.heads, len, kc.head_dim}, kc.dtype, seed).transpose(1, 2);
}

// Query rows to check: all, or the first 64, the last 64 and an even spread in between.
at::Tensor rows_to_check(int64_t len_q, int64_t sample) {
  auto opts = at::TensorOptions().dtype(at::kLong).device(at::kCUDA);
  if (sample <= 0 || sample >= len_q) return at::arange(len_q, opts);
  auto head = at::arange(std::min<int64_t>(64, len_q), opts);
  auto tail = at::arange(std::max<int64_t>(0, len_q - 64), len_q, opts);
  auto mid = at::linspace(0, len_q - 1, sample, opts.dtype(at::kDouble)).to(at::kLong);
  return std::get<0>(at::_unique(at::cat({head, mid, tail})));
}

void check_shape(const KernelCase& kc, const Shape& s, uint64_t seed) {
  SCOPED_TRACE(describe(s));
  const auto q = make_input(s, s.len_q, kc, seed);
  const auto k = make_input(s, s.len_k, kc, seed + 1);
  const auto v = make_input(s, s.len_k, kc, seed + 2);
  at::Tensor lens;
  if (!s.k_lens.empty()) lens = at::tensor(s.k_lens, at::TensorOptions().dtype(at::kLong));
  const double scale = 1.0 / std::sqrt(static_cast<double>(kc.head_dim));

  kt::poison_cuda_allocator(q.numel() * q.element_size());
  const auto out = attention_gallop(q, k, v, lens, scale, kc.kernel);  // [B, Lq, H, D]
  ASSERT_EQ(out.sizes(), q.sizes());

  const auto rows = rows_to_check(s.len_q, s.sample_rows);
  const auto qs = q.index_select(1, rows);
  const auto ref = attention_reference(qs.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat), lens, scale);
  const auto base = attention_lowp(qs, k, v, lens, scale);
  const auto got = out.index_select(1, rows);
  const double atol = 2.0 * kt::half_ulp(kc.dtype) * ref.abs().max().item<double>();
  EXPECT_TRUE(WithinBaselineError(got.to(at::kFloat), base.to(at::kFloat), ref, 2.0, atol));
}

class GallopAttention : public ::testing::TestWithParam<KernelCase> {
 protected:
  void SetUp() override {
    GALLOP_SKIP_IF_NO_CUDA();
    const auto& kc = GetParam();
    if (!gallop_kernel_available(kc.kernel, kc.dtype, kc.head_dim))
      GTEST_SKIP() << gallop_kernel_name(kc.kernel) << " is not available on " << kt::device_description()
                   << " in this build (not compiled for it, or the device is not its architecture)";
  }
};

TEST_P(GallopAttention, ShortSequences) {
  const auto kc = GetParam();
  const std::vector<Shape> shapes = {
      {1, 1, 1, 1},                     // a single query and key
      {2, 17, 17, 3},                   // shorter than one tile
      {1, 128, 128, 2},                 // exactly one query tile
      {2, 129, 200, 3, {200, 77}},      // one row past the tile; padded keys in sample 1
      {1, 64, 65, 1},                   // one key past the first key block
      {3, 300, 257, 2},                 // Lk = CLIP tokens
      {2, 77, 512, 2, {512, 1}},        // cross-attention-like, a single valid key
      {1, 1000, 1000, 2, {999}},        // odd lengths, one padded key
      {2, 333, 191, 2, {}, 0, true},    // strided [B, H, L, D] inputs
      {1, 6400, 1000, 3, {}, 512},      // 150 tiles: more than one wave on an H100/H200
  };
  uint64_t seed = 1000;
  for (const auto& s : shapes) check_shape(kc, s, seed += 10);
}

TEST_P(GallopAttention, LongSequences) {
  const auto kc = GetParam();
  const std::vector<Shape> shapes = {
      {1, 4097, 4097, 2, {4000}, 0},           // full comparison past 4k
      {1, 32760, 512, 4, {}, 1024},            // Wan 480p text cross-attention
      {1, 32760, 32760, 2, {}, 512},           // Wan 480p self-attention (2 of the heads)
  };
  uint64_t seed = 2000;
  for (const auto& s : shapes) check_shape(kc, s, seed += 10);
  // The longest shape once per kernel and head dim (the 720p length, a little more).
  if (kc.dtype == at::kBFloat16) check_shape(kc, {1, 80000, 80000, 1, {79001}, 256}, 3000);
}

TEST_P(GallopAttention, RowWithoutValidKeysIsZero) {
  const auto kc = GetParam();
  const auto q = kt::cuda_randn({2, 70, 2, kc.head_dim}, kc.dtype, 11);
  const auto k = kt::cuda_randn({2, 90, 2, kc.head_dim}, kc.dtype, 12);
  const auto v = kt::cuda_randn({2, 90, 2, kc.head_dim}, kc.dtype, 13);
  const auto lens = at::tensor({int64_t{0}, int64_t{90}});
  const double scale = 1.0 / std::sqrt(static_cast<double>(kc.head_dim));
  kt::poison_cuda_allocator(q.numel() * q.element_size());
  const auto out = attention_gallop(q, k, v, lens, scale, kc.kernel);
  EXPECT_EQ(out[0].abs().max().item<float>(), 0.f) << "sample 0 has no valid key: its rows must be zero";
  const auto ref = attention_reference(q[1].unsqueeze(0).to(at::kFloat), k[1].unsqueeze(0).to(at::kFloat),
                                       v[1].unsqueeze(0).to(at::kFloat), {}, scale);
  const auto base = attention_lowp(q[1].unsqueeze(0), k[1].unsqueeze(0), v[1].unsqueeze(0), {}, scale);
  const double atol = 2.0 * kt::half_ulp(kc.dtype) * ref.abs().max().item<double>();
  EXPECT_TRUE(WithinBaselineError(out[1].unsqueeze(0).to(at::kFloat), base.to(at::kFloat), ref, 2.0, atol));
}

// q = 0: every key gets the same weight, so row i of O is the mean of the valid rows of V. This
// exercises only P·V (the V operand layout, the accumulator layout, the normalization).
TEST_P(GallopAttention, DiagnoseUniformAttention) {
  const auto kc = GetParam();
  const int64_t L = 200;
  auto q = at::zeros({1, 130, 1, kc.head_dim}, at::TensorOptions().dtype(kc.dtype).device(at::kCUDA));
  const auto k = kt::cuda_randn({1, L, 1, kc.head_dim}, kc.dtype, 21);
  const auto v = kt::cuda_randn({1, L, 1, kc.head_dim}, kc.dtype, 22);
  const auto lens = at::tensor({int64_t{150}});
  const auto out = attention_gallop(q, k, v, lens, 0.1, kc.kernel).to(at::kFloat)[0].select(1, 0);  // [130, D]
  const auto expected = v[0].select(1, 0).slice(0, 0, 150).to(at::kFloat).mean(0);                    // [D]
  const auto err = (out - expected.unsqueeze(0)).abs();                                                // [130, D]
  const double tol = 4.0 * kt::half_ulp(kc.dtype) * expected.abs().max().item<double>() + 1e-3;
  const auto bad = err.gt(tol);
  if (bad.any().item<bool>()) {
    std::ostringstream os;
    const auto bad_rows = bad.any(1).nonzero().flatten().cpu();
    const auto bad_cols = bad.any(0).nonzero().flatten().cpu();
    os << bad.sum().item<int64_t>() << " of " << bad.numel() << " wrong; rows (" << bad_rows.numel()
       << "): " << bad_rows.slice(0, 0, 24) << " cols (" << bad_cols.numel() << "): " << bad_cols.slice(0, 0, 24)
       << " out[0, :8] = " << out[0].slice(0, 0, 8).cpu() << " expected[:8] = " << expected.slice(0, 0, 8).cpu();
    ADD_FAILURE() << "uniform attention (P·V path) is wrong: " << os.str();
  }
}

// q_i = k_i = a·e_(i mod D) with a²·scale = 30: query i attends (almost) only to key i, so row i
// of O is row i of V. Exercises S = Q·Kᵀ's layout and the softmax; on failure it reports which V
// row each wrong output row actually holds.
TEST_P(GallopAttention, DiagnoseOneHotAttention) {
  const auto kc = GetParam();
  const int64_t D = kc.head_dim, L = 2 * D;  // two query tiles' worth for D = 128
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const double a = std::sqrt(30.0 / scale);
  auto eye = at::zeros({L, D});
  for (int64_t i = 0; i < L; ++i) eye[i][i % D] = a;
  // Keys i and i + D share a direction; make the second half's keys distinct by a sign flip.
  auto qf = eye.clone(), kf = eye.clone();
  kf.slice(0, D).mul_(-1);
  qf.slice(0, D).mul_(-1);
  const auto q = qf.view({1, L, 1, D}).to(at::kCUDA, kc.dtype);
  const auto k = kf.view({1, L, 1, D}).to(at::kCUDA, kc.dtype);
  const auto v = kt::cuda_randn({1, L, 1, D}, kc.dtype, 31);
  const auto out = attention_gallop(q, k, v, {}, scale, kc.kernel).to(at::kFloat)[0].select(1, 0);  // [L, D]
  const auto vf = v[0].select(1, 0).to(at::kFloat);                                                    // [L, D]
  const auto err = (out - vf).abs().amax(1);                                                           // [L]
  const double tol = 4.0 * kt::half_ulp(kc.dtype) * vf.abs().max().item<double>() + 1e-3;
  const auto bad = err.gt(tol).nonzero().flatten().cpu();
  if (bad.numel() > 0) {
    // Which V row does each wrong output row hold?
    const auto dist = at::cdist(out.unsqueeze(0), vf.unsqueeze(0))[0];  // [L, L]
    const auto nearest = dist.argmin(1).cpu();
    std::ostringstream os;
    for (int64_t n = 0; n < std::min<int64_t>(bad.numel(), 16); ++n) {
      const int64_t i = bad[n].item<int64_t>();
      os << " row " << i << "~V[" << nearest[i].item<int64_t>() << "]";
    }
    ADD_FAILURE() << "one-hot attention (S = Q·Kᵀ path) is wrong in " << bad.numel() << " of " << L
                  << " rows:" << os.str();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kernels, GallopAttention,
    ::testing::Values(KernelCase{GallopKernel::kSm80, at::kBFloat16, 128}, KernelCase{GallopKernel::kSm80, at::kHalf, 128},
                      KernelCase{GallopKernel::kSm80, at::kBFloat16, 64}, KernelCase{GallopKernel::kSm80, at::kHalf, 64},
                      KernelCase{GallopKernel::kSm90Serial, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90Serial, at::kHalf, 128},
                      KernelCase{GallopKernel::kSm90Serial, at::kBFloat16, 64},
                      KernelCase{GallopKernel::kSm90Serial, at::kHalf, 64},
                      KernelCase{GallopKernel::kSm90WsTwoP, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90WsTwoP, at::kHalf, 128},
                      KernelCase{GallopKernel::kSm90WsTwoP, at::kBFloat16, 64},
                      KernelCase{GallopKernel::kSm90WsTwoP, at::kHalf, 64},
                      KernelCase{GallopKernel::kSm90WsPingpongTwoP, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90WsPingpongTwoP, at::kHalf, 128},
                      KernelCase{GallopKernel::kSm90WsPingpongTwoP, at::kBFloat16, 64},
                      KernelCase{GallopKernel::kSm90WsPingpongTwoP, at::kHalf, 64},
                      // ws-p2 with 144-key blocks: head dim 128 only.
                      KernelCase{GallopKernel::kSm90WsTwoP144, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90WsTwoP144, at::kHalf, 128},
                      KernelCase{GallopKernel::kSm90WsTwoP144Split, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90WsTwoP144Split, at::kHalf, 128},
                      // ws-p2 in clusters of two CTAs sharing K/V loads: head dim 128 only. Odd
                      // tile counts (300, 1000 rows...) run a padding CTA past the last row.
                      KernelCase{GallopKernel::kSm90WsTwoPCluster, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90WsTwoPCluster, at::kHalf, 128},
                      KernelCase{GallopKernel::kSm90WsTwoP144Cluster, at::kBFloat16, 128},
                      // c2-split: what `--attention gallop` runs at head dim 128 on Hopper.
                      KernelCase{GallopKernel::kSm90WsTwoPClusterSplit, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90WsTwoPClusterSplit, at::kHalf, 128},
                      // Ping-pong turns inside each CTA of a cluster.
                      KernelCase{GallopKernel::kSm90WsPingpongTwoPCluster, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90WsPingpongTwoPCluster, at::kHalf, 128},
                      // Three K/V stages (head dim 128; 64 has three in every variant).
                      KernelCase{GallopKernel::kSm90WsTwoPStages3, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90WsTwoPClusterStages3, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90WsTwoPClusterStages3, at::kHalf, 128},
                      // ws-p2 with cycle counters (the profiling kernel): head dim 128 only.
                      KernelCase{GallopKernel::kSm90WsTwoPProfile, at::kBFloat16, 128},
                      // ws-p2 with the last wave split along the keys: shapes smaller than one
                      // wave split every tile (up to 8 chunks, some empty under padding).
                      KernelCase{GallopKernel::kSm90WsTwoPSplit, at::kBFloat16, 128},
                      KernelCase{GallopKernel::kSm90WsTwoPSplit, at::kHalf, 128},
                      KernelCase{GallopKernel::kSm90WsTwoPSplit, at::kBFloat16, 64},
                      KernelCase{GallopKernel::kSm90WsTwoPSplit, at::kHalf, 64}),
    case_name);

#if defined(GALLOP_HAVE_CUDA)
// A split launch with whole tiles and split tiles on this device (the shapes above have none
// beyond one wave on most cards): tiles = SMs + SMs / 4, so the last wave's tiles split in 4.
TEST(GallopAttentionSplit, WholeAndSplitTilesMatchTheReference) {
  GALLOP_SKIP_IF_NO_CUDA();
  for (const KernelCase& kc : {KernelCase{GallopKernel::kSm90WsTwoPSplit, at::kBFloat16, 128},
                               KernelCase{GallopKernel::kSm90WsTwoPSplit, at::kHalf, 128},
                               KernelCase{GallopKernel::kSm90WsTwoPSplit, at::kBFloat16, 64},
                               KernelCase{GallopKernel::kSm90WsTwoPSplit, at::kHalf, 64},
                               KernelCase{GallopKernel::kSm90WsTwoP144Split, at::kBFloat16, 128},
                               KernelCase{GallopKernel::kSm90WsTwoPClusterSplit, at::kBFloat16, 128},
                               KernelCase{GallopKernel::kSm90WsTwoPClusterSplit, at::kHalf, 128}}) {
    if (!gallop_kernel_available(kc.kernel, kc.dtype, kc.head_dim))
      GTEST_SKIP() << gallop_kernel_name(kc.kernel) << " is not available on " << kt::device_description();
    SCOPED_TRACE(::testing::PrintToString(kc));
    // The wave: what the device runs at once of this kernel (the SMs, or fewer for clusters).
    const int sms = attn::gallop_kernel_resident_ctas(
        kc.kernel, kc.dtype == at::kHalf ? attn::ElementType::kFp16 : attn::ElementType::kBf16,
        static_cast<int>(kc.head_dim));
    const int64_t tiles = sms + std::max(1, sms / 4);
    // One head, tiles x 128 rows less a few; and two samples with padded keys, one of them
    // shorter than the chunk count in key blocks (empty chunks). For the cluster kernel with 132
    // CTAs resident (an H100 or H200 pairing all its SMs) both shapes have an odd tile count per
    // sample, so a padding tile shares a split pair.
    for (const Shape& s : {Shape{1, tiles * 128 - 5, 2000, 1, {}, 700},
                           Shape{2, (tiles / 2 + 1) * 128 - 70, 1500, 1, {1500, 200}, 700}}) {
      attn::AttentionParams p;
      p.batch = static_cast<int32_t>(s.batch);
      p.heads = static_cast<int32_t>(s.heads);
      p.len_q = static_cast<int32_t>(s.len_q);
      p.len_k = static_cast<int32_t>(s.len_k);
      p.head_dim = static_cast<int32_t>(kc.head_dim);
      const attn::TailSplit plan = attn::gallop_kernel_tail_split(kc.kernel, p, sms);
      EXPECT_GT(plan.full_tiles, 0) << describe(s);
      EXPECT_GT(plan.split_tiles, 0) << describe(s);
      std::cout << "[ info ] " << gallop_kernel_name(kc.kernel) << " " << describe(s) << " on " << sms
                << " resident CTAs: " << plan.full_tiles << " whole tiles, " << plan.split_tiles << " split in "
                << plan.splits << "\n";
      check_shape(kc, s, 5000 + kc.head_dim);
    }
  }
}
#endif

#if defined(GALLOP_HAVE_CUDA)
// The profiling kernel is ws-p2 with cycle counters around its waits: the same bits out, and counters
// that add up. 2 samples x 3 heads x 1000 query rows (8 tiles of 128) x 2000 keys, the second
// sample's cut to 700: 16 and 6 key blocks of 128.
TEST(GallopAttentionProfile, SameOutputAsWsP2AndCountersThatAddUp) {
  GALLOP_SKIP_IF_NO_CUDA();
  const GallopKernel kernel = GallopKernel::kSm90WsTwoPProfile;
  if (!gallop_kernel_available(kernel, at::kBFloat16, 128) ||
      !gallop_kernel_available(GallopKernel::kSm90WsTwoP, at::kBFloat16, 128))
    GTEST_SKIP() << gallop_kernel_name(kernel) << " is not available on " << kt::device_description();
  const auto q = kt::cuda_randn({2, 1000, 3, 128}, at::kBFloat16, 71);
  const auto k = kt::cuda_randn({2, 2000, 3, 128}, at::kBFloat16, 72);
  const auto v = kt::cuda_randn({2, 2000, 3, 128}, at::kBFloat16, 73);
  const auto lens = at::tensor(std::vector<int64_t>{2000, 700}, at::TensorOptions().dtype(at::kLong));
  at::Tensor counters;
  const auto out = attention_gallop(q, k, v, lens, 0.088, kernel, &counters);
  const auto plain = attention_gallop(q, k, v, lens, 0.088, GallopKernel::kSm90WsTwoP);
  EXPECT_TRUE(at::equal(out, plain)) << "the counters changed the arithmetic";
  ASSERT_TRUE(counters.defined());
  ASSERT_EQ(counters.numel(), attn::kProfileCounters);
  const auto c = counters.to(at::kCPU);
  const int64_t* n = c.data_ptr<int64_t>();
  const int64_t ctas = 2 * 3 * 8;
  EXPECT_EQ(n[attn::kProfMathWarps], ctas * 8);
  EXPECT_EQ(n[attn::kProfBlocks], 3 * 8 * 8 * (16 + 6));
  EXPECT_GT(n[attn::kProfMathLoop], 0);
  EXPECT_LE(n[attn::kProfMathLoop], n[attn::kProfMathCta]);
  const int64_t waits = n[attn::kProfWaitK] + n[attn::kProfWaitV] + n[attn::kProfWaitS] + n[attn::kProfWaitPV];
  EXPECT_LE(waits, n[attn::kProfMathLoop]);
  for (auto counter : {attn::kProfWaitK, attn::kProfWaitV, attn::kProfWaitS, attn::kProfWaitPV})
    EXPECT_GT(n[counter], 0) << "counter " << counter;
  // Every CTA has more key blocks than stages, so its producer refills.
  EXPECT_GT(n[attn::kProfProducerLoop], 0);
  EXPECT_LE(n[attn::kProfProducerWait], n[attn::kProfProducerLoop]);
  std::cout << "[ info ] " << gallop_kernel_name(kernel) << ": waits for K " << n[attn::kProfWaitK] << ", V "
            << n[attn::kProfWaitV] << ", S " << n[attn::kProfWaitS] << ", P*V " << n[attn::kProfWaitPV]
            << " of a key loop of " << n[attn::kProfMathLoop] << " cycles (summed over math warps)\n";
  // Every other kernel leaves the out-parameter undefined.
  at::Tensor none;
  (void)attention_gallop(q, k, v, lens, 0.088, GallopKernel::kSm90WsTwoP, &none);
  EXPECT_FALSE(none.defined());
}
#endif

#if defined(GALLOP_HAVE_CUDA)
// Every kernel the device can run keeps at least one CTA resident, at most the SMs' worth that its
// registers and shared memory allow; a cluster kernel, an even number no larger than the SMs.
TEST(GallopAttentionOccupancy, ResidentCtasOfEveryRunnableKernel) {
  GALLOP_SKIP_IF_NO_CUDA();
  const int sms = at::cuda::getDeviceProperties(at::cuda::current_device())->multiProcessorCount;
  int runnable = 0;
  for (auto kernel : attn::kAllGallopKernels) {
    const int resident = attn::gallop_kernel_resident_ctas(kernel, attn::ElementType::kBf16, 128);
    EXPECT_EQ(resident > 0, attn::gallop_kernel_runnable(kernel, attn::ElementType::kBf16, 128))
        << gallop_kernel_name(kernel);
    if (resident == 0) continue;
    ++runnable;
    // sm_80 kernel: up to 3 CTAs per SM at head dim 128 (tile_config.h); the Hopper ones, one.
    EXPECT_LE(resident, kernel == GallopKernel::kSm80 ? 4 * sms : sms) << gallop_kernel_name(kernel);
    if (kernel == GallopKernel::kSm90WsTwoPCluster || kernel == GallopKernel::kSm90WsTwoP144Cluster ||
        kernel == GallopKernel::kSm90WsTwoPClusterSplit || kernel == GallopKernel::kSm90WsTwoPClusterStages3 ||
        kernel == GallopKernel::kSm90WsPingpongTwoPCluster) {
      EXPECT_EQ(resident % 2, 0) << gallop_kernel_name(kernel);
    }
    std::cout << "[ info ] " << gallop_kernel_name(kernel) << ": " << resident << " CTAs resident on " << sms
              << " SMs\n";
  }
  if (runnable == 0) GTEST_SKIP() << "no gallop attention kernel runs on " << kt::device_description();
}
#endif

// ---- the dispatcher's library backends (the baselines the benchmark compares against) ----

TEST(AttentionDispatchGpu, EveryBackendMeetsTheToleranceWithPaddedKeys) {
  GALLOP_SKIP_IF_NO_CUDA();
  const auto q = kt::cuda_randn({2, 300, 4, 128}, at::kBFloat16, 41);
  const auto k = kt::cuda_randn({2, 280, 4, 128}, at::kBFloat16, 42);
  const auto v = kt::cuda_randn({2, 280, 4, 128}, at::kBFloat16, 43);
  for (const auto& lens : {at::Tensor(), at::tensor({int64_t{280}, int64_t{100}})}) {
    const double scale = 1.0 / std::sqrt(128.0);
    const auto ref = attention_reference(q.to(at::kFloat), k.to(at::kFloat), v.to(at::kFloat), lens, scale);
    const auto base = attention_lowp(q, k, v, lens, scale);
    const double atol = 2.0 * kt::half_ulp(at::kBFloat16) * ref.abs().max().item<double>();
    for (auto b : {AttentionBackend::Auto, AttentionBackend::Sdpa, AttentionBackend::Cudnn, AttentionBackend::Flash,
                   AttentionBackend::Gallop}) {
      AttentionOptions opts;
      opts.backend = b;
      SCOPED_TRACE(std::string(attention_backend_name(b)) + " -> " + attention_implementation(q, k, v, lens, opts) +
                   (lens.defined() ? " padded" : ""));
      const auto out = attention(q, k, v, lens, opts);
      EXPECT_TRUE(WithinBaselineError(out.to(at::kFloat), base.to(at::kFloat), ref, 2.0, atol));
    }
  }
}

TEST(AttentionDispatchGpu, AutoUsesCudnnUntilATableRowSaysOtherwise) {
  GALLOP_SKIP_IF_NO_CUDA();
  const auto q = kt::cuda_randn({1, 64, 2, 128}, at::kBFloat16, 51);
  EXPECT_EQ(attention_implementation(q, q, q), "cudnn") << kt::device_description();
  AttentionOptions gallop;
  gallop.backend = AttentionBackend::Gallop;
  const auto impl = attention_implementation(q, q, q, {}, gallop);
  EXPECT_TRUE(impl.rfind("gallop-", 0) == 0 || impl == "cudnn") << impl;
#if defined(GALLOP_HAVE_CUDA)
  // On Hopper `gallop` means c2-split at head dim 128 and the tile table's kernel at 64.
  if (gallop_kernel_available(GallopKernel::kSm90WsTwoPClusterSplit, at::kBFloat16, 128)) {
    EXPECT_EQ(impl, "gallop-sm90-ws-p2-c2-split");
    const auto q64 = kt::cuda_randn({1, 64, 2, 64}, at::kBFloat16, 52);
    EXPECT_EQ(attention_implementation(q64, q64, q64, {}, gallop), "gallop-sm90");
  }
#endif
  std::cout << "[ info ] " << kt::device_description() << ": --attention gallop runs " << impl << "\n";
}

#if defined(GALLOP_HAVE_CUDA)
// `auto` on this card at the Wan key lengths (32760 and 75600 self-attention keys, 512 text keys):
// what the measured table says for it (attention_tuning.h), and a row's kernel runs here.
TEST(AttentionDispatchGpu, AutoFollowsTheMeasuredRowsOnThisCard) {
  GALLOP_SKIP_IF_NO_CUDA();
  const auto* prop = at::cuda::getCurrentDeviceProperties();
  const AttentionDevice device{prop->name, prop->major, prop->minor};
  const auto q = kt::cuda_randn({1, 64, 2, 128}, at::kBFloat16, 53);
  for (int64_t len_k : {512, 32760, 75600}) {
    const auto k = kt::cuda_randn({1, len_k, 2, 128}, at::kBFloat16, 54);
    const AttentionOptions chosen = select_attention_options(device, at::kBFloat16, 128, len_k);
    const std::string impl = attention_implementation(q, k, k);
    std::cout << "[ info ] " << kt::device_description() << ", " << len_k << " keys: auto runs " << impl << "\n";
    if (chosen.backend == AttentionBackend::Gallop && chosen.gallop_kernel) {
      EXPECT_TRUE(gallop_kernel_available(*chosen.gallop_kernel, at::kBFloat16, 128))
          << "the table names " << gallop_kernel_name(*chosen.gallop_kernel) << ", which does not run here";
      EXPECT_EQ(impl, gallop_kernel_name(*chosen.gallop_kernel));
    } else {
      EXPECT_EQ(impl, attention_backend_name(chosen.backend));
    }
  }
}
#endif

}  // namespace
}  // namespace gallop::kernels
