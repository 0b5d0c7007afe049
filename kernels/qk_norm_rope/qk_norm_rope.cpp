// Frequency table, ATen reference and dispatch of the fused q/k RMSNorm + RoPE (qk_norm_rope.h).
#include "kernels/qk_norm_rope/qk_norm_rope.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#if defined(GALLOP_HAVE_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "kernels/qk_norm_rope/qk_norm_rope_cuda.h"
#include "kernels/qk_norm_rope/rope_index.h"
#endif

namespace gallop::kernels {

namespace {

// Complex pairs per head on the frame axis and on each spatial axis (spec §2.5).
struct PairSplit {
  int64_t t, h, w;
};
PairSplit pair_split(int64_t head_dim) {
  const int64_t c = head_dim / 2;
  return {c - 2 * (c / 3), c / 3, c / 3};
}

// float64 [max_pos, head_dim/2, 2] view of the table (cos, sin).
at::Tensor freqs_as_real(const at::Tensor& freqs) {
  if (freqs.is_complex()) return at::view_as_real(freqs);
  TORCH_CHECK(freqs.scalar_type() == at::kDouble && freqs.dim() == 3 && freqs.size(2) == 2,
              "qk_norm_rope: freqs must be complex128 [P, D/2] or float64 [P, D/2, 2], got ", freqs.sizes());
  return freqs;
}

std::vector<RopeGrid> grids_for_batch(const std::vector<RopeGrid>& grids, int64_t batch) {
  TORCH_CHECK(grids.size() == 1 || static_cast<int64_t>(grids.size()) == batch,
              "qk_norm_rope: need one grid per sample or one for all, got ", grids.size(), " for batch ", batch);
  return grids.size() == 1 ? std::vector<RopeGrid>(batch, grids[0]) : grids;
}

void check_inputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& wq, const at::Tensor& wk,
                  const at::Tensor& freqs_real, int64_t heads, const std::vector<RopeGrid>& grids) {
  TORCH_CHECK(q.dim() == 3 && q.sizes() == k.sizes(), "qk_norm_rope: q ", q.sizes(), " and k ", k.sizes(),
              " must both be [B, L, dim]");
  TORCH_CHECK(q.scalar_type() == k.scalar_type(), "qk_norm_rope: q and k dtypes differ");
  TORCH_CHECK(heads > 0 && q.size(2) % heads == 0 && (q.size(2) / heads) % 2 == 0,
              "qk_norm_rope: dim ", q.size(2), " does not split into ", heads, " heads of even size");
  TORCH_CHECK(wq.dim() == 1 && wq.size(0) == q.size(2) && wk.sizes() == wq.sizes(),
              "qk_norm_rope: weights must be [dim]");
  TORCH_CHECK(freqs_real.size(1) == q.size(2) / heads / 2, "qk_norm_rope: freqs has ", freqs_real.size(1),
              " pairs per position, the head needs ", q.size(2) / heads / 2);
  for (const auto& g : grids) {
    TORCH_CHECK(g.frames >= 0 && g.height >= 0 && g.width >= 0 && g.frames <= freqs_real.size(0) &&
                    g.height <= freqs_real.size(0) && g.width <= freqs_real.size(0),
                "qk_norm_rope: grid (", g.frames, ", ", g.height, ", ", g.width, ") exceeds the table's ",
                freqs_real.size(0), " positions");
    TORCH_CHECK(g.frames * g.height * g.width <= q.size(1), "qk_norm_rope: grid (", g.frames, ", ", g.height, ", ",
                g.width, ") has more tokens than L = ", q.size(1));
  }
}

// Official rope_apply on x [B, L, n, D] fp32: rotation in complex128, result fp32.
at::Tensor rope_apply_reference(const at::Tensor& x, const std::vector<RopeGrid>& grids, const at::Tensor& freqs) {
  const int64_t n = x.size(2), c = x.size(3) / 2;
  const auto split = pair_split(x.size(3));
  auto table = freqs.is_complex() ? freqs : at::view_as_complex(freqs.contiguous());
  table = table.to(x.device());
  auto parts = table.split_with_sizes({split.t, split.h, split.w}, 1);
  std::vector<at::Tensor> out;
  for (int64_t b = 0; b < x.size(0); ++b) {
    const auto& g = grids[b];
    const int64_t seq = g.frames * g.height * g.width;
    auto xb = at::view_as_complex(x[b].slice(0, 0, seq).to(at::kDouble).reshape({seq, n, c, 2}).contiguous());
    // Explicit pair counts (not -1): a sample whose grid holds no token views zero elements.
    const std::vector<int64_t> fhw = {g.frames, g.height, g.width};
    auto band = [&](const at::Tensor& part, int axis, int64_t pairs) {
      std::vector<int64_t> shape = {1, 1, 1, pairs};
      shape[axis] = fhw[axis];
      return part.slice(0, 0, fhw[axis]).view(shape).expand({fhw[0], fhw[1], fhw[2], pairs});
    };
    auto fi = at::cat({band(parts[0], 0, split.t), band(parts[1], 1, split.h), band(parts[2], 2, split.w)}, -1)
                  .reshape({seq, 1, c});
    auto rotated = at::view_as_real(xb * fi).flatten(2);  // [seq, n, D] float64
    out.push_back(at::cat({rotated, x[b].slice(0, seq).to(at::kDouble)}));
  }
  return at::stack(out).to(at::kFloat);
}

#if defined(GALLOP_HAVE_CUDA)
ElementKind element_kind(at::ScalarType t) {
  switch (t) {
    case at::kBFloat16: return ElementKind::kBFloat16;
    case at::kHalf: return ElementKind::kFloat16;
    default: return ElementKind::kFloat32;
  }
}
bool float_kind(at::ScalarType t) { return t == at::kFloat || t == at::kBFloat16 || t == at::kHalf; }
bool aligned16(const at::Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0; }
bool rows_ok(const at::Tensor& t) {
  const int64_t esize = t.element_size();
  return t.stride(2) == 1 && t.stride(0) == t.size(1) * t.stride(1) && aligned16(t) && (t.stride(1) * esize) % 16 == 0;
}
#endif

}  // namespace

