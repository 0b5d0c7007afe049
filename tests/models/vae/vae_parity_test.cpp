// WanVAE decode/encode parity against diffusers' AutoencoderKLWan (whose chunked causal algorithm
// is the official one; see tools/reference/vae_golden.py), on two configurations:
//   tiny  base_dim 6, same structure as the real VAE, random bf16-exact weights committed in
//         tests/data/vae/tiny_weights.safetensors; decode [1,16,3,4,6] -> [1,3,9,32,48] and encode
//         of a 9-frame 32x48 video (tests/data/vae/tiny_io.safetensors);
//   real  the real architecture (base_dim 96, 126.9M parameters) with deterministic weights that
//         this test regenerates (vae_test_weights.h; checked bit for bit against the weight probe
//         of the golden); decode [1,16,2,2,2] -> [1,3,5,16,16] and encode of 5 frames of 16x16
//         (tests/data/vae/real_io.safetensors).
// Tolerances:
//  * fp32: relative error (max|a-b| / max|ref|) <= 1e-4.
//  * bf16 (VaeRunOptions::compute_dtype = kBFloat16, weights cast to bf16): max error against the
//    fp32 reference at most 2x the error of diffusers' own bf16 run (all weights bf16) + atol 1e-3
//    (a few bf16 ulps of values of order 1, for outputs where both errors are tiny).
//  * streaming decode: bit-identical to the one-shot decode; frames out = 1 + 4(T-1).
// The measured errors are printed.
#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <string>

#include "engine/weights/safetensors.h"
#include "models/vae/wan_vae.h"
#include "tests/models/vae/vae_test_weights.h"
#include "tests/testing/module_io.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using gallop::engine::SafetensorsFile;
using gallop::models::vae::VaeConfig;
using gallop::models::vae::VaeRunOptions;
using gallop::models::vae::WanVAE;
using gallop::testing::Identical;
using gallop::testing::max_abs_error;
using gallop::testing::relative_error;
using gallop::testing::RelClose;
using gallop::testing::WithinBaselineError;

namespace {

constexpr double kFp32Rtol = 1e-4;
constexpr double kBf16Factor = 2.0;
constexpr double kBf16Atol = 1e-3;
constexpr uint64_t kRealWeightSeed = 7000;  // tools/reference/vae_golden.py REAL_SEED

VaeRunOptions bf16_options() {
  VaeRunOptions o;
  o.compute_dtype = at::kBFloat16;
  return o;
}

void report(const std::string& what, const at::Tensor& ours, const at::Tensor& ref) {
  std::cout << "[ measured ] " << what << ": relative error " << relative_error(ours, ref) << ", max abs error "
            << max_abs_error(ours, ref) << std::endl;
}

// Shared checks of one configuration against its golden file.
class VaeParity : public ::testing::Test {
 protected:
  at::Tensor golden(const std::string& name) const { return io_->tensor(name).to(at::kFloat); }

  void check_decode_fp32(const std::string& tag) {
    const at::Tensor ours = vae_->decode(golden("decode.z"));
    report(tag + " decode fp32 vs diffusers", ours, golden("decode.out_fp32"));
    EXPECT_TRUE(RelClose(ours, golden("decode.out_fp32"), kFp32Rtol));
  }
  void check_encode_fp32(const std::string& tag) {
    const at::Tensor ours = vae_->encode(golden("encode.video"));
    report(tag + " encode fp32 vs diffusers", ours, golden("encode.out_fp32"));
    EXPECT_TRUE(RelClose(ours, golden("encode.out_fp32"), kFp32Rtol));
  }
  void check_bf16(const std::string& tag) {
    vae_->cast_weights(at::kBFloat16);
    for (const auto& p : vae_->parameters()) ASSERT_EQ(p.scalar_type(), at::kBFloat16);
    const at::Tensor dec = vae_->decode(golden("decode.z"), bf16_options());
    const at::Tensor enc = vae_->encode(golden("encode.video"), bf16_options());
    EXPECT_EQ(dec.scalar_type(), at::kFloat);
    EXPECT_EQ(enc.scalar_type(), at::kFloat);
    report(tag + " decode bf16 vs fp32 reference", dec, golden("decode.out_fp32"));
    report(tag + " decode diffusers-bf16 vs fp32 reference", golden("decode.out_bf16"), golden("decode.out_fp32"));
    report(tag + " encode bf16 vs fp32 reference", enc, golden("encode.out_fp32"));
    report(tag + " encode diffusers-bf16 vs fp32 reference", golden("encode.out_bf16"), golden("encode.out_fp32"));
    EXPECT_TRUE(WithinBaselineError(dec, golden("decode.out_bf16"), golden("decode.out_fp32"), kBf16Factor, kBf16Atol));
    EXPECT_TRUE(WithinBaselineError(enc, golden("encode.out_bf16"), golden("encode.out_fp32"), kBf16Factor, kBf16Atol));
  }

