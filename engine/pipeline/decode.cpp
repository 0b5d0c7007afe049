#include "engine/pipeline/decode.h"

#include "engine/core/error.h"
#include "engine/io/image_writer.h"
#include "engine/io/video_writer.h"
#include "engine/pipeline/latents.h"
#include "engine/weights/safetensors.h"

namespace gallop::engine {

namespace fs = std::filesystem;

int64_t decode_to_outputs(models::vae::WanVAE& vae, const at::Tensor& latents, const DecodeOutputs& outputs,
                          Progress& progress, std::vector<fs::path>* written) {
  torch::NoGradGuard no_grad;
  GALLOP_CHECK(latents.dim() == 5 && latents.size(0) == 1, Internal, "decode: latents must be [1, C, T, h, w], got ",
               latents.sizes());
  const int64_t latent_frames = latents.size(2);
  const int spatial = static_cast<int>(vae.config().spatial_factor());
  VideoWriter writer;
  if (!outputs.video.empty()) {
    VideoOptions vo;
    vo.fps = FrameRate{outputs.fps, 1};
    vo.crf = outputs.crf;
    writer.open(outputs.video, static_cast<int>(latents.size(4)) * spatial, static_cast<int>(latents.size(3)) * spatial,
                vo);
  }
  int64_t frame_index = 0, chunks = 0;
  vae.decode_streaming(latents, [&](const at::Tensor& chunk) {  // [1, 3, n, H, W] in [-1, 1]
    at::Tensor frames = video_to_uint8_frames(chunk);             // [n, H, W, 3] uint8
    if (writer.is_open()) writer.add_frames(frames);
    if (!outputs.frames.empty()) write_png_frames(outputs.frames, frames, frame_index);
    frame_index += frames.size(0);
    progress.stage_step(static_cast<int>(++chunks), static_cast<int>(latent_frames));
    throw_if_cancelled(progress);
  });
  if (writer.is_open()) {
    writer.finish();
    if (written) written->push_back(outputs.video);
  }
  if (!outputs.frames.empty() && written) written->push_back(outputs.frames);
  return frame_index;
}

SavedLatents read_saved_latents(const fs::path& path) {
  auto file = SafetensorsFile::open(path);
  const std::string where = path.string();
  GALLOP_CHECK(file->contains("latents"), Format, where,
               ": not a gallop latents file (no 'latents' tensor; write one with generate --save-latents)");
  SavedLatents s;
  s.metadata = file->metadata();
  const auto family = s.metadata.find("family");
  GALLOP_CHECK(family != s.metadata.end(), Format, where, ": not a gallop latents file (no 'family' in its metadata)");
  GALLOP_CHECK(family->second == "wan2.1", Format, where, ": latents of model family '", family->second,
               "', but this gallop decodes Wan2.1 latents only");
  at::Tensor t = file->tensor("latents");
  GALLOP_CHECK(at::isFloatingType(t.scalar_type()), Format, where, ": latents have dtype ", t.scalar_type(),
               ", expected floating point");
  GALLOP_CHECK(t.dim() == 4 && t.size(0) == 16 && t.size(1) >= 1 && t.size(2) >= 1 && t.size(3) >= 1, Format, where,
               ": latents have shape ", t.sizes(), ", expected [16, T, h, w] (Wan2.1 VAE latents)");
  s.latents = t.to(at::kFloat).contiguous();
  s.frames = static_cast<int>(1 + 4 * (t.size(1) - 1));
  s.height = static_cast<int>(8 * t.size(2));
  s.width = static_cast<int>(8 * t.size(3));
  auto number = [&](const char* key, int fallback) {
    auto it = s.metadata.find(key);
    if (it == s.metadata.end()) return fallback;
    try {
      return std::stoi(it->second);
    } catch (const std::exception&) {
      fail(ErrorKind::Format, where, ": metadata '", key, "' is not a number: '", it->second, "'");
    }
  };
  s.fps = number("fps", 16);
  GALLOP_CHECK(number("width", s.width) == s.width && number("height", s.height) == s.height, Format, where,
               ": metadata size ", number("width", s.width), "x", number("height", s.height),
               " does not match the latents' grid (", s.width, "x", s.height, ")");
  GALLOP_CHECK(s.fps >= 1 && s.fps <= 240, Format, where, ": metadata fps ", s.fps, " is out of range");
  return s;
}

std::string decode_out_of_memory_message(const fs::path& latents_path, const std::string& model,
                                         const DecodeOutputs& outputs, const std::string& device) {
  std::string cmd = "gallop decode --model '" + model + "' --latents '" + latents_path.string() + "'";
  if (!outputs.video.empty()) cmd += " -o '" + outputs.video.string() + "'";
  if (!outputs.frames.empty()) cmd += " --save-frames '" + outputs.frames.string() + "'";
  return "the VAE decode ran out of memory on " + device + " after denoising finished; the latents are saved in " +
         latents_path.string() + "; decode them later with: " + cmd +
         " (add --device cpu to decode in system memory, or free GPU memory first)";
}

}  // namespace gallop::engine