at::Tensor rope_freqs_table(int64_t head_dim, int64_t max_pos, double theta, at::Device device) {
  TORCH_CHECK(head_dim > 0 && head_dim % 2 == 0, "rope_freqs_table: head_dim must be even");
  auto band = [&](int64_t width) {  // official rope_params(max_pos, width, theta)
    auto opts = at::TensorOptions().dtype(at::kDouble);
    auto inv = 1.0 / at::pow(theta, at::arange(0, width, 2, opts).div(static_cast<double>(width)));  // [width/2]
    auto angles = at::outer(at::arange(max_pos, opts), inv);                                       // [P, width/2]
    return at::polar(at::ones_like(angles), angles);
  };
  const int64_t d6 = head_dim / 6;
  return at::cat({band(head_dim - 4 * d6), band(2 * d6), band(2 * d6)}, 1).to(device);
}

at::Tensor rope_freqs_table_f32(const at::Tensor& freqs) {
  return freqs_as_real(freqs).to(at::kFloat).contiguous();
}

std::pair<at::Tensor, at::Tensor> qk_norm_rope_reference(const at::Tensor& q, const at::Tensor& k,
                                                         const at::Tensor& weight_q, const at::Tensor& weight_k,
                                                         const at::Tensor& freqs, const std::vector<RopeGrid>& grids,
                                                         int64_t heads, const QkNormRopeOptions& options) {
  const auto all = grids_for_batch(grids, q.size(0));
  check_inputs(q, k, weight_q, weight_k, freqs_as_real(freqs), heads, all);
  auto one = [&](const at::Tensor& x, const at::Tensor& w) {
    // WanRMSNorm: `self._norm(x.float()).type_as(x) * self.weight`.
    auto xf = x.to(at::kFloat);
    auto normed = (xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + options.eps)).to(x.scalar_type()) *
                  w.to(x.device());  // [B, L, dim] fp32
    auto heads_view = normed.view({x.size(0), x.size(1), heads, x.size(2) / heads});
    return rope_apply_reference(heads_view, all, freqs).to(options.out_dtype);  // [B, L, heads, D]
  };
  return {one(q, weight_q), one(k, weight_k)};
}

