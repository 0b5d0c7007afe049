// WanModel: construction under official names, input checks, the forward pass (spec §2.1–2.7)
// and the weight-dtype policy of the bf16 path (spec §2.8, §11.1).
#include "models/dit/wan_model.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/utils.h>

#include <sstream>

namespace gallop::models::dit {

namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

std::vector<std::string> split_dots(const std::string& key) {
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  return parts;
}

}  // namespace

bool runs_in_fp32(const std::string& key) {
  if (starts_with(key, "head.") || starts_with(key, "time_embedding.") || starts_with(key, "time_projection.") ||
      starts_with(key, "img_emb.proj.0.") || starts_with(key, "img_emb.proj.4.") || key == "img_emb.emb_pos")
    return true;
  for (const auto& part : split_dots(key))
    if (part == "modulation" || part == "norm3" || part == "norm_q" || part == "norm_k" || part == "norm_k_img")
      return true;
  return false;
}

at::ScalarType weight_dtype(const std::string& key, at::ScalarType compute_dtype) {
  return compute_dtype == at::kFloat || runs_in_fp32(key) ? at::kFloat : compute_dtype;
}

at::Tensor pad_text_context(const std::vector<at::Tensor>& embeddings, int64_t text_len) {
  TORCH_CHECK(!embeddings.empty(), "pad_text_context: no embeddings");
  const auto& first = embeddings.front();
  TORCH_CHECK(first.dim() == 2, "pad_text_context: embeddings must be [L, text_dim], got ", first.sizes());
  auto out = at::zeros({static_cast<int64_t>(embeddings.size()), text_len, first.size(1)}, first.options());
  for (size_t i = 0; i < embeddings.size(); ++i) {
    const auto& e = embeddings[i];  // [L_i, text_dim]
    TORCH_CHECK(e.dim() == 2 && e.size(1) == first.size(1), "pad_text_context: embedding ", i, " has shape ",
                e.sizes(), ", expected [L, ", first.size(1), "]");
    TORCH_CHECK(e.size(0) <= text_len, "pad_text_context: embedding ", i, " has ", e.size(0),
                " tokens, more than text_len ", text_len);
    out[static_cast<int64_t>(i)].narrow(0, 0, e.size(0)).copy_(e);
  }
  return out;  // [B, text_len, text_dim]
}

// ---- construction ----------------------------------------------------------------------------

WanModelImpl::WanModelImpl(const DitConfig& config, const at::TensorOptions& options) : config_(config) {
  config_.validate();
  const auto& c = config_;
  patch_embedding_ = register_module("patch_embedding", PatchEmbedding(c.in_dim, c.dim, c.patch_size, options));

  auto text = register_module("text_embedding", Slots());
  text_fc1_ = text->add("0", Linear(c.text_dim, c.dim, options));
  text_fc2_ = text->add("2", Linear(c.dim, c.dim, options));
  auto time = register_module("time_embedding", Slots());
  time_fc1_ = time->add("0", Linear(c.freq_dim, c.dim, options));
  time_fc2_ = time->add("2", Linear(c.dim, c.dim, options));
  auto projection = register_module("time_projection", Slots());
  time_projection_ = projection->add("1", Linear(c.dim, 6 * c.dim, options));

  auto blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i) {
    blocks_.push_back(WanBlock(c, options));
    blocks->push_back(blocks_.back());
  }
  head_ = register_module("head", Head(c, options));
  if (c.has_image_branch()) img_emb_ = register_module("img_emb", ImageEmbedding(c, options));
  rope_cache_ = std::make_unique<RopeCache>(c.head_dim(), c.rope_max_len);
}

int64_t WanModelImpl::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

void WanModelImpl::cast_weights(at::ScalarType compute_dtype) {
  TORCH_CHECK(compute_dtype == at::kFloat || compute_dtype == at::kBFloat16,
              "WanModel: compute dtype must be float32 or bfloat16, got ", compute_dtype);
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    const auto dtype = weight_dtype(p.key(), compute_dtype);
    if (p.value().scalar_type() != dtype) p.value().set_data(p.value().to(dtype));
  }
}

// ---- forward ---------------------------------------------------------------------------------

