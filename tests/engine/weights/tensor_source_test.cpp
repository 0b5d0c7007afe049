// TensorSource and sharded safetensors: tensors read through every format (single safetensors
// file, index + shards, shards without an index, .pth) are compared bit for bit with what was
// written (no tolerance: reading is lossless); totals and dtype counts are checked against sums
// computed here. Broken indexes are each refused with their own message naming the index.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/core/error.h"
#include "engine/weights/safetensors.h"
#include "engine/weights/tensor_source.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using gallop::Error;
using gallop::ErrorKind;
using gallop::engine::SourceFormat;
using gallop::engine::TensorSource;
using gallop::engine::write_safetensors;
using gallop::testing::data_path;
using gallop::testing::Identical;
using gallop::testing::TempDir;

namespace {

using Named = std::vector<std::pair<std::string, at::Tensor>>;

Named sample_tensors() {
  auto g = at::make_generator<at::CPUGeneratorImpl>(7);
  return {{"a.weight", at::randn({4, 3}, g)},
          {"b.weight", at::randn({5}, g).to(at::kBFloat16)},
          {"c.ids", at::arange(6, at::kLong)},
          {"d.weight", at::randn({2, 2, 2}, g).to(at::kHalf)}};
}

void write_text(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

// Writes shard1 = {a, b}, shard2 = {c, d} and returns the dir.
void write_shards(const TempDir& dir, const Named& t) {
  write_safetensors(dir / "model-00001-of-00002.safetensors", {t[0], t[1]});
  write_safetensors(dir / "model-00002-of-00002.safetensors", {t[2], t[3]});
}

const char* kGoodIndex = R"({"metadata": {"total_size": 114},
  "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00001-of-00002.safetensors",
                 "c.ids": "model-00002-of-00002.safetensors", "d.weight": "model-00002-of-00002.safetensors"}})";

std::string open_error(const std::filesystem::path& p, ErrorKind kind) {
  try {
    TensorSource::open(p);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << "does not name the file: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << p << " was accepted";
  return "";
}

void expect_holds(const TensorSource& s, const Named& tensors) {
  ASSERT_EQ(s.keys().size(), tensors.size());
  int64_t params = 0;
  uint64_t bytes = 0;
  std::map<at::ScalarType, int64_t> histogram;
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(s.contains(name)) << name;
    EXPECT_EQ(s.info(name).dtype, t.scalar_type()) << name;
    EXPECT_EQ(at::IntArrayRef(s.info(name).shape), t.sizes()) << name;
    EXPECT_TRUE(Identical(s.tensor(name), t)) << name;
    params += t.numel();
    bytes += t.numel() * t.element_size();
    histogram[t.scalar_type()] += 1;
  }
  EXPECT_EQ(s.parameter_count(), params);
  EXPECT_EQ(s.byte_size(), bytes);
  EXPECT_EQ(s.dtype_histogram(), histogram);
  EXPECT_TRUE(std::is_sorted(s.keys().begin(), s.keys().end()));
}

}  // namespace

TEST(TensorSource, SingleSafetensorsFile) {
  TempDir dir;
  const Named t = sample_tensors();
  write_safetensors(dir / "m.safetensors", t, {{"format", "pt"}});
  auto s = TensorSource::open(dir / "m.safetensors");
  EXPECT_EQ(s->format(), SourceFormat::Safetensors);
  EXPECT_EQ(s->metadata().at("format"), "pt");
  EXPECT_EQ(s->files(), std::vector<std::filesystem::path>{dir / "m.safetensors"});
  expect_holds(*s, t);
}

TEST(TensorSource, ShardedIndex) {
  TempDir dir;
  const Named t = sample_tensors();
  write_shards(dir, t);
  write_text(dir / "model.safetensors.index.json", kGoodIndex);
  auto s = TensorSource::open(dir / "model.safetensors.index.json");
  EXPECT_EQ(s->format(), SourceFormat::ShardedSafetensors);
  EXPECT_EQ(s->files().size(), 2u);
  EXPECT_EQ(s->metadata().at("total_size"), "114");
  expect_holds(*s, t);
}

