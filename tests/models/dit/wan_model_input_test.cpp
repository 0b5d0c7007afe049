// WanModel input handling, without goldens: wrong input shapes fail with a c10::Error that names
// the problem (channels, a grid not divisible by the patch, context width/length, missing or
// unexpected I2V inputs, FLF2V token count, timestep shape, compute dtype); pad_text_context
// copies each embedding and leaves exact zeros after it; cast_weights gives each parameter the
// dtype of weight_dtype(). Exact checks.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "models/dit/wan_model.h"
#include "tests/testing/tensor_compare.h"

using gallop::models::dit::DitConfig;
using gallop::models::dit::ForwardOptions;
using gallop::models::dit::ModelType;
using gallop::models::dit::pad_text_context;
using gallop::models::dit::WanModel;

namespace {

DitConfig tiny(ModelType type) {
  DitConfig c;
  c.model_type = type;
  c.in_dim = type == ModelType::T2V ? 16 : 36;
  c.dim = 64;
  c.ffn_dim = 128;
  c.num_heads = 2;
  c.num_layers = 1;
  c.text_dim = 32;
  c.image_dim = 32;
  return c;
}

// The c10::Error message of `f`, or "" when it does not throw.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

#define EXPECT_ERROR_MENTIONS(stmt, text) \
  EXPECT_NE(error_of([&] { stmt; }).find(text), std::string::npos) << "expected an error mentioning " << text

}  // namespace

TEST(WanModelInputs, T2VShapeErrors) {
  WanModel model(tiny(ModelType::T2V), at::TensorOptions().dtype(at::kFloat));
  auto x = at::zeros({1, 16, 2, 4, 6});
  auto t = at::tensor({999L});
  auto ctx = at::zeros({1, 512, 32});
  EXPECT_ERROR_MENTIONS(model->forward(at::zeros({1, 15, 2, 4, 6}), t, ctx), "channels");
  EXPECT_ERROR_MENTIONS(model->forward(at::zeros({1, 16, 2, 5, 6}), t, ctx), "not divisible by the patch");
  EXPECT_ERROR_MENTIONS(model->forward(at::zeros({1, 16, 2, 4, 7}), t, ctx), "not divisible by the patch");
  EXPECT_ERROR_MENTIONS(model->forward(at::zeros({16, 2, 4, 6}), t, ctx), "x must be [B, C, T, h, w]");
  EXPECT_ERROR_MENTIONS(model->forward(x, t, at::zeros({1, 512, 31})), "context must be [1, 512, 32]");
  EXPECT_ERROR_MENTIONS(model->forward(x, t, at::zeros({1, 20, 32})), "context must be [1, 512, 32]");
  EXPECT_ERROR_MENTIONS(model->forward(x, at::tensor({999L, 999L}), ctx), "t must be [1]");
  EXPECT_ERROR_MENTIONS(model->forward(x, t, ctx, at::zeros({1, 257, 32}), at::zeros({1, 20, 2, 4, 6})),
                        "t2v model takes no clip_fea or y");
  ForwardOptions half;
  half.compute_dtype = at::kHalf;
  EXPECT_ERROR_MENTIONS(model->forward(x, t, ctx, {}, {}, half), "compute dtype");
}

TEST(WanModelInputs, ImageModelShapeErrors) {
  WanModel i2v(tiny(ModelType::I2V), at::TensorOptions().dtype(at::kFloat));
  auto x = at::zeros({1, 16, 3, 6, 10});
  auto y = at::zeros({1, 20, 3, 6, 10});
  auto t = at::tensor({500L});
  auto ctx = at::zeros({1, 512, 32});
  auto clip = at::zeros({1, 257, 32});
  EXPECT_ERROR_MENTIONS(i2v->forward(x, t, ctx, clip, {}), "needs the conditioning y");
  EXPECT_ERROR_MENTIONS(i2v->forward(x, t, ctx, {}, y), "needs clip_fea");
  EXPECT_ERROR_MENTIONS(i2v->forward(x, t, ctx, clip, at::zeros({1, 19, 3, 6, 10})), "36 channels together");
  EXPECT_ERROR_MENTIONS(i2v->forward(x, t, ctx, clip, at::zeros({1, 20, 3, 6, 8})), "must share B, T, h, w");
  EXPECT_ERROR_MENTIONS(i2v->forward(x, t, ctx, at::zeros({1, 257, 1280}), y), "clip_fea must be [1, N, 32]");
  WanModel flf(tiny(ModelType::FLF2V), at::TensorOptions().dtype(at::kFloat));
  EXPECT_ERROR_MENTIONS(flf->forward(x, t, ctx, clip, y), "514 tokens");
}

TEST(WanModelInputs, OddGridRunsAndKeepsShape) {
  at::manual_seed(3);
  WanModel model(tiny(ModelType::T2V), at::TensorOptions().dtype(at::kFloat));
  for (auto& p : model->parameters()) p.normal_(0.0, 0.05);
  auto out = model->forward(at::randn({1, 16, 3, 6, 10}), at::tensor({999L}), at::randn({1, 512, 32}));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 16, 3, 6, 10}));
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
}

TEST(WanModelInputs, PadTextContext) {
  auto a = at::randn({3, 8});
  auto b = at::randn({5, 8});
  auto padded = pad_text_context({a, b}, 16);  // [2, 16, 8]
  ASSERT_EQ(padded.sizes(), (std::vector<int64_t>{2, 16, 8}));
  EXPECT_TRUE(gallop::testing::Identical(padded[0].narrow(0, 0, 3), a));
  EXPECT_TRUE(gallop::testing::Identical(padded[1].narrow(0, 0, 5), b));
  EXPECT_TRUE(gallop::testing::Identical(padded[0].narrow(0, 3, 13), at::zeros({13, 8})));
  EXPECT_TRUE(gallop::testing::Identical(padded[1].narrow(0, 5, 11), at::zeros({11, 8})));
  EXPECT_THROW(pad_text_context({at::randn({17, 8})}, 16), c10::Error);
  EXPECT_THROW(pad_text_context({a, at::randn({2, 7})}, 16), c10::Error);
  EXPECT_THROW(pad_text_context({}, 16), c10::Error);
}

TEST(WanModelInputs, CastWeightsFollowsThePolicy) {
  WanModel model(tiny(ModelType::FLF2V), at::TensorOptions().dtype(at::kFloat));
  model->cast_weights(at::kBFloat16);
  for (const auto& p : model->named_parameters())
    EXPECT_EQ(p.value().scalar_type(), gallop::models::dit::weight_dtype(p.key(), at::kBFloat16)) << p.key();
  EXPECT_EQ(model->named_parameters()["blocks.0.self_attn.q.weight"].scalar_type(), at::kBFloat16);
  EXPECT_EQ(model->named_parameters()["head.head.weight"].scalar_type(), at::kFloat);
  model->cast_weights(at::kFloat);
  for (const auto& p : model->parameters()) EXPECT_EQ(p.scalar_type(), at::kFloat);
}
