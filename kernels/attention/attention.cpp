// Dispatch for attention (see attention.h): resolves `Auto` through the measured table
// (attention_select.h), routes each backend to its implementation, and falls back when one does
// not apply: gallop's kernels -> cuDNN (or ATen's SDPA); cuDNN / flash -> ATen's SDPA; anything
// on the CPU -> the fp32 reference. gallop's kernels plug in through attention_cuda.h when the
// build has CUDA.
#include "kernels/attention/attention.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "kernels/attention/attention_select.h"

#if defined(GALLOP_HAVE_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "kernels/attention/attention_cuda.h"
#endif

namespace gallop::kernels {

const char* attention_backend_name(AttentionBackend b) {
  switch (b) {
    case AttentionBackend::Auto: return "auto";
    case AttentionBackend::Reference: return "reference";
    case AttentionBackend::Sdpa: return "sdpa";
    case AttentionBackend::Cudnn: return "cudnn";
    case AttentionBackend::Flash: return "flash";
    case AttentionBackend::Gallop: return "gallop";
  }
  return "?";
}

AttentionBackend parse_attention_backend(const std::string& name) {
  for (auto b : {AttentionBackend::Auto, AttentionBackend::Reference, AttentionBackend::Sdpa,
                 AttentionBackend::Cudnn, AttentionBackend::Flash, AttentionBackend::Gallop})
    if (name == attention_backend_name(b)) return b;
  throw std::invalid_argument("unknown attention backend '" + name +
                              "' (expected auto, reference, sdpa, cudnn, flash or gallop)");
}

AttentionOptions parse_attention_options(const std::string& name) {
  AttentionOptions options;
  for (auto kernel : attn::kAllGallopKernels) {
    if (name == gallop_kernel_name(kernel)) {
      options.backend = AttentionBackend::Gallop;
      options.gallop_kernel = kernel;
      return options;
    }
  }
  try {
    options.backend = parse_attention_backend(name);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("unknown attention backend '" + name +
                                "' (expected auto, reference, sdpa, cudnn, flash, gallop or one of gallop's kernels, " +
                                gallop_kernel_names() + ")");
  }
  return options;
}

std::string attention_options_name(const AttentionOptions& options) {
  if (options.backend == AttentionBackend::Gallop && options.gallop_kernel) return gallop_kernel_name(*options.gallop_kernel);
  return attention_backend_name(options.backend);
}

std::string gallop_kernel_names() {
  std::string names;
  for (auto kernel : attn::kAllGallopKernels) names += std::string(names.empty() ? "" : ", ") + gallop_kernel_name(kernel);
  return names;
}

const char* gallop_kernel_name(attn::GallopKernel kernel) {
  switch (kernel) {
    case attn::GallopKernel::kSm80: return "gallop-sm80";
    case attn::GallopKernel::kSm90: return "gallop-sm90";
    case attn::GallopKernel::kSm90Serial: return "gallop-sm90-serial";
    case attn::GallopKernel::kSm90WsTwoP: return "gallop-sm90-ws-p2";
    case attn::GallopKernel::kSm90WsPingpongTwoP: return "gallop-sm90-ws-pingpong-p2";
    case attn::GallopKernel::kSm90WsTwoPSplit: return "gallop-sm90-ws-p2-split";
    case attn::GallopKernel::kSm90WsTwoP144: return "gallop-sm90-ws-p2-n144";
    case attn::GallopKernel::kSm90WsTwoP144Split: return "gallop-sm90-ws-p2-n144-split";
    case attn::GallopKernel::kSm90WsTwoPCluster: return "gallop-sm90-ws-p2-c2";
    case attn::GallopKernel::kSm90WsTwoP144Cluster: return "gallop-sm90-ws-p2-n144-c2";
    case attn::GallopKernel::kSm90WsTwoPClusterSplit: return "gallop-sm90-ws-p2-c2-split";
    case attn::GallopKernel::kSm90WsTwoPStages3: return "gallop-sm90-ws-p2-s3";
    case attn::GallopKernel::kSm90WsTwoPClusterStages3: return "gallop-sm90-ws-p2-c2-s3";
    case attn::GallopKernel::kSm90WsTwoPProfile: return "gallop-sm90-ws-p2-prof";
    case attn::GallopKernel::kSm90WsPingpongTwoPCluster: return "gallop-sm90-ws-pingpong-p2-c2";
  }
  return "?";
}

namespace {

void check_inputs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention: q, k, v must be [B, L, H, D]");
  TORCH_CHECK(k.sizes() == v.sizes(), "attention: k ", k.sizes(), " and v ", v.sizes(), " differ");
  TORCH_CHECK(q.size(0) == k.size(0) && q.size(2) == k.size(2) && q.size(3) == k.size(3),
              "attention: q ", q.sizes(), " does not match k ", k.sizes());
  TORCH_CHECK(q.scalar_type() == k.scalar_type() && q.scalar_type() == v.scalar_type(),
              "attention: q, k, v dtypes differ");
  TORCH_CHECK(q.device() == k.device() && q.device() == v.device(), "attention: q, k, v devices differ");
  if (k_lens.defined())
    TORCH_CHECK(k_lens.dim() == 1 && k_lens.size(0) == q.size(0), "attention: k_lens must be [B]");
}

// Boolean key mask [B, 1, 1, Lk] (true = attend) from k_lens, or undefined.
at::Tensor key_mask(const at::Tensor& k_lens, int64_t lk, const at::Device& device) {
  if (!k_lens.defined()) return {};
  auto pos = at::arange(lk, at::TensorOptions().dtype(at::kLong).device(device));
  auto lens = k_lens.to(device, at::kLong);
  return pos.unsqueeze(0).lt(lens.unsqueeze(1)).view({lens.size(0), 1, 1, lk});
}

// k_lens that lets every key through is no mask at all; a CPU k_lens can be checked for free
// (the official DiT passes its sequence lengths that way), which keeps the fused paths mask-free.
at::Tensor effective_k_lens(const at::Tensor& k_lens, int64_t lk) {
  if (k_lens.defined() && k_lens.device().is_cpu() && k_lens.numel() > 0 &&
      k_lens.to(at::kLong).min().item<int64_t>() >= lk)
    return {};
  return k_lens;
}

bool is_half(const at::Tensor& t) { return t.scalar_type() == at::kBFloat16 || t.scalar_type() == at::kHalf; }

at::Tensor sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens,
                double scale) {
  // SDPA wants [B, H, L, D].
  std::optional<at::Tensor> mask;  // an undefined tensor inside the optional is not "no mask"
  if (k_lens.defined()) mask = key_mask(k_lens, k.size(1), q.device());
  auto out = at::scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), mask,
                                              /*dropout_p=*/0.0, /*is_causal=*/false, scale);
  return out.transpose(1, 2);
}

