// Loads tests/data/tokenizer/tokenizer_golden.json (written by tools/reference/tokenizer_golden.py):
// prompts with their ftfy.fix_text output, their fully cleaned text and their SentencePiece ids
// (tiny_spiece.model, EOS appended, truncated to max_len), plus NFC input/output pairs.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tests/testing/test_env.h"

namespace gallop::testing {

struct TokenizerGoldenCase {
  std::string name;
  std::string input;  // raw bytes (not always valid UTF-8)
  std::string ftfy;   // ftfy.fix_text(input)
  std::string clean;  // the official whitespace cleaning
  int max_len = 512;
  std::vector<int64_t> ids;  // real ids only; padding (0) and mask are implied
};

struct TokenizerGolden {
  std::vector<TokenizerGoldenCase> cases;
  std::vector<std::pair<std::string, std::string>> nfc;  // (input, NFC)
};

inline std::string hex_to_bytes(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

inline const TokenizerGolden& tokenizer_golden() {
  static const TokenizerGolden golden = [] {
    const auto path = data_path("tokenizer/tokenizer_golden.json");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("missing golden file " + path.string());
    std::stringstream ss;
    ss << in.rdbuf();
    const nlohmann::json j = nlohmann::json::parse(ss.str());
    TokenizerGolden g;
    for (const auto& c : j.at("cases")) {
      TokenizerGoldenCase t;
      t.name = c.at("name").get<std::string>();
      t.input = c.contains("input_hex") ? hex_to_bytes(c.at("input_hex").get<std::string>())
                                        : c.at("input").get<std::string>();
      t.ftfy = c.at("ftfy").get<std::string>();
      t.clean = c.at("clean").get<std::string>();
      t.max_len = c.at("max_len").get<int>();
      t.ids = c.at("ids").get<std::vector<int64_t>>();
      g.cases.push_back(std::move(t));
    }
    for (const auto& pair : j.at("nfc")) g.nfc.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
    return g;
  }();
  return golden;
}

}  // namespace gallop::testing
