// Attention, block, head and image-embedding modules of the Wan DiT (see blocks.h).
#include "models/dit/blocks.h"

#include <tuple>

#include "kernels/modulation/modulation.h"
#include "kernels/qk_norm_rope/qk_norm_rope.h"

#include "models/dit/rope.h"

namespace gallop::models::dit {

namespace {

constexpr double kImageNormEps = 1e-5;  // MLPProj's LayerNorms use the nn.LayerNorm default

// [B, L, H·D] -> [B, L, H, D]
at::Tensor split_heads(const at::Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads});
}

}  // namespace

// ---- self-attention --------------------------------------------------------------------------

SelfAttentionImpl::SelfAttentionImpl(const DitConfig& c, const at::TensorOptions& options) : num_heads(c.num_heads) {
  q = register_module("q", Linear(c.dim, c.dim, options));
  k = register_module("k", Linear(c.dim, c.dim, options));
  v = register_module("v", Linear(c.dim, c.dim, options));
  o = register_module("o", Linear(c.dim, c.dim, options));
  norm_q = register_module("norm_q", RmsNorm(c.dim, c.eps, options));
  norm_k = register_module("norm_k", RmsNorm(c.dim, c.eps, options));
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x, const RopeInputs& rope, const at::Tensor& k_lens,
                                      const ForwardOptions& options) {
  const auto run = options.compute_dtype;
  const auto xr = x.to(run);                     // [B, L, dim], cast once for q, k, v
  auto vh = split_heads(v(xr, run), num_heads);  // [B, L, H, D] run
  at::Tensor qx = q(xr, run), kx = k(xr, run);   // [B, L, dim] run; released once normalized
  end_of_step(options, "self q/k/v linear");
  at::Tensor qh, kh;  // [B, L, H, D] run
  if (x.is_cuda()) {
    // RMSNorm (normalize in fp32, round to the input dtype, × fp32 weight), RoPE with the bits of
    // float64, round to fp32, cast to the run dtype: one kernel for q and k.
    kernels::QkNormRopeOptions o;
    o.eps = norm_q->eps;
    o.out_dtype = run;
    o.freqs_f32 = rope.freqs_f32;
    std::tie(qh, kh) = kernels::qk_norm_rope(qx, kx, norm_q->weight, norm_k->weight, rope.freqs,
                                             {{rope.grid[0], rope.grid[1], rope.grid[2]}}, num_heads, o);
  } else {
    qh = split_heads(norm_q(qx), num_heads);       // [B, L, H, D] fp32 (RMSNorm over all heads)
    kh = split_heads(norm_k(kx), num_heads);       // [B, L, H, D] fp32
    qh = apply_rope(qh, rope.multipliers).to(run);  // every token is real: all are rotated
    kh = apply_rope(kh, rope.multipliers).to(run);
  }
  qx.reset();  // not held through the attention (at 14B 720p each is 0.77 GB)
  kx.reset();
  end_of_step(options, "self q/k norm+rope");
  auto out = kernels::attention(qh, kh, vh, k_lens, options.attention);  // [B, L, H, D] run
  end_of_step(options, "self attention");
  out = o(out.flatten(2), run);  // [B, L, dim] run
  end_of_step(options, "self o linear");
  return out;
}

// ---- cross-attention -------------------------------------------------------------------------

CrossAttentionImpl::CrossAttentionImpl(const DitConfig& c, const at::TensorOptions& options)
    : num_heads(c.num_heads), text_len(c.text_len), image_branch(c.has_image_branch()) {
  q = register_module("q", Linear(c.dim, c.dim, options));
  k = register_module("k", Linear(c.dim, c.dim, options));
  v = register_module("v", Linear(c.dim, c.dim, options));
  o = register_module("o", Linear(c.dim, c.dim, options));
  norm_q = register_module("norm_q", RmsNorm(c.dim, c.eps, options));
  norm_k = register_module("norm_k", RmsNorm(c.dim, c.eps, options));
  if (image_branch) {
    k_img = register_module("k_img", Linear(c.dim, c.dim, options));
    v_img = register_module("v_img", Linear(c.dim, c.dim, options));
    norm_k_img = register_module("norm_k_img", RmsNorm(c.dim, c.eps, options));
  }
}