std::pair<at::Tensor, at::Tensor> qk_norm_rope(const at::Tensor& q, const at::Tensor& k, const at::Tensor& weight_q,
                                               const at::Tensor& weight_k, const at::Tensor& freqs,
                                               const std::vector<RopeGrid>& grids, int64_t heads,
                                               const QkNormRopeOptions& options) {
  const auto all = grids_for_batch(grids, q.size(0));
  const auto freqs_real = freqs_as_real(freqs);
  check_inputs(q, k, weight_q, weight_k, freqs_real, heads, all);
#if defined(GALLOP_HAVE_CUDA)
  const int64_t dim = q.size(2);
  if (options.backend != FusedBackend::Reference && q.is_cuda() && k.device() == q.device() &&
      float_kind(q.scalar_type()) && float_kind(options.out_dtype) && q.size(0) <= rope::kMaxBatch &&
      (dim / heads) % 8 == 0 && dim * q.element_size() <= 64 * 1024 && rows_ok(q) && rows_ok(k) &&
      q.size(0) * q.size(1) <= std::numeric_limits<int32_t>::max()) {
    const c10::cuda::CUDAGuard guard(q.device());
    const auto wq = weight_q.to(q.device(), at::kFloat).contiguous();
    const auto wk = weight_k.to(q.device(), at::kFloat).contiguous();
    const auto table = freqs_real.to(q.device()).contiguous();  // [P, D/2, 2] float64
    at::Tensor table_f32;  // [P, D/2, 2] float32, for the bracketed rotation of a 16-bit output
    if (options.out_dtype != at::kFloat) {
      if (options.freqs_f32.defined()) {
        TORCH_CHECK(options.freqs_f32.scalar_type() == at::kFloat && options.freqs_f32.sizes() == table.sizes(),
                    "qk_norm_rope: freqs_f32 must be float32 ", table.sizes(), " (rope_freqs_table_f32), got ",
                    options.freqs_f32.scalar_type(), " ", options.freqs_f32.sizes());
        table_f32 = options.freqs_f32.to(q.device()).contiguous();
      } else {
        table_f32 = rope_freqs_table_f32(table);
      }
    }
    if (aligned16(wq) && aligned16(wk) && aligned16(table) && (!table_f32.defined() || aligned16(table_f32))) {
      auto out_q = at::empty({q.size(0), q.size(1), heads, dim / heads}, q.options().dtype(options.out_dtype));
      auto out_k = at::empty_like(out_q);
      rope::QkNormRopeParams p;
      p.x[0] = q.data_ptr();
      p.x[1] = k.data_ptr();
      p.out[0] = out_q.data_ptr();
      p.out[1] = out_k.data_ptr();
      p.weight[0] = wq.data_ptr<float>();
      p.weight[1] = wk.data_ptr<float>();
      p.x_row_stride[0] = q.stride(1);
      p.x_row_stride[1] = k.stride(1);
      p.out_row_stride[0] = p.out_row_stride[1] = dim;
      p.freqs = table.data_ptr<double>();
      p.freqs_f32 = table_f32.defined() ? table_f32.data_ptr<float>() : nullptr;
      p.max_pos = static_cast<int32_t>(table.size(0));
      p.rows = q.size(0) * q.size(1);
      p.len = q.size(1);
      p.dim = static_cast<int32_t>(dim);
      p.inv_dim = 1.f / static_cast<float>(dim);
      p.head_dim = static_cast<int32_t>(dim / heads);
      const auto split = pair_split(dim / heads);
      p.pairs_t = static_cast<int32_t>(split.t);
      p.pairs_h = static_cast<int32_t>(split.h);
      for (size_t b = 0; b < all.size(); ++b) {
        p.grid[b][0] = static_cast<int32_t>(all[b].frames);
        p.grid[b][1] = static_cast<int32_t>(all[b].height);
        p.grid[b][2] = static_cast<int32_t>(all[b].width);
      }
      rope::set_rope_divisors(p);
      p.eps = static_cast<float>(options.eps);
      p.in_type = element_kind(q.scalar_type());
      p.out_type = element_kind(options.out_dtype);
      p.kernel = options.paired_kernel ? rope::QkNormRopeKernel::kPaired : rope::QkNormRopeKernel::kPerTensor;
      p.schedule = options.row_schedule;
      if (out_q.numel() > 0) {
        C10_CUDA_CHECK(rope::launch_qk_norm_rope(p, at::cuda::getCurrentCUDAStream()));
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      }
      return {out_q, out_k};
    }
  }
#endif
  if (options.backend == FusedBackend::Cuda)
    throw std::invalid_argument("qk_norm_rope: the CUDA kernel does not apply (needs CUDA q/k with 16-byte aligned "
                                "rows, head_dim % 8 == 0, batch <= 16)");
  return qk_norm_rope_reference(q, k, weight_q, weight_k, freqs, grids, heads, options);
}