// cuDNN's fused attention; padding goes in as an additive bias [B, 1, 1, Lk] broadcast over heads
// and queries. Throws (c10::Error) when cuDNN rejects the inputs.
at::Tensor cudnn(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens,
                 double scale) {
  std::optional<at::Tensor> bias;
  if (k_lens.defined()) {
    auto mask = key_mask(k_lens, k.size(1), q.device());  // [B, 1, 1, Lk]
    auto b = at::zeros(mask.sizes(), q.options()).masked_fill(mask.logical_not(),
                                                              -std::numeric_limits<float>::infinity());
    bias = b.expand({q.size(0), q.size(2), q.size(1), k.size(1)});
  }
  auto res = at::_scaled_dot_product_cudnn_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), bias,
                                                     /*compute_log_sumexp=*/false, /*dropout_p=*/0.0,
                                                     /*is_causal=*/false, /*return_debug_mask=*/false, scale);
  return std::get<0>(res).transpose(1, 2);
}

// FlashAttention-2 as ATen ships it, on [B, L, H, D] directly; padding through its varlen entry
// (cumulative lengths over the full rows plus seqused_k). Throws when flash rejects the inputs.
at::Tensor flash(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens,
                 double scale) {
  const int64_t b = q.size(0), lq = q.size(1), lk = k.size(1);
  if (!k_lens.defined()) {
    auto res = at::_flash_attention_forward(q, k, v, std::nullopt, std::nullopt, lq, lk, /*dropout_p=*/0.0,
                                            /*is_causal=*/false, /*return_debug_mask=*/false, scale);
    return std::get<0>(res);
  }
  auto idx = at::arange(b + 1, at::TensorOptions().dtype(at::kInt).device(q.device()));
  auto cu_q = idx * static_cast<int32_t>(lq);  // [B + 1]
  auto cu_k = idx * static_cast<int32_t>(lk);  // [B + 1]
  auto used_k = k_lens.to(q.device(), at::kInt).clamp(0, lk).contiguous();  // [B]
  auto q2 = q.reshape({b * lq, q.size(2), q.size(3)});  // [B*Lq, H, D]
  auto k2 = k.reshape({b * lk, k.size(2), k.size(3)});
  auto v2 = v.reshape({b * lk, v.size(2), v.size(3)});
  auto res = at::_flash_attention_forward(q2, k2, v2, cu_q, cu_k, lq, lk, /*dropout_p=*/0.0, /*is_causal=*/false,
                                          /*return_debug_mask=*/false, scale, std::nullopt, std::nullopt, used_k);
  return std::get<0>(res).view({b, lq, q.size(2), q.size(3)});
}

