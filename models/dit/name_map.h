// Checkpoint key renaming for the Wan DiT: every dialect's tensor names -> the official Wan2.1
// keys that WanModel registers (spec §7.2, §7.3).
//
//   diffusers WanTransformer3DModel                        official
//   condition_embedder.time_embedder.linear_{1,2}           time_embedding.{0,2}
//   condition_embedder.text_embedder.linear_{1,2}           text_embedding.{0,2}
//   condition_embedder.time_proj                            time_projection.1
//   condition_embedder.image_embedder.norm1 / ff.net.0.proj / ff.net.2 / norm2 / pos_embed
//                                                           img_emb.proj.0 / .1 / .3 / .4 / img_emb.emb_pos
//   scale_shift_table, proj_out                             head.modulation, head.head
//   blocks.{i}.scale_shift_table                            blocks.{i}.modulation
//   blocks.{i}.attn1.to_{q,k,v}, attn1.to_out.0, attn1.norm_{q,k}
//                                                           blocks.{i}.self_attn.{q,k,v}, .o, .norm_{q,k}
//   blocks.{i}.attn2.(same), attn2.add_{k,v}_proj, attn2.norm_added_k
//                                                           blocks.{i}.cross_attn.(same), .{k,v}_img, .norm_k_img
//   blocks.{i}.norm2 (affine, before cross-attention)       blocks.{i}.norm3
//   blocks.{i}.ffn.net.0.proj, ffn.net.2                    blocks.{i}.ffn.0, ffn.2
//
// Ignored (std::nullopt): `blocks.{i}.attn2.norm_added_q.*` (diffusers ignores it on load too).
// Official keys pass through; single-file checkpoints that prefix every key with
// `model.diffusion_model.` (ComfyUI) lose the prefix in both dialects. Any other key is returned
// unchanged, so that the loader reports it as unexpected instead of dropping it silently.
#pragma once

#include <optional>
#include <string>

namespace gallop::models::dit {

enum class Dialect {
  Official,   // Wan2.1 `diffusion_pytorch_model*.safetensors` names (identity)
  Diffusers,  // diffusers `transformer/` names (WanTransformer3DModel)
};

std::optional<std::string> to_official_key(const std::string& key, Dialect dialect);

// The inverse, for writing checkpoints in another dialect: an official key -> its name in
// `dialect`. Keys outside the tables are returned unchanged.
std::string from_official_key(const std::string& official_key, Dialect dialect);

}  // namespace gallop::models::dit