at::Tensor CrossAttentionImpl::forward(const at::Tensor& x, const at::Tensor& context, const ForwardOptions& options) {
  const auto run = options.compute_dtype;
  const int64_t n_image = image_branch ? context.size(1) - text_len : 0;
  auto text = context.narrow(1, n_image, context.size(1) - n_image).to(run);  // [B, text_len, dim]

  // RMSNorm (fp32, rounded to the input dtype, × fp32 weight), then the cast to the run dtype; on
  // CUDA one kernel each.
  auto norm = [&](RmsNorm& n, const at::Tensor& in) {
    if (in.is_cuda()) return kernels::rms_norm(in, n->weight, n->eps, run);
    return n(in).to(run);
  };
  at::Tensor qx = q(x, run), kx = k(text, run);    // [B, L or text_len, dim] run
  auto vh = split_heads(v(text, run), num_heads);  // [B, text_len, H, D] run
  end_of_step(options, "cross q/k/v linear");
  auto qh = split_heads(norm(norm_q, qx), num_heads);  // [B, L, H, D] run
  auto kh = split_heads(norm(norm_k, kx), num_heads);  // [B, text_len, H, D] run
  qx.reset();  // not held through the attention
  kx.reset();
  end_of_step(options, "cross q/k norm");
  auto out = kernels::attention(qh, kh, vh, {}, options.attention).flatten(2);  // [B, L, dim] run
  end_of_step(options, "cross attention");
  if (image_branch) {
    auto image = context.narrow(1, 0, n_image).to(run);  // [B, n_image, dim]
    auto ki_x = k_img(image, run);                       // [B, n_image, dim] run
    auto vi = split_heads(v_img(image, run), num_heads);  // [B, n_image, H, D] run
    end_of_step(options, "cross q/k/v linear");
    auto ki = split_heads(norm(norm_k_img, ki_x), num_heads);  // [B, n_image, H, D] run
    end_of_step(options, "cross q/k norm");
    auto out_img = kernels::attention(qh, ki, vi, {}, options.attention).flatten(2);  // [B, L, dim] run
    // The reference returns each attention in q's dtype (fp32) and sums there.
    out = out.to(at::kFloat) + out_img.to(at::kFloat);  // [B, L, dim] fp32
    end_of_step(options, "cross attention");
  }
  out = o(out, run);  // [B, L, dim] run
  end_of_step(options, "cross o linear");
  return out;
}

// ---- transformer block -----------------------------------------------------------------------

WanBlockImpl::WanBlockImpl(const DitConfig& c, const at::TensorOptions& options) : eps(c.eps) {
  modulation = register_parameter("modulation", empty_parameter({1, 6, c.dim}, options), false);
  self_attn = register_module("self_attn", SelfAttention(c, options));
  norm3 = register_module("norm3", AffineLayerNorm(c.dim, c.eps, options));
  cross_attn = register_module("cross_attn", CrossAttention(c, options));
  auto ffn = register_module("ffn", Slots());
  ffn_in = ffn->add("0", Linear(c.dim, c.ffn_dim, options));
  ffn_out = ffn->add("2", Linear(c.ffn_dim, c.dim, options));
}