void WanModelImpl::check_inputs(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                                const at::Tensor& clip_fea, const at::Tensor& y, const ForwardOptions& options) const {
  const auto& c = config_;
  const char* type = model_type_name(c.model_type);
  TORCH_CHECK(options.compute_dtype == at::kFloat || options.compute_dtype == at::kBFloat16,
              "WanModel: compute dtype must be float32 or bfloat16, got ", options.compute_dtype);
  TORCH_CHECK(x.defined() && x.dim() == 5, "WanModel: x must be [B, C, T, h, w], got ",
              x.defined() ? x.sizes() : at::IntArrayRef{});
  TORCH_CHECK(x.is_floating_point(), "WanModel: x must be a floating-point tensor, got ", x.scalar_type());
  const int64_t B = x.size(0);
  for (int i = 0; i < 3; ++i)
    TORCH_CHECK(x.size(2 + i) > 0 && x.size(2 + i) % c.patch_size[i] == 0, "WanModel: latent grid ", x.size(2), "x",
                x.size(3), "x", x.size(4), " (T x h x w) is not divisible by the patch ", c.patch_size[0], "x",
                c.patch_size[1], "x", c.patch_size[2]);
  if (c.has_image_branch()) {
    TORCH_CHECK(y.defined(), "WanModel: a ", type, " model needs the conditioning y [B, ", c.in_dim - x.size(1),
                ", T, h, w]");
    TORCH_CHECK(clip_fea.defined(), "WanModel: a ", type, " model needs clip_fea [B, N, ", c.image_dim, "]");
    TORCH_CHECK(y.dim() == 5 && y.size(0) == B && y.sizes().slice(2).equals(x.sizes().slice(2)) &&
                    x.size(1) + y.size(1) == c.in_dim,
                "WanModel: x ", x.sizes(), " and y ", y.sizes(), " must share B, T, h, w and have ", c.in_dim,
                " channels together");
    TORCH_CHECK(clip_fea.dim() == 3 && clip_fea.size(0) == B && clip_fea.size(2) == c.image_dim &&
                    clip_fea.size(1) > 0,
                "WanModel: clip_fea must be [", B, ", N, ", c.image_dim, "], got ", clip_fea.sizes());
    if (c.model_type == ModelType::FLF2V)
      TORCH_CHECK(clip_fea.size(1) == kFlfImageTokens, "WanModel: an flf2v model needs clip_fea with ",
                  kFlfImageTokens, " tokens (first and last frame), got ", clip_fea.size(1));
  } else {
    TORCH_CHECK(!y.defined() && !clip_fea.defined(), "WanModel: a t2v model takes no clip_fea or y");
    TORCH_CHECK(x.size(1) == c.in_dim, "WanModel: x has ", x.size(1), " channels, the model expects ", c.in_dim);
  }
  TORCH_CHECK(t.defined() && t.dim() == 1 && t.size(0) == B, "WanModel: t must be [", B, "], got ",
              t.defined() ? t.sizes() : at::IntArrayRef{});
  TORCH_CHECK(context.defined() && context.dim() == 3 && context.size(0) == B && context.size(1) == c.text_len &&
                  context.size(2) == c.text_dim,
              "WanModel: context must be [", B, ", ", c.text_len, ", ", c.text_dim,
              "] (text embeddings zero-padded with pad_text_context), got ",
              context.defined() ? context.sizes() : at::IntArrayRef{});
}

at::Tensor WanModelImpl::forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& context,
                                 const at::Tensor& clip_fea, const at::Tensor& y, const ForwardOptions& options) {
  check_inputs(x, t, context, clip_fea, y, options);
  torch::NoGradGuard no_grad;
  const auto& c = config_;
  const auto run = options.compute_dtype;
  const auto f32 = at::kFloat;
  const auto device = patch_embedding_->weight.device();
  const int64_t B = x.size(0);
  const std::array<int64_t, 3> grid = {x.size(2) / c.patch_size[0], x.size(3) / c.patch_size[1],
                                       x.size(4) / c.patch_size[2]};
  const int64_t L = grid[0] * grid[1] * grid[2];

  // Patch embedding -> tokens in frame-major, row, column order.
  auto input = y.defined() ? at::cat({x.to(device, f32), y.to(device, f32)}, 1) : x.to(device, f32);  // [B, C, T, h, w]
  auto tokens = patch_embedding_(input, run).flatten(2).transpose(1, 2).contiguous();              // [B, L, dim] run

  // Time embedding, all fp32: e feeds the head, e0 the blocks.
  auto sinusoid = timestep_sinusoid(t.to(device), c.freq_dim).to(f32);                // [B, freq_dim]
  auto e = time_fc2_(at::silu(time_fc1_(sinusoid, f32)), f32);                        // [B, dim]
  auto e0 = time_projection_(at::silu(e), f32).unflatten(1, {6, c.dim});              // [B, 6, dim]

  // Context: text (padded rows included) then, first in the sequence, the image tokens.
  auto ctx = text_fc2_(at::gelu(text_fc1_(context.to(device), run), "tanh"), run);  // [B, text_len, dim] run
  if (c.has_image_branch()) {
    auto image = img_emb_(clip_fea.to(device), options);  // [B, N, dim] fp32
    ctx = at::cat({image, ctx.to(f32)}, 1);               // [B, N + text_len, dim] fp32
  }

  RopeInputs rope;  // the fused CUDA path reads the frequency table, the ATen path the multipliers
  rope.grid = grid;
  if (device.is_cuda()) {
    rope.freqs = rope_cache_->freqs(device);          // [max_len, hd/2] complex128
    rope.freqs_f32 = rope_cache_->freqs_f32(device);  // [max_len, hd/2, 2] float32
  } else {
    rope.multipliers = rope_cache_->get(grid, device);  // [L, 1, hd/2] complex128
  }
  auto k_lens = at::full({B}, L, at::TensorOptions().dtype(at::kInt));          // every token is real
  end_of_step(options, "embed");
  auto h = tokens;
  for (auto& block : blocks_) h = block(h, e0, rope, k_lens, ctx, options);    // [B, L, dim] fp32

  auto out = head_(h, e);  // [B, L, pt·ph·pw·out] fp32
  // Unpatchify: the outputs of a token are ordered (pt, ph, pw, channel), channel fastest.
  const auto& p = c.patch_size;
  out = out.view({B, grid[0], grid[1], grid[2], p[0], p[1], p[2], c.out_dim});
  out = out.permute({0, 7, 1, 4, 2, 5, 3, 6});  // [B, out, f, pt, gh, ph, gw, pw]
  out = out.reshape({B, c.out_dim, grid[0] * p[0], grid[1] * p[1], grid[2] * p[2]}).to(f32);
  end_of_step(options, "head");
  return out;
}

}  // namespace gallop::models::dit