  std::shared_ptr<const SafetensorsFile> io_;
  std::shared_ptr<WanVAE> vae_;
};

// ---- tiny config --------------------------------------------------------------------------------
class TinyVae : public VaeParity {
 protected:
  void SetUp() override {
    auto weights = SafetensorsFile::open(gallop::testing::data_path("vae/tiny_weights.safetensors"));
    io_ = SafetensorsFile::open(gallop::testing::data_path("vae/tiny_io.safetensors"));
    VaeConfig config = VaeConfig::wan21();
    config.base_dim = std::stoll(io_->metadata().at("base_dim"));
    vae_ = std::make_shared<WanVAE>(config, at::TensorOptions().dtype(at::kFloat));
    gallop::testing::load_parameters(*vae_, *weights);
  }
};

TEST_F(TinyVae, DecodeMatchesDiffusersFp32) { check_decode_fp32("tiny"); }
TEST_F(TinyVae, EncodeMatchesDiffusersFp32) { check_encode_fp32("tiny"); }
TEST_F(TinyVae, Bf16WithinTheErrorOfDiffusersBf16) { check_bf16("tiny"); }

TEST_F(TinyVae, StreamingDecodeGivesTheOneShotFrames) {
  const at::Tensor z = golden("decode.z");  // [1, 16, 3, 4, 6]
  const at::Tensor whole = vae_->decode(z);
  std::vector<at::Tensor> chunks;
  vae_->decode_streaming(z, [&](const at::Tensor& frames) { chunks.push_back(frames); });
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].size(2), 1);
  EXPECT_EQ(chunks[1].size(2), 4);
  EXPECT_EQ(chunks[2].size(2), 4);
  EXPECT_TRUE(Identical(at::cat(chunks, 2), whole));
  EXPECT_LE(whole.abs().max().item<float>(), 1.0f);
}

TEST_F(TinyVae, FramesOutIsOnePlusFourTimesLatentFramesMinusOne) {
  for (int64_t t : {1, 2, 4}) {
    const at::Tensor z = at::randn({1, 16, t, 2, 3});
    const at::Tensor video = vae_->decode(z);
    EXPECT_EQ(video.sizes(), (std::vector<int64_t>{1, 3, 1 + 4 * (t - 1), 16, 24})) << "T = " << t;
  }
  // And encoding such a video gives back T latent frames.
  const at::Tensor latents = vae_->encode(at::rand({2, 3, 13, 16, 24}) * 2 - 1);
  EXPECT_EQ(latents.sizes(), (std::vector<int64_t>{2, 16, 4, 2, 3}));
}

// ---- real architecture -----------------------------------------------------------------------------
class RealVae : public VaeParity {
 protected:
  void SetUp() override {
    io_ = SafetensorsFile::open(gallop::testing::data_path("vae/real_io.safetensors"));
    vae_ = std::make_shared<WanVAE>(VaeConfig::wan21(), at::TensorOptions().dtype(at::kFloat));
    gallop::testing::vae::fill_deterministic(*vae_, kRealWeightSeed);
  }
};

TEST_F(RealVae, WeightsAreTheGoldenOnesBitForBit) {
  EXPECT_TRUE(Identical(gallop::testing::vae::weight_probe(*vae_), golden("weight_probe")));
}
TEST_F(RealVae, DecodeMatchesDiffusersFp32) { check_decode_fp32("real"); }
TEST_F(RealVae, EncodeMatchesDiffusersFp32) { check_encode_fp32("real"); }
TEST_F(RealVae, Bf16WithinTheErrorOfDiffusersBf16) { check_bf16("real"); }

}  // namespace
