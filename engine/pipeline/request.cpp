#include "engine/pipeline/request.h"

#include <ATen/Context.h>

#include <cmath>
#include <random>
#include <regex>

#include "engine/core/atomic_file.h"
#include "engine/core/error.h"

namespace gallop::engine {

at::Device parse_device(const std::string& name) {
  if (name == "auto") return at::hasCUDA() ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  if (name == "cpu") return at::kCPU;
  static const std::regex cuda_re("cuda(:([0-9]+))?");
  std::smatch m;
  if (std::regex_match(name, m, cuda_re)) {
    const int index = m[2].matched ? std::stoi(m[2].str()) : 0;
    if (!at::hasCUDA())
      fail(ErrorKind::InvalidArgument, "device '", name, "' requested but no CUDA GPU is visible to this build");
    return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  fail(ErrorKind::InvalidArgument, "unknown device '", name, "' (expected auto, cpu, cuda or cuda:N)");
}

at::ScalarType parse_dtype(const std::string& name) {
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  if (name == "fp32" || name == "float32") return at::kFloat;
  fail(ErrorKind::InvalidArgument, "unknown dtype '", name, "' (expected bf16 or fp32)");
}

std::pair<int, int> parse_size(const std::string& text) {
  static const std::regex size_re("([0-9]{1,5})[x*X]([0-9]{1,5})");
  std::smatch m;
  if (!std::regex_match(text, m, size_re))
    fail(ErrorKind::InvalidArgument, "size '", text, "' is not WIDTHxHEIGHT (e.g. 832x480 or 832*480)");
  return {std::stoi(m[1].str()), std::stoi(m[2].str())};
}

const std::string& official_negative_prompt_t2v() {
  static const std::string s =
      "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，"
      "丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，"
      "静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走";
  return s;
}

const std::string& official_negative_prompt_i2v() {
  static const std::string s = "镜头晃动，" + official_negative_prompt_t2v();
  return s;
}

uint64_t draw_seed() {
  std::random_device rd;
  const uint64_t hi = rd(), lo = rd();
  return ((hi << 32) ^ lo) & 0x7fffffffffffffffULL;
}

ResolvedGenerate resolve_generate(const GenerateRequest& r, const ModelDefaults& d) {
  ResolvedGenerate out;
  out.model = r.model;
  out.prompt = r.prompt;
  GALLOP_CHECK(!r.prompt.empty(), InvalidArgument, "the prompt is empty (give --prompt TEXT)");
  out.negative_prompt = r.negative_prompt.value_or(d.negative_prompt);

  GALLOP_CHECK(r.width.has_value() == r.height.has_value(), InvalidArgument, "give both width and height");
  out.width = r.width.value_or(d.width);
  out.height = r.height.value_or(d.height);
  GALLOP_CHECK(out.width > 0 && out.height > 0, InvalidArgument, "size ", out.width, "x", out.height,
               " must be positive");
  GALLOP_CHECK(out.width % 16 == 0 && out.height % 16 == 0, InvalidArgument, "size ", out.width, "x", out.height,
               " is not a multiple of 16 in both dimensions (the VAE downsamples by 8 and the DiT patches by 2)");
  // The RoPE tables cover 1024 positions per axis: 1024 latent patches = 16384 pixels.
  GALLOP_CHECK(out.width <= 16384 && out.height <= 16384, InvalidArgument, "size ", out.width, "x", out.height,
               " exceeds the model's 16384-pixel limit per side");

  out.frames = r.frames.value_or(d.frames);
  GALLOP_CHECK(out.frames >= 1 && (out.frames - 1) % 4 == 0, InvalidArgument, "frames = ", out.frames,
               " is not of the form 4k+1 (1, 5, 9, ..., 81): the VAE compresses time by 4");
  GALLOP_CHECK(out.latent_frames() <= 1024, InvalidArgument, "frames = ", out.frames, " is too many (at most 4093)");

  out.steps = r.steps.value_or(d.steps);
  GALLOP_CHECK(out.steps >= 1, InvalidArgument, "steps = ", out.steps, " must be at least 1");
  GALLOP_CHECK(out.steps <= 1000, InvalidArgument, "steps = ", out.steps, " exceeds the 1000 training timesteps");
  out.guidance = r.guidance.value_or(d.guidance);
  GALLOP_CHECK(std::isfinite(out.guidance), InvalidArgument, "guidance must be a finite number");
  out.shift = r.shift.value_or(d.shift);
  GALLOP_CHECK(std::isfinite(out.shift) && out.shift > 0, InvalidArgument, "shift = ", out.shift,
               " must be a positive number");
  out.solver = r.solver;

  out.fps = r.fps;
  GALLOP_CHECK(out.fps >= 1 && out.fps <= 240, InvalidArgument, "fps = ", out.fps, " must be between 1 and 240");
  out.crf = r.crf;
  GALLOP_CHECK(out.crf >= 0 && out.crf <= 51, InvalidArgument, "crf = ", out.crf, " must be between 0 and 51");

  if (r.seed) {
    out.seed = *r.seed;
  } else {
    out.seed = draw_seed();
    out.seed_was_drawn = true;
  }

  out.output = r.output;
  out.save_latents = r.save_latents;
  out.save_frames = r.save_frames;
  GALLOP_CHECK(!out.output.empty() || !out.save_frames.empty() || !out.save_latents.empty(), InvalidArgument,
               "no output: give -o OUT.mp4 (or --save-frames DIR / --save-latents FILE)");
  if (!out.output.empty()) check_output_writable(out.output);
  if (!out.save_latents.empty()) check_output_writable(out.save_latents);
  if (!out.save_frames.empty()) {
    std::error_code ec;
    if (std::filesystem::exists(out.save_frames, ec))
      GALLOP_CHECK(std::filesystem::is_directory(out.save_frames, ec), InvalidArgument, out.save_frames.string(),
                   ": --save-frames must name a directory");
    else
      check_output_writable(out.save_frames);  // the parent must exist and be writable
  }
  return out;
}

}  // namespace gallop::engine
