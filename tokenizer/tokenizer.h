// The umT5 tokenizer of the text encoder: the official prompt cleaning (text_clean.h), then
// SentencePiece, then the Hugging Face call the reference makes (spec section 3.2):
// add_special_tokens (append EOS), truncation to max_len keeping EOS last, padding with the
// pad id to max_len, and an attention mask of 1 for the real tokens (EOS included).
//
// Errors are standard exceptions: std::runtime_error for a missing or unreadable model
// (the message names the file), std::invalid_argument for a bad max_len.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gallop::tokenizer {

struct TokenizedText {
  std::vector<int64_t> ids;   // [max_len] real ids, then pad ids
  std::vector<int64_t> mask;  // [max_len] 1 for real tokens (EOS included), then 0
  int64_t length = 0;         // number of real tokens, 1..max_len
};

class Tokenizer {
 public:
  static constexpr int kDefaultMaxLength = 512;

  // Loads a SentencePiece .model file (e.g. google/umt5-xxl/spiece.model).
  static Tokenizer from_file(const std::string& path);
  // Parses a serialized SentencePiece ModelProto held in memory.
  static Tokenizer from_serialized(const std::string& bytes);

  // clean_prompt(text), SentencePiece ids, EOS, truncate to max_len - 1 pieces + EOS, pad.
  TokenizedText encode(const std::string& text, int max_len = kDefaultMaxLength) const;
  std::vector<TokenizedText> encode_batch(const std::vector<std::string>& texts,
                                          int max_len = kDefaultMaxLength) const;
  // SentencePiece ids of already-cleaned text: no cleaning, no EOS, no padding.
  std::vector<int64_t> encode_pieces(const std::string& cleaned) const;

  int64_t vocab_size() const;
  int64_t pad_id() const;
  int64_t eos_id() const;

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;  // immutable after loading: copies share it
};

}  // namespace gallop::tokenizer