#if defined(GALLOP_HAVE_CUDA)
attn::ElementType element_type(c10::ScalarType dtype) {
  return dtype == at::kBFloat16 ? attn::ElementType::kBf16 : attn::ElementType::kFp16;
}

// The gallop kernel `gallop` means on this device, or nothing: on Hopper at head dim 128, ws-p2 in
// clusters of two CTAs with the last wave split along the keys (the fastest whole DiT forward at
// 480p on an H100 and an H200, 2026-11-27: kernels/NOTES.md), else the tile table's Hopper kernel,
// else the sm_80 one.
std::optional<attn::GallopKernel> best_gallop_kernel(c10::ScalarType dtype, int64_t head_dim) {
  for (auto kernel : {attn::GallopKernel::kSm90WsTwoPClusterSplit, attn::GallopKernel::kSm90,
                      attn::GallopKernel::kSm80})
    if (gallop_kernel_available(kernel, dtype, head_dim)) return kernel;
  return std::nullopt;
}

// The kernels read 16-byte chunks (cp.async / TMA): every row start must be 16-byte aligned.
at::Tensor aligned_operand(const at::Tensor& t) {
  auto c = t.stride(3) == 1 ? t : t.contiguous();
  const bool aligned = reinterpret_cast<uintptr_t>(c.data_ptr()) % 16 == 0 && c.stride(0) % 8 == 0 &&
                       c.stride(1) % 8 == 0 && c.stride(2) % 8 == 0;
  return aligned ? c : c.clone(at::MemoryFormat::Contiguous);
}
#endif

// The implementation a backend resolves to on these inputs, before any library rejects them.
enum class Impl { Reference, Sdpa, Cudnn, Flash, Gallop };

struct Plan {
  Impl impl = Impl::Reference;
  attn::GallopKernel kernel = attn::GallopKernel::kSm80;  // when impl == Gallop
};

Plan make_plan(const at::Tensor& q, const at::Tensor& k, const at::Tensor& k_lens, const AttentionOptions& options) {
  AttentionBackend backend = options.backend;
  if (!q.is_cuda() || backend == AttentionBackend::Reference) return {Impl::Reference};
  if (backend == AttentionBackend::Auto) {
#if defined(GALLOP_HAVE_CUDA)
    const auto* prop = at::cuda::getDeviceProperties(q.device().index());
    const auto chosen =
        select_attention_options({prop->name, prop->major, prop->minor}, q.scalar_type(), q.size(3), k.size(1));
    AttentionOptions resolved = options;
    resolved.backend = chosen.backend;
    resolved.gallop_kernel = chosen.gallop_kernel;
    return make_plan(q, k, k_lens, resolved);
#else
    backend = AttentionBackend::Sdpa;
#endif
  }
  // The fused backends take 16-bit inputs only; everything else is ATen's SDPA.
  if (!is_half(q)) return {Impl::Sdpa};
  switch (backend) {
    case AttentionBackend::Cudnn: return {Impl::Cudnn};
    case AttentionBackend::Flash: return {Impl::Flash};
    case AttentionBackend::Gallop: {
#if defined(GALLOP_HAVE_CUDA)
      if (options.gallop_kernel && gallop_kernel_available(*options.gallop_kernel, q.scalar_type(), q.size(3)))
        return {Impl::Gallop, *options.gallop_kernel};
      if (auto kernel = best_gallop_kernel(q.scalar_type(), q.size(3))) return {Impl::Gallop, *kernel};
#endif
      return {Impl::Cudnn};
    }
    default: return {Impl::Sdpa};
  }
}

}  // namespace