TEST(TensorSource, ShardsWithoutIndex) {
  TempDir dir;
  const Named t = sample_tensors();
  write_shards(dir, t);
  auto s = TensorSource::open_shards({dir / "model-00001-of-00002.safetensors", dir / "model-00002-of-00002.safetensors"});
  expect_holds(*s, t);

  write_safetensors(dir / "extra.safetensors", {t[0]});
  try {
    TensorSource::open_shards({dir / "model-00001-of-00002.safetensors", dir / "extra.safetensors"});
    FAIL() << "a tensor in two shards was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'a.weight' is in two shards"), std::string::npos) << e.what();
  }
}

TEST(TensorSource, PthStateDict) {
  auto s = TensorSource::open(data_path("weights/good.pth"));
  EXPECT_EQ(s->format(), SourceFormat::Pth);
  auto expected = TensorSource::open(data_path("weights/good_expected.safetensors"));
  ASSERT_EQ(s->keys(), expected->keys());
  for (const auto& name : s->keys()) {
    EXPECT_EQ(s->info(name).shape, expected->info(name).shape) << name;
    EXPECT_TRUE(Identical(s->tensor(name).contiguous(), expected->tensor(name))) << name;
  }
  EXPECT_EQ(s->parameter_count(), expected->parameter_count());
  EXPECT_EQ(s->byte_size(), expected->byte_size());
}

TEST(TensorSource, UnknownNameAndMissingPath) {
  TempDir dir;
  write_safetensors(dir / "m.safetensors", sample_tensors());
  auto s = TensorSource::open(dir / "m.safetensors");
  try {
    s->tensor("nope");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  }
  EXPECT_NE(open_error(dir / "absent.safetensors", ErrorKind::NotFound).find("no such file"), std::string::npos);
  EXPECT_NE(open_error(dir.path(), ErrorKind::InvalidArgument).find("is a folder"), std::string::npos);
}

// Each broken index is refused with its own message naming the index.
TEST(TensorSource, RejectsBrokenIndexes) {
  TempDir dir;
  const Named t = sample_tensors();
  write_shards(dir, t);
  const std::string s1 = "model-00001-of-00002.safetensors", s2 = "model-00002-of-00002.safetensors";
  struct Case {
    const char* what;
    std::string index;
    ErrorKind kind;
    std::string message;
  };
  const Case cases[] = {
      {"invalid JSON", "{", ErrorKind::Format, "safetensors index is not valid JSON"},
      {"no weight_map", R"({"metadata": {}})", ErrorKind::Format, "no 'weight_map' object"},
      {"empty weight_map", R"({"weight_map": {}})", ErrorKind::Format, "'weight_map' is empty"},
      {"non-string shard", R"({"weight_map": {"a.weight": 1}})", ErrorKind::Format,
       "weight_map entry for 'a.weight' is not a file name string"},
      {"path outside the folder", R"({"weight_map": {"a.weight": "../x.safetensors"}})", ErrorKind::Format,
       "not a plain file name"},
      {"missing shard",
       R"({"weight_map": {"a.weight": "gone.safetensors"}})", ErrorKind::NotFound,
       "shard gone.safetensors is listed in the index but"},
      {"key in the wrong shard",
       R"({"weight_map": {"a.weight": ")" + s1 + R"(", "b.weight": ")" + s2 + R"(", "c.ids": ")" + s2 +
           R"(", "d.weight": ")" + s2 + R"("}})",
       ErrorKind::Format, "maps tensor 'b.weight' to shard " + s2 + " but that shard does not contain it"},
      {"tensor the index does not list",
       R"({"weight_map": {"a.weight": ")" + s1 + R"(", "b.weight": ")" + s1 + R"(", "c.ids": ")" + s2 + R"("}})",
       ErrorKind::Format, "shard " + s2 + " holds tensor 'd.weight' which the index does not list"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    write_text(dir / "model.safetensors.index.json", c.index);
    const std::string msg = open_error(dir / "model.safetensors.index.json", c.kind);
    EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
  }

  // The same tensor in two shards.
  write_text(dir / "model.safetensors.index.json",
             R"({"weight_map": {"a.weight": ")" + s1 + R"(", "b.weight": ")" + s1 + R"(", "x": "dup.safetensors"}})");
  write_safetensors(dir / "dup.safetensors", {{std::string("x"), t[2].second}, t[0]});
  const std::string msg = open_error(dir / "model.safetensors.index.json", ErrorKind::Format);
  EXPECT_NE(msg.find("tensor 'a.weight' is in two shards"), std::string::npos) << msg;
}
