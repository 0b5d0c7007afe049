// Tokenizer against the Python reference. Compares gallop's Tokenizer::encode (cleaning +
// SentencePiece C++ + EOS/truncation/padding) with ids computed by Python sentencepiece on the
// reference-cleaned text with the same tiny model (tokenizer/assets/tiny_spiece.model,
// tools/reference/make_tiny_spiece.py and tokenizer_golden.py). Ids are integers: every id and
// every mask entry must be identical. Also checks the error paths (missing / corrupt model,
// bad max_len).
#include <gtest/gtest.h>

#include <filesystem>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tests/tokenizer/golden.h"
#include "tokenizer/tokenizer.h"

namespace gallop::tokenizer {
namespace {

using gallop::testing::data_path;
using gallop::testing::TempDir;
using gallop::testing::tokenizer_golden;

constexpr int64_t kEos = 1;
constexpr int64_t kPad = 0;

const std::string& model_path() {
  static const std::string path = (std::filesystem::path(GALLOP_SOURCE_DIR) / "tokenizer/assets/tiny_spiece.model").string();
  return path;
}

const Tokenizer& tiny() {
  static const Tokenizer tokenizer = Tokenizer::from_file(model_path());
  return tokenizer;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// Expected full-length ids and mask from a golden case (padding implied).
void expect_matches(const TokenizedText& got, const gallop::testing::TokenizerGoldenCase& c) {
  std::vector<int64_t> ids = c.ids;
  std::vector<int64_t> mask(ids.size(), 1);
  ids.resize(static_cast<std::size_t>(c.max_len), kPad);
  mask.resize(static_cast<std::size_t>(c.max_len), 0);
  EXPECT_EQ(got.length, static_cast<int64_t>(c.ids.size())) << c.name;
  EXPECT_EQ(got.ids, ids) << c.name;
  EXPECT_EQ(got.mask, mask) << c.name;
}

TEST(Tokenizer, TinyModelHasUmt5SpecialIds) {
  EXPECT_EQ(tiny().pad_id(), kPad);
  EXPECT_EQ(tiny().eos_id(), kEos);
  EXPECT_EQ(tiny().vocab_size(), 3000);
}

TEST(Tokenizer, IdsAndMaskMatchPythonSentencepieceOnEveryGoldenPrompt) {
  int mismatches = 0;
  for (const auto& c : tokenizer_golden().cases) {
    const TokenizedText got = tiny().encode(c.input, c.max_len);
    std::vector<int64_t> real(got.ids.begin(), got.ids.begin() + got.length);
    if (real != c.ids) ++mismatches;
    expect_matches(got, c);
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Tokenizer, RawPiecesOfCleanTextMatchPython) {
  // Separates SentencePiece itself from the cleaning: encode the reference-cleaned text.
  for (const auto& c : tokenizer_golden().cases) {
    if (c.max_len != 512 || c.ids.size() >= 512) continue;
    std::vector<int64_t> want(c.ids.begin(), c.ids.end() - 1);
    EXPECT_EQ(tiny().encode_pieces(c.clean), want) << c.name;
  }
}

TEST(Tokenizer, DefaultNegativePromptsTokenizeIdentically) {
  int seen = 0;
  for (const auto& c : tokenizer_golden().cases) {
    if (c.name.rfind("negative_", 0) != 0) continue;
    ++seen;
    expect_matches(tiny().encode(c.input, c.max_len), c);
    if (c.name.find("_max") == std::string::npos && c.name != "negative_english") {
      EXPECT_EQ(c.clean.find("，"), std::string::npos) << "full-width commas must be cleaned away";
    }
  }
  EXPECT_GE(seen, 4);
}

TEST(Tokenizer, TruncationKeepsEosLast) {
  int truncated = 0;
  for (const auto& c : tokenizer_golden().cases) {
    const TokenizedText got = tiny().encode(c.input, c.max_len);
    ASSERT_EQ(got.ids.size(), static_cast<std::size_t>(c.max_len));
    ASSERT_GE(got.length, 1);
    EXPECT_EQ(got.ids[got.length - 1], kEos) << c.name;
    if (got.length == c.max_len) {
      ++truncated;
      EXPECT_EQ(got.ids.back(), kEos) << c.name;
      EXPECT_EQ(got.mask.back(), 1) << c.name;
    }
  }
  EXPECT_GE(truncated, 5);  // long_* prompts and the small max_len cases
  const TokenizedText one = tiny().encode("a long prompt that cannot fit", 1);
  EXPECT_EQ(one.ids, std::vector<int64_t>{kEos});
  EXPECT_EQ(one.mask, std::vector<int64_t>{1});
}

TEST(Tokenizer, EmptyPromptIsJustEos) {
  const TokenizedText got = tiny().encode("", 4);
  EXPECT_EQ(got.ids, (std::vector<int64_t>{kEos, kPad, kPad, kPad}));
  EXPECT_EQ(got.mask, (std::vector<int64_t>{1, 0, 0, 0}));
  EXPECT_EQ(got.length, 1);
}

TEST(Tokenizer, BatchEqualsOneByOne) {
  const std::vector<std::string> texts = {"a cat", "", "色调艳丽，过曝", "&amp; 🚀"};
  const auto batch = tiny().encode_batch(texts, 16);
  ASSERT_EQ(batch.size(), texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const TokenizedText single = tiny().encode(texts[i], 16);
    EXPECT_EQ(batch[i].ids, single.ids);
    EXPECT_EQ(batch[i].mask, single.mask);
    EXPECT_EQ(batch[i].length, single.length);
  }
}

TEST(Tokenizer, FromSerializedEqualsFromFile) {
  const Tokenizer mem = Tokenizer::from_serialized(read_bytes(model_path()));
  const auto& c = tokenizer_golden().cases.front();
  expect_matches(mem.encode(c.input, c.max_len), c);
}

TEST(Tokenizer, BadMaxLenIsRejected) {
  EXPECT_THROW(tiny().encode("x", 0), std::invalid_argument);
  EXPECT_THROW(tiny().encode("x", -5), std::invalid_argument);
}

// Expects `f` to throw std::runtime_error whose message contains `needle`.
template <typename F>
void expect_error_naming(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one naming " << needle;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, MissingModelFileNamesTheFile) {
  TempDir dir;
  const std::string path = (dir / "no_such_spiece.model").string();
  expect_error_naming([&] { Tokenizer::from_file(path); }, path);
  expect_error_naming([&] { Tokenizer::from_file(dir.path().string()); }, dir.path().string());  // a folder
}

TEST(Tokenizer, CorruptModelFileNamesTheFile) {
  TempDir dir;
  std::mt19937 rng(7);
  std::string noise(4096, '\0');
  for (char& b : noise) b = static_cast<char>(rng() & 0xFF);
  const std::string garbage = (dir / "garbage.model").string();
  write_bytes(garbage, noise);
  expect_error_naming([&] { Tokenizer::from_file(garbage); }, garbage);

  const std::string model = read_bytes(model_path());
  const std::string truncated = (dir / "truncated.model").string();
  write_bytes(truncated, model.substr(0, model.size() / 3));
  expect_error_naming([&] { Tokenizer::from_file(truncated); }, truncated);

  const std::string empty = (dir / "empty.model").string();
  write_bytes(empty, "");
  expect_error_naming([&] { Tokenizer::from_file(empty); }, empty);

  expect_error_naming([&] { Tokenizer::from_serialized(noise); }, "serialized");
}

}  // namespace
}  // namespace gallop::tokenizer