at::Tensor WanBlockImpl::forward(const at::Tensor& x, const at::Tensor& e0, const RopeInputs& rope,
                                 const at::Tensor& k_lens, const at::Tensor& context, const ForwardOptions& options) {
  const auto run = options.compute_dtype;
  const auto f32 = at::kFloat;
  // shift, scale, gate of self-attention; shift, scale, gate of the FFN: each [B, 1, dim] fp32
  auto mod = (modulation.to(f32) + e0).chunk(6, 1);
  // LayerNorm in fp32, rounded to x's dtype (bf16 only entering block 0), modulated in fp32;
  // x + y·gate in fp32. On CUDA each is one fused kernel with the same op order.
  const bool fused = x.is_cuda();
  // Its result feeds only Linears of the run dtype, whose autocast rounds it to that dtype first: on
  // CUDA the kernel writes it rounded (the same values, half the bytes, no separate cast).
  auto norm_modulate = [&](const at::Tensor& in, const at::Tensor& shift, const at::Tensor& scale) {
    if (fused) return kernels::layer_norm_modulate(in, shift, scale, eps, run);  // [B, L, dim] run
    return layer_norm_no_affine(in, eps).to(f32) * (1 + scale) + shift;         // [B, L, dim] fp32
  };
  auto gated_add = [&](const at::Tensor& base, const at::Tensor& y, const at::Tensor& gate) {
    if (fused) return kernels::gated_residual(base, y, gate);
    return base.to(f32) + y.to(f32) * gate;  // [B, L, dim] fp32
  };

  auto h = norm_modulate(x, mod[0], mod[1]);  // [B, L, dim] fp32 (run on CUDA)
  end_of_step(options, "norm1+modulate");
  auto y = self_attn(h, rope, k_lens, options);  // [B, L, dim] run
  auto xs = gated_add(x, y, mod[2]);             // [B, L, dim] fp32
  end_of_step(options, "self gated residual");

  // nn.LayerNorm with weight and bias; on CUDA one kernel that writes the run dtype, rounded as the
  // cross-attention's q Linear would round it.
  h = fused ? kernels::layer_norm_affine(xs, norm3->weight, norm3->bias, norm3->eps, run) : norm3(xs);
  end_of_step(options, "norm3");
  y = cross_attn(h, context, options);  // [B, L, dim] run (fp32 with an image branch)
  h.reset();                            // not held through the residual add and the next norm
  if (fused) {
    // x + y·1 is x + y exactly: the gated kernel adds in place without the fp32 copy of y.
    kernels::gated_residual_(xs, y, at::ones({xs.size(0), xs.size(2)}, xs.options().dtype(f32)));
  } else {
    xs = xs + y.to(f32);  // no gate
  }
  end_of_step(options, "cross residual");

  h = norm_modulate(xs, mod[3], mod[4]);  // [B, L, dim] fp32 (run on CUDA)
  end_of_step(options, "norm2+modulate");
  y = ffn_in(h, run);  // [B, L, ffn_dim] run
  end_of_step(options, "ffn linear 1");
  y = at::gelu(y, "tanh");
  end_of_step(options, "ffn gelu");
  y = ffn_out(y, run);  // [B, L, dim] run
  end_of_step(options, "ffn linear 2");
  xs = gated_add(xs, y, mod[5]);  // [B, L, dim] fp32
  end_of_step(options, "ffn gated residual");
  return xs;
}

// ---- head ------------------------------------------------------------------------------------

HeadImpl::HeadImpl(const DitConfig& c, const at::TensorOptions& options) : eps(c.eps) {
  modulation = register_parameter("modulation", empty_parameter({1, 2, c.dim}, options), false);
  head = register_module("head", Linear(c.dim, c.patch_volume() * c.out_dim, options));
}

at::Tensor HeadImpl::forward(const at::Tensor& x, const at::Tensor& e) {
  auto mod = (modulation.to(at::kFloat) + e.unsqueeze(1)).chunk(2, 1);                // shift, scale [B, 1, dim]
  auto h = layer_norm_no_affine(x, eps).to(at::kFloat) * (1 + mod[1]) + mod[0];       // [B, L, dim] fp32
  return head(h, at::kFloat);                                                          // [B, L, p·out]
}

// ---- image embedding (MLPProj) ---------------------------------------------------------------

ImageEmbeddingImpl::ImageEmbeddingImpl(const DitConfig& c, const at::TensorOptions& options) {
  auto proj = register_module("proj", Slots());
  norm_in = proj->add("0", AffineLayerNorm(c.image_dim, kImageNormEps, options));
  fc1 = proj->add("1", Linear(c.image_dim, c.image_dim, options));
  fc2 = proj->add("3", Linear(c.image_dim, c.dim, options));
  norm_out = proj->add("4", AffineLayerNorm(c.dim, kImageNormEps, options));
  if (c.model_type == ModelType::FLF2V)
    emb_pos = register_parameter("emb_pos", empty_parameter({1, kFlfImageTokens, c.image_dim}, options), false);
}

at::Tensor ImageEmbeddingImpl::forward(const at::Tensor& clip, const ForwardOptions& options) {
  const auto run = options.compute_dtype;
  auto x = clip.to(at::kFloat);                          // [B, N, image_dim]
  if (emb_pos.defined()) x = x + emb_pos.to(at::kFloat);  // N = 514
  auto h = fc1(norm_in(x), run);                         // [B, N, image_dim] run
  h = fc2(at::gelu(h), run);                             // [B, N, dim] run (exact-erf GELU)
  return norm_out(h);                                    // [B, N, dim] fp32
}

}  // namespace gallop::models::dit