at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& k_lens, double scale) {
  check_inputs(q, k, v, k_lens);
  auto qf = q.to(at::kFloat).transpose(1, 2);  // [B, H, Lq, D]
  auto kf = k.to(at::kFloat).transpose(1, 2);
  auto vf = v.to(at::kFloat).transpose(1, 2);
  auto mask = key_mask(k_lens, k.size(1), q.device());
  auto block = [&](const at::Tensor& q_rows) {                           // [B, H, n, D]
    auto logits = at::matmul(q_rows, kf.transpose(-1, -2)) * scale;  // [B, H, n, Lk]
    if (mask.defined()) logits = logits.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
    return at::matmul(at::softmax(logits, -1), vf);  // [B, H, n, D]
  };
  // Bound the logits to ~2^26 floats (256 MB) by going through the queries in row blocks; rows
  // are independent, and small problems take the single-block path.
  constexpr int64_t kMaxLogits = int64_t{1} << 26;
  const int64_t per_row = qf.size(0) * qf.size(1) * kf.size(2);
  const int64_t rows = std::max<int64_t>(1, kMaxLogits / std::max<int64_t>(per_row, 1));
  at::Tensor out;  // [B, H, Lq, D]
  if (rows >= qf.size(2)) {
    out = block(qf);
  } else {
    std::vector<at::Tensor> parts;
    for (int64_t r = 0; r < qf.size(2); r += rows) parts.push_back(block(qf.narrow(2, r, std::min(rows, qf.size(2) - r))));
    out = at::cat(parts, 2);
  }
  return out.transpose(1, 2).to(q.scalar_type());
}

bool gallop_kernel_available(attn::GallopKernel kernel, c10::ScalarType dtype, int64_t head_dim) {
#if defined(GALLOP_HAVE_CUDA)
  if (dtype != at::kBFloat16 && dtype != at::kHalf) return false;
  if (head_dim != 64 && head_dim != 128) return false;
  if (!at::cuda::is_available()) return false;
  return attn::gallop_kernel_runnable(kernel, element_type(dtype), static_cast<int>(head_dim));
#else
  (void)kernel;
  (void)dtype;
  (void)head_dim;
  return false;
#endif
}

