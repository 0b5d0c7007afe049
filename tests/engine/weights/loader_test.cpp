// load_module: tensors copied into a small LibTorch module are compared bit for bit with the
// checkpoint (or with the checkpoint rounded by ATen to the requested dtype: the same single
// conversion, so still an exact comparison). Mismatches must come back together in one error
// that names the file and lists each missing, unexpected and mis-shaped tensor.
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include "engine/core/error.h"
#include "engine/weights/loader.h"
#include "engine/weights/safetensors.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using gallop::Error;
using gallop::ErrorKind;
using gallop::engine::compose_mappers;
using gallop::engine::identity_mapper;
using gallop::engine::load_module;
using gallop::engine::LoadOptions;
using gallop::engine::strip_prefix_mapper;
using gallop::engine::TensorSource;
using gallop::engine::write_safetensors;
using gallop::testing::data_path;
using gallop::testing::Identical;
using gallop::testing::TempDir;

namespace {

using Named = std::vector<std::pair<std::string, at::Tensor>>;

// lin.weight [4, 3], lin.bias [4], norm_weight [4] (parameters); ids [5] int64 (buffer).
struct Tiny : torch::nn::Module {
  Tiny() {
    lin = register_module("lin", torch::nn::Linear(3, 4));
    norm_weight = register_parameter("norm_weight", torch::ones({4}));
    ids = register_buffer("ids", torch::zeros({5}, torch::kLong));
  }
  torch::nn::Linear lin{nullptr};
  torch::Tensor norm_weight, ids;
};

Named tiny_checkpoint(const std::string& prefix = "") {
  auto g = at::make_generator<at::CPUGeneratorImpl>(3);
  return {{prefix + "lin.weight", at::randn({4, 3}, g)},
          {prefix + "lin.bias", at::randn({4}, g).to(at::kBFloat16)},
          {prefix + "norm_weight", at::randn({4}, g)},
          {prefix + "ids", at::arange(5, at::kLong) * 7}};
}

std::shared_ptr<const TensorSource> save(const TempDir& dir, const Named& tensors) {
  write_safetensors(dir / "ckpt.safetensors", tensors);
  return TensorSource::open(dir / "ckpt.safetensors");
}

std::string load_error(torch::nn::Module& m, const TensorSource& s, const gallop::engine::KeyMapper& mapper) {
  try {
    load_module(m, s, mapper);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_NE(std::string(e.what()).find(s.path().string()), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "mismatched checkpoint was loaded";
  return "";
}

}  // namespace

TEST(Loader, KeepsCheckpointDtypes) {
  TempDir dir;
  const Named ckpt = tiny_checkpoint();
  auto src = save(dir, ckpt);
  Tiny m;
  const auto report = load_module(m, *src, identity_mapper());
  EXPECT_EQ(report.loaded, 4);
  EXPECT_TRUE(Identical(m.lin->weight, ckpt[0].second));
  EXPECT_TRUE(Identical(m.lin->bias, ckpt[1].second));  // now bf16, as stored
  EXPECT_TRUE(Identical(m.norm_weight, ckpt[2].second));
  EXPECT_TRUE(Identical(m.ids, ckpt[3].second));
  EXPECT_FALSE(m.lin->weight.requires_grad() && m.lin->weight.grad_fn());
}

TEST(Loader, ConvertsWithPerParameterOverride) {
  TempDir dir;
  const Named ckpt = tiny_checkpoint();
  auto src = save(dir, ckpt);
  Tiny m;
  LoadOptions opts;
  opts.dtype = at::kBFloat16;
  opts.dtype_override = [](const std::string& name) -> std::optional<at::ScalarType> {
    if (name == "norm_weight") return at::kFloat;
    return std::nullopt;
  };
  load_module(m, *src, identity_mapper(), opts);
  EXPECT_TRUE(Identical(m.lin->weight, ckpt[0].second.to(at::kBFloat16)));
  EXPECT_TRUE(Identical(m.lin->bias, ckpt[1].second));
  EXPECT_TRUE(Identical(m.norm_weight, ckpt[2].second));  // kept in fp32
  EXPECT_EQ(m.ids.scalar_type(), at::kLong);              // integers never converted
  EXPECT_TRUE(Identical(m.ids, ckpt[3].second));
  // The module's own handles see the new tensors.
  EXPECT_EQ(m.named_parameters()["lin.weight"].scalar_type(), at::kBFloat16);
}

TEST(Loader, StripsPrefixAndIgnoresOtherModels) {
  TempDir dir;
  Named ckpt = tiny_checkpoint("model.diffusion_model.");
  ckpt.emplace_back("first_stage_model.conv.weight", at::zeros({2}));
  auto src = save(dir, ckpt);
  Tiny m;
  const auto report = load_module(m, *src, strip_prefix_mapper("model.diffusion_model."));
  EXPECT_EQ(report.loaded, 4);
  EXPECT_EQ(report.ignored, std::vector<std::string>{"first_stage_model.conv.weight"});
  EXPECT_TRUE(Identical(m.norm_weight, ckpt[2].second));
}

TEST(Loader, ReportsEveryMismatchTogether) {
  TempDir dir;
  const Named good = tiny_checkpoint();
  auto src = save(dir, {{"lin.weight", at::zeros({3, 4})}, good[2], good[3], {"extra.w", at::zeros({1})}});
  Tiny m;
  const at::Tensor before = m.lin->weight.clone();
  const std::string msg = load_error(m, *src, identity_mapper());
  EXPECT_NE(msg.find("1 missing: 'lin.bias'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 unexpected: 'extra.w'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 mis-shaped: 'lin.weight' is [3, 4] in the checkpoint but [4, 3] in the module"),
            std::string::npos)
      << msg;
  EXPECT_TRUE(Identical(m.lin->weight, before)) << "nothing may be copied when the check fails";
  EXPECT_TRUE(Identical(m.norm_weight, at::ones({4})));
}

TEST(Loader, ListsTheFirstTwentyOfEachGroup) {
  struct Many : torch::nn::Module {
    Many() {
      for (int i = 0; i < 25; ++i) register_parameter("p" + std::to_string(i), torch::zeros({1}));
    }
  };
  TempDir dir;
  auto src = save(dir, {{"unrelated", at::zeros({1})}});
  Many m;
  const std::string msg = load_error(m, *src, identity_mapper());
  EXPECT_NE(msg.find("25 missing: "), std::string::npos) << msg;
  EXPECT_NE(msg.find("... (5 more)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1 unexpected: 'unrelated'"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "the error must stay one line";
}

TEST(Loader, TiedAliasesAndOptionalBuffers) {
  TempDir dir;
  const Named ckpt = tiny_checkpoint();
  // Both names of a tied weight map to lin.weight; ids is absent but allowed to be.
  auto src = save(dir, {{"shared.weight", ckpt[0].second}, {"encoder.embed_tokens.weight", ckpt[0].second},
                        ckpt[1], ckpt[2]});
  auto mapper = [](const std::string& key) -> std::optional<std::string> {
    if (key == "shared.weight" || key == "encoder.embed_tokens.weight") return std::string("lin.weight");
    return key;
  };
  Tiny m;
  LoadOptions opts;
  opts.may_be_missing = [](const std::string& name) { return name == "ids"; };
  const auto report = load_module(m, *src, mapper, opts);
  EXPECT_EQ(report.loaded, 3);
  EXPECT_EQ(report.aliases.size(), 1u);
  EXPECT_TRUE(Identical(m.lin->weight, ckpt[0].second));
  EXPECT_TRUE(Identical(m.ids, at::zeros({5}, at::kLong)));

  // Aliases that disagree are an error.
  auto src2 = save(dir, {{"shared.weight", ckpt[0].second}, {"encoder.embed_tokens.weight", at::zeros({4, 3}, at::kHalf)},
                         ckpt[1], ckpt[2], ckpt[3]});
  Tiny m2;
  const std::string msg = load_error(m2, *src2, mapper);
  EXPECT_NE(msg.find("both fill 'lin.weight' but differ"), std::string::npos) << msg;
}

TEST(Loader, LoadsNonContiguousPthViews) {
  struct Views : torch::nn::Module {
    Views() {
      wt = register_parameter("wt", torch::zeros({3, 4}));
      slice = register_parameter("slice", torch::zeros({3, 3}));
    }
    torch::Tensor wt, slice;
  };
  auto src = TensorSource::open(data_path("weights/good.pth"));
  auto expected = TensorSource::open(data_path("weights/good_expected.safetensors"));
  auto mapper = [](const std::string& key) -> std::optional<std::string> {
    if (key == "linear.weight_t") return std::string("wt");
    if (key == "slice") return key;
    return std::nullopt;
  };
  Views m;
  load_module(m, *src, mapper);
  EXPECT_TRUE(Identical(m.wt, expected->tensor("linear.weight_t")));
  EXPECT_TRUE(Identical(m.slice, expected->tensor("slice")));
  EXPECT_TRUE(m.wt.is_contiguous());
}

TEST(Loader, ComposedMappers) {
  auto m = compose_mappers(strip_prefix_mapper("a."), [](const std::string& k) -> std::optional<std::string> {
    if (k == "drop") return std::nullopt;
    return "x." + k;
  });
  EXPECT_EQ(m("a.w"), std::optional<std::string>("x.w"));
  EXPECT_EQ(m("b.w"), std::nullopt);
  EXPECT_EQ(m("a.drop"), std::nullopt);
}
