// The text-to-video pipeline (Wan2.1 T2V), stage by stage as the official code runs it:
//   encode prompt   tokenizer + umT5 (once for the prompt, once for the negative prompt), then
//                   the encoder is released
//   denoise         seeded noise [16, T, h, w]; per step a conditional and an unconditional DiT
//                   pass, classifier-free guidance in fp32, one solver step; the DiT is released
//   decode          the VAE decodes one latent frame at a time; frames stream into the MP4
//                   encoder (and PNG files) as they come, converted to uint8 as the official code
//                   does
// Progress is reported per stage and step; cancellation is polled between steps and decoded
// chunks. Outputs are written whole or not at all (an MP4 only appears when finished).
#pragma once

#include <filesystem>
#include <vector>

#include "engine/core/progress.h"
#include "engine/pipeline/model_source.h"
#include "engine/pipeline/request.h"

namespace gallop::engine {

struct StageTimes {
  double encode_prompt = 0, denoise = 0, decode = 0;
  std::vector<double> step_seconds;  // wall time of each denoising step (both DiT passes + solver)
};

struct GenerateResult {
  uint64_t seed = 0;
  int64_t frames = 0;
  std::vector<std::filesystem::path> written;  // every file written (MP4, latents, PNG folder)
  at::Tensor latents;                          // final latents [16, T, h, w] fp32 on the CPU
  StageTimes times;
};

// Runs the request to the end. Throws gallop::Error (Cancelled when progress.cancelled() turns
// true; InvalidArgument/NotFound/Format/Io as usual); partial outputs are removed.
GenerateResult generate_video(const ResolvedGenerate& request, const ModelSource& source,
                              const RunPolicy& policy, Progress& progress);

// The __metadata__ of a saved-latents file: every setting that made the latents.
std::map<std::string, std::string> latents_metadata(const ResolvedGenerate& request, const std::string& model,
                                                    const RunPolicy& policy);

}  // namespace gallop::engine