at::Tensor rms_norm_reference(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType out_dtype) {
  TORCH_CHECK(x.dim() == 3 && weight.dim() == 1 && weight.size(0) == x.size(2), "rms_norm: x ", x.sizes(),
              " must be [B, L, dim] and weight ", weight.sizes(), " [dim]");
  auto xf = x.to(at::kFloat);
  return ((xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps)).to(x.scalar_type()) *
          weight.to(x.device(), at::kFloat))
      .to(out_dtype);
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps, at::ScalarType out_dtype,
                    FusedBackend backend, RowSchedule schedule) {
  TORCH_CHECK(x.dim() == 3 && weight.dim() == 1 && weight.size(0) == x.size(2), "rms_norm: x ", x.sizes(),
              " must be [B, L, dim] and weight ", weight.sizes(), " [dim]");
#if defined(GALLOP_HAVE_CUDA)
  const int64_t dim = x.size(2);
  if (backend != FusedBackend::Reference && x.is_cuda() && float_kind(x.scalar_type()) && float_kind(out_dtype) &&
      dim % 8 == 0 && dim * x.element_size() <= 64 * 1024 && rows_ok(x) &&
      x.size(0) * x.size(1) <= std::numeric_limits<int32_t>::max()) {
    const c10::cuda::CUDAGuard guard(x.device());
    const auto w = weight.to(x.device(), at::kFloat).contiguous();
    if (aligned16(w)) {
      auto out = at::empty(x.sizes(), x.options().dtype(out_dtype));
      rope::QkNormRopeParams p;
      p.x[0] = x.data_ptr();
      p.out[0] = out.data_ptr();
      p.weight[0] = w.data_ptr<float>();
      p.x_row_stride[0] = x.stride(1);
      p.out_row_stride[0] = dim;
      p.rows = x.size(0) * x.size(1);
      p.len = p.rows;  // one "sample" with an empty grid: no token is rotated
      p.dim = static_cast<int32_t>(dim);
      p.inv_dim = 1.f / static_cast<float>(dim);
      p.head_dim = static_cast<int32_t>(dim);
      rope::set_rope_divisors(p);
      p.eps = static_cast<float>(eps);
      p.in_type = element_kind(x.scalar_type());
      p.out_type = element_kind(out_dtype);
      p.kernel = rope::QkNormRopeKernel::kPerTensor;
      p.tensors = 1;
      p.schedule = schedule;
      if (out.numel() > 0) {
        C10_CUDA_CHECK(rope::launch_qk_norm_rope(p, at::cuda::getCurrentCUDAStream()));
        C10_CUDA_KERNEL_LAUNCH_CHECK();
      }
      return out;
    }
  }
#endif
  if (backend == FusedBackend::Cuda)
    throw std::invalid_argument("rms_norm: the CUDA kernel does not apply (needs a CUDA x with 16-byte aligned rows, "
                                "dim % 8 == 0)");
  return rms_norm_reference(x, weight, eps, out_dtype);
}

}  // namespace gallop::kernels
