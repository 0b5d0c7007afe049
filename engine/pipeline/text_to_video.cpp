#include "engine/pipeline/text_to_video.h"

#include <chrono>
#include <optional>

#include "engine/core/error.h"
#include "engine/core/features.h"
#include "engine/core/log.h"
#include "engine/pipeline/decode.h"
#include "engine/pipeline/latents.h"
#include "engine/sampling/scheduler.h"
#include "engine/weights/safetensors.h"

namespace gallop::engine {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Waits for queued GPU work so that stage times are real (a no-op on the CPU).
void synchronize(const at::Device& device) {
  if (device.is_cuda()) at::zeros({1}, at::TensorOptions().device(device)).cpu();
}

// Trimmed umT5 embeddings [L_i, D] of the prompt and the negative prompt (spec §3.4).
std::pair<at::Tensor, at::Tensor> encode_prompts(const ResolvedGenerate& r, const ModelSource& source,
                                                 const RunPolicy& policy) {
  const tokenizer::Tokenizer tok = source.load_tokenizer();
  auto encoder = source.load_text_encoder(policy.text_encoder_device, policy.dtype);
  torch::NoGradGuard no_grad;
  auto encode = [&](const std::string& text) {
    const tokenizer::TokenizedText t = tok.encode(text, static_cast<int>(source.dit_config().text_len));
    const auto opts = at::TensorOptions().dtype(at::kLong);
    at::Tensor ids = at::tensor(t.ids, opts).unsqueeze(0).to(policy.text_encoder_device);    // [1, 512]
    at::Tensor mask = at::tensor(t.mask, opts).unsqueeze(0).to(policy.text_encoder_device);  // [1, 512]
    at::Tensor out = encoder->forward(ids, mask, policy.dtype);                              // [1, 512, D]
    return out[0].narrow(0, 0, t.length).to(policy.device);                                 // [L, D]
  };
  return {encode(r.prompt), encode(r.negative_prompt)};
}

// The decode ran out of memory after a finished denoise: keep the latents (saved beside the
// outputs unless --save-latents already did) and say how to decode them later.
[[noreturn]] void throw_decode_out_of_memory(const ResolvedGenerate& r, const GenerateResult& result,
                                             const RunPolicy& policy, const DecodeOutputs& outputs) {
  std::filesystem::path saved = r.save_latents;
  if (saved.empty()) {
    saved = (r.output.empty() ? r.save_frames : r.output).string() + ".latents.safetensors";
    write_safetensors(saved, {{"latents", result.latents}}, latents_metadata(r, r.model, policy));
  }
  fail(ErrorKind::OutOfMemory, decode_out_of_memory_message(saved, r.model, outputs, policy.device.str()));
}

}  // namespace

std::map<std::string, std::string> latents_metadata(const ResolvedGenerate& r, const std::string& model,
                                                    const RunPolicy& policy) {
  auto fmt = [](double v) {
    std::ostringstream os;
    os.precision(17);
    os << v;
    return os.str();
  };
  return {{"gallop_version", version()},
          {"family", "wan2.1"},
          {"task", "t2v"},
          {"model", model},
          {"prompt", r.prompt},
          {"negative_prompt", r.negative_prompt},
          {"seed", std::to_string(r.seed)},
          {"width", std::to_string(r.width)},
          {"height", std::to_string(r.height)},
          {"frames", std::to_string(r.frames)},
          {"steps", std::to_string(r.steps)},
          {"guidance", fmt(r.guidance)},
          {"shift", fmt(r.shift)},
          {"solver", solver_name(r.solver)},
          {"fps", std::to_string(r.fps)},
          {"dtype", policy.dtype == at::kBFloat16 ? "bf16" : "fp32"}};
}

GenerateResult generate_video(const ResolvedGenerate& r, const ModelSource& source, const RunPolicy& policy,
                              Progress& progress) {
  GenerateResult result;
  result.seed = r.seed;
  const auto& dit_config = source.dit_config();
  torch::NoGradGuard no_grad;

  // ---- encode prompt ------------------------------------------------------------------------
  progress.stage_begin("encode prompt", 0);
  auto t0 = Clock::now();
  auto [ctx_cond_raw, ctx_uncond_raw] = encode_prompts(r, source, policy);
  at::Tensor ctx_cond = models::dit::pad_text_context({ctx_cond_raw}, dit_config.text_len);      // [1, 512, D]
  at::Tensor ctx_uncond = models::dit::pad_text_context({ctx_uncond_raw}, dit_config.text_len);  // [1, 512, D]
  synchronize(policy.device);
  result.times.encode_prompt = seconds_since(t0);
  progress.stage_end("encode prompt", result.times.encode_prompt);
  throw_if_cancelled(progress);

  // ---- denoise ------------------------------------------------------------------------------
  progress.stage_begin("denoise", r.steps);
  t0 = Clock::now();
  at::Tensor latents;  // [1, 16, T, h, w] fp32
  {
    auto dit = source.load_dit(policy.device, policy.dtype);
    auto scheduler = make_scheduler(r.solver, r.steps, r.shift);
    latents = initial_noise({dit_config.out_dim, r.latent_frames(), r.latent_height(), r.latent_width()}, r.seed,
                            policy.device)
                  .unsqueeze(0);
    models::dit::ForwardOptions fwd;
    fwd.compute_dtype = policy.dtype;
    fwd.attention = policy.attention;
    for (int i = 0; i < r.steps; ++i) {
      const auto step_start = Clock::now();
      at::Tensor t = at::tensor({scheduler->timesteps()[i]}, at::TensorOptions().dtype(at::kLong)).to(policy.device);
      at::Tensor v_cond = dit->forward(latents, t, ctx_cond, {}, {}, fwd);      // [1, 16, T, h, w]
      at::Tensor v_uncond = dit->forward(latents, t, ctx_uncond, {}, {}, fwd);  // [1, 16, T, h, w]
      at::Tensor v = classifier_free_guidance(v_cond, v_uncond, r.guidance);
      latents = scheduler->step(v, latents);
      synchronize(policy.device);
      result.times.step_seconds.push_back(seconds_since(step_start));
      progress.stage_step(i + 1, r.steps);
      throw_if_cancelled(progress);
    }
  }
  result.times.denoise = seconds_since(t0);
  progress.stage_end("denoise", result.times.denoise);
  result.latents = latents[0].to(at::kCPU).contiguous();  // [16, T, h, w]

  if (!r.save_latents.empty()) {
    write_safetensors(r.save_latents, {{"latents", result.latents}}, latents_metadata(r, r.model, policy));
    result.written.push_back(r.save_latents);
  }
  if (r.output.empty() && r.save_frames.empty()) return result;

  // ---- decode -------------------------------------------------------------------------------
  progress.stage_begin("decode", static_cast<int>(latents.size(2)));
  t0 = Clock::now();
  DecodeOutputs outputs;
  outputs.video = r.output;
  outputs.frames = r.save_frames;
  outputs.fps = r.fps;
  outputs.crf = r.crf;
  try {
    auto vae = source.load_vae(policy.device);
    result.frames = decode_to_outputs(*vae, latents, outputs, progress, &result.written);
  } catch (const c10::OutOfMemoryError&) {
    throw_decode_out_of_memory(r, result, policy, outputs);
  } catch (const std::bad_alloc&) {
    throw_decode_out_of_memory(r, result, policy, outputs);
  }
  result.times.decode = seconds_since(t0);
  progress.stage_end("decode", result.times.decode);
  return result;
}

}  // namespace gallop::engine
