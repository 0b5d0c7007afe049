// UMT5Encoder construction and input contract, without goldens: the real-size model builds on the
// meta device with the parameter count derived from spec §3.1 shapes;
// mis-shaped or mistyped ids/mask, out-of-range ids and unsupported compute dtypes are rejected with
// a message naming the problem; int32 ids / bool mask give bit-identical results to int64; casting
// the weights once (cast_weights_for_compute) is bit-identical to casting them per use.
// Exact comparisons throughout.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "models/text_encoder/umt5.h"
#include "tests/testing/tensor_compare.h"

using gallop::models::text_encoder::UMT5Config;
using gallop::models::text_encoder::UMT5Encoder;
using gallop::testing::Identical;

namespace {

UMT5Config tiny_config() {
  UMT5Config c;
  c.vocab_size = 50;
  c.d_model = 16;
  c.d_kv = 4;
  c.num_heads = 2;
  c.d_ff = 24;
  c.num_layers = 2;
  return c;
}

// A tiny model with random fp32 weights scaled so activations stay O(1).
UMT5Encoder tiny_model() {
  UMT5Encoder m(tiny_config());
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  torch::NoGradGuard no_grad;
  for (auto& p : m->named_parameters()) {
    const bool is_norm = p.value().dim() == 1;
    const double std = is_norm ? 0.1 : 1.0 / std::sqrt(static_cast<double>(p.value().size(1)));
    p.value().copy_(at::randn(p.value().sizes(), gen) * std + (is_norm ? 1.0 : 0.0));
  }
  return m;
}

// Token ids in [3, 50) from a fixed seed: [rows, cols]
at::Tensor sample_ids(int64_t rows, int64_t cols) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  return at::randint(3, 50, {rows, cols}, gen, at::kLong);
}

template <typename Fn>
void expect_error(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what_without_backtrace()).find(needle), std::string::npos) << e.what_without_backtrace();
  }
}

TEST(UMT5Encoder, RealSizeOnMeta) {
  const UMT5Config c = UMT5Config::umt5_xxl();
  UMT5Encoder m(c, at::TensorOptions().device(at::kMeta).dtype(at::kBFloat16));
  int64_t count = 0;
  for (const auto& p : m->parameters()) {
    EXPECT_TRUE(p.is_meta());
    EXPECT_EQ(p.scalar_type(), at::kBFloat16);
    EXPECT_FALSE(p.requires_grad());
    count += p.numel();
  }
  // embedding + 24 × (q, k, v, o + bias table + 2 norms + gate, fc1, fc2) + final norm
  const int64_t per_block = 4 * 4096 * 4096 + 32 * 64 + 2 * 4096 + 3 * 4096 * 10240;
  EXPECT_EQ(count, 256384LL * 4096 + 24 * per_block + 4096);
}

TEST(UMT5Encoder, RejectsBadConfig) {
  UMT5Config c = tiny_config();
  c.num_heads = 0;
  EXPECT_THROW(UMT5Encoder(c, at::TensorOptions().device(at::kMeta)), std::invalid_argument);
}

TEST(UMT5Encoder, RejectsBadInputs) {
  UMT5Encoder m = tiny_model();
  const at::Tensor ids = sample_ids(2, 9);  // [2, 9]
  const at::Tensor mask = at::ones({2, 9}, at::kLong);           // [2, 9]
  expect_error([&] { m->forward(ids.flatten(), mask.flatten(), at::kFloat); }, "ids must be [B, L]");
  expect_error([&] { m->forward(ids, mask.narrow(1, 0, 8), at::kFloat); }, "mask must have the shape of ids");
  expect_error([&] { m->forward(ids, mask.unsqueeze(0), at::kFloat); }, "mask must have the shape of ids");
  expect_error([&] { m->forward(ids, at::Tensor(), at::kFloat); }, "mask must have the shape of ids");
  expect_error([&] { m->forward(ids.to(at::kFloat), mask, at::kFloat); }, "ids must be int64 or int32");
  expect_error([&] { m->forward(ids, mask.to(at::kFloat), at::kFloat); }, "mask must be bool or integer");
  expect_error([&] { m->forward(ids.narrow(1, 0, 0), mask.narrow(1, 0, 0), at::kFloat); }, "non-empty");
  expect_error([&] { m->forward(ids + 50, mask, at::kFloat); }, "token ids must lie in [0, 50)");
  expect_error([&] { m->forward(ids - 60, mask, at::kFloat); }, "token ids must lie in [0, 50)");
  expect_error([&] { m->forward(ids, mask, at::kHalf); }, "compute dtype must be Float or BFloat16");
  expect_error([&] { m->cast_weights_for_compute(at::kDouble); }, "compute dtype must be Float or BFloat16");
}

TEST(UMT5Encoder, IdAndMaskTypesDoNotChangeTheResult) {
  UMT5Encoder m = tiny_model();
  const at::Tensor ids = sample_ids(2, 9);  // [2, 9]
  const at::Tensor mask = at::arange(9, at::kLong).lt(at::tensor({6L, 9L}).unsqueeze(1)).to(at::kLong);  // [2, 9]
  const at::Tensor ref = m->forward(ids, mask, at::kFloat);  // [2, 9, 16]
  EXPECT_EQ(ref.sizes(), (std::vector<int64_t>{2, 9, 16}));
  EXPECT_EQ(ref.scalar_type(), at::kFloat);
  EXPECT_TRUE(Identical(m->forward(ids.to(at::kInt), mask.to(at::kBool), at::kFloat), ref));
  // Padding changes the real rows' values: the mask is applied (keys 6..8 of prompt 0).
  const at::Tensor unmasked = m->forward(ids, at::ones_like(mask), at::kFloat);
  EXPECT_FALSE(unmasked.narrow(0, 0, 1).equal(ref.narrow(0, 0, 1)));
  EXPECT_TRUE(Identical(unmasked.narrow(0, 1, 1), ref.narrow(0, 1, 1)));
}

TEST(UMT5Encoder, PrecastIsBitIdenticalToCastPerUse) {
  UMT5Encoder m = tiny_model();
  const at::Tensor ids = sample_ids(1, 12);  // [1, 12]
  const at::Tensor mask = at::ones({1, 12}, at::kLong);           // [1, 12]
  const at::Tensor per_use = m->forward(ids, mask, at::kBFloat16);  // fp32 weights, cast per use
  m->cast_weights_for_compute(at::kBFloat16);
  for (const auto& p : m->parameters()) EXPECT_EQ(p.scalar_type(), at::kBFloat16);
  const at::Tensor precast = m->forward(ids, mask, at::kBFloat16);
  EXPECT_EQ(precast.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(Identical(precast, per_use));
}

}  // namespace