at::Tensor attention_gallop(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens,
                            double scale, attn::GallopKernel kernel, at::Tensor* profile) {
  check_inputs(q, k, v, k_lens);
  if (!q.is_cuda() || !gallop_kernel_available(kernel, q.scalar_type(), q.size(3)))
    throw std::invalid_argument(std::string("attention: ") + gallop_kernel_name(kernel) +
                                " is not available for these inputs on this device/build");
#if defined(GALLOP_HAVE_CUDA)
  TORCH_CHECK(q.size(1) <= std::numeric_limits<int32_t>::max() && k.size(1) <= std::numeric_limits<int32_t>::max() &&
                  q.size(0) <= 65535 && q.size(2) <= 65535,
              "attention: shape ", q.sizes(), " / ", k.sizes(), " exceeds the gallop kernels' grid");
  const c10::cuda::CUDAGuard guard(q.device());
  const auto qa = aligned_operand(q);
  const auto ka = aligned_operand(k);
  const auto va = aligned_operand(v);
  auto out = at::empty({q.size(0), q.size(1), q.size(2), q.size(3)}, q.options());  // [B, Lq, H, D]
  at::Tensor lens;                                                                   // [B] int32 on the device
  if (k_lens.defined()) lens = k_lens.to(q.device(), at::kInt).contiguous();

  attn::AttentionParams p;
  p.q = qa.data_ptr();
  p.k = ka.data_ptr();
  p.v = va.data_ptr();
  p.o = out.data_ptr();
  p.q_batch_stride = qa.stride(0), p.q_row_stride = qa.stride(1), p.q_head_stride = qa.stride(2);
  p.k_batch_stride = ka.stride(0), p.k_row_stride = ka.stride(1), p.k_head_stride = ka.stride(2);
  p.v_batch_stride = va.stride(0), p.v_row_stride = va.stride(1), p.v_head_stride = va.stride(2);
  p.o_batch_stride = out.stride(0), p.o_row_stride = out.stride(1), p.o_head_stride = out.stride(2);
  p.batch = static_cast<int32_t>(q.size(0));
  p.heads = static_cast<int32_t>(q.size(2));
  p.len_q = static_cast<int32_t>(q.size(1));
  p.len_k = static_cast<int32_t>(k.size(1));
  p.head_dim = static_cast<int32_t>(q.size(3));
  p.scale = static_cast<float>(scale);
  p.scale_log2 = static_cast<float>(scale * 1.4426950408889634);  // scale * log2(e)
  p.k_lens = lens.defined() ? lens.data_ptr<int32_t>() : nullptr;
  p.dtype = element_type(q.scalar_type());
  if (out.numel() == 0) return out;
  // The -split kernels cut the last wave's tiles along the keys; their fp32 partials live in one
  // scratch tensor from the caching allocator (stream-ordered, so it may be released on return).
  // The wave is what the device runs at once of this kernel (for a cluster kernel, possibly fewer
  // CTAs than SMs).
  const int resident = attn::gallop_kernel_resident_ctas(kernel, p.dtype, p.head_dim);
  const attn::TailSplit split = attn::gallop_kernel_tail_split(kernel, p, resident);
  at::Tensor partials;
  if (split.split_tiles > 0) {
    const int block_m = attn::tail_split_block_m();
    const int64_t o_floats = split.partial_o_floats(block_m, p.head_dim);
    partials = at::empty({o_floats + split.partial_lse_floats(block_m)}, q.options().dtype(at::kFloat));
    p.split_full_tiles = split.full_tiles;
    p.split_tiles = split.split_tiles;
    p.splits = split.splits;
    p.split_cluster = split.cluster;
    p.split_o = partials.data_ptr<float>();
    p.split_lse = p.split_o + o_floats;
  }
  // The profiling kernel adds to zeroed counters (attn::ProfileCounter).
  at::Tensor counters;
  if (kernel == attn::GallopKernel::kSm90WsTwoPProfile) {
    counters = at::zeros({attn::kProfileCounters}, q.options().dtype(at::kLong));
    p.profile = reinterpret_cast<unsigned long long*>(counters.data_ptr<int64_t>());  // NOLINT(runtime/int)
  }
  C10_CUDA_CHECK(attn::launch_gallop_kernel(kernel, p, at::cuda::getCurrentCUDAStream()));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  if (profile != nullptr) *profile = counters;
  return out;
#else
  (void)scale;
  (void)profile;
  throw std::invalid_argument("attention: this build has no CUDA kernels");
#endif
}

std::string attention_implementation(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const at::Tensor& k_lens, const AttentionOptions& options) {
  check_inputs(q, k, v, k_lens);
  const Plan plan = make_plan(q, k, effective_k_lens(k_lens, k.size(1)), options);
  switch (plan.impl) {
    case Impl::Reference: return "reference";
    case Impl::Sdpa: return "sdpa";
    case Impl::Cudnn: return "cudnn";
    case Impl::Flash: return "flash";
    case Impl::Gallop: return gallop_kernel_name(plan.kernel);
  }
  return "?";
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens,
                     const AttentionOptions& options) {
  check_inputs(q, k, v, k_lens);
  const double scale = options.scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(3))));
  const at::Tensor lens = effective_k_lens(k_lens, k.size(1));
  const Plan plan = make_plan(q, k, lens, options);
  switch (plan.impl) {
    case Impl::Reference: return attention_reference(q, k, v, lens, scale);
    case Impl::Sdpa: return sdpa(q, k, v, lens, scale);
    case Impl::Gallop: return attention_gallop(q, k, v, lens, scale, plan.kernel);
    case Impl::Cudnn:
      try {
        return cudnn(q, k, v, lens, scale);
      } catch (const c10::Error&) {
        return sdpa(q, k, v, lens, scale);  // cuDNN rejected this shape/layout/GPU
      }
    case Impl::Flash:
      try {
        return flash(q, k, v, lens, scale);
      } catch (const c10::Error&) {
        return sdpa(q, k, v, lens, scale);  // flash rejected this shape/GPU
      }
  }
  return attention_reference(q, k, v, lens, scale);
}

}  // namespace gallop::kernels
