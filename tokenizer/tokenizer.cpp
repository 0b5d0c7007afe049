// SentencePiece wrapper with the reference's EOS / truncation / padding rules (see tokenizer.h).
#include "tokenizer/tokenizer.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "tokenizer/text_clean.h"

namespace gallop::tokenizer {

struct Tokenizer::Impl {
  sentencepiece::SentencePieceProcessor processor;
  int64_t pad = 0;
  int64_t eos = 1;
};

namespace {

// Checks the special pieces the encoder's contract relies on; `what` names the model source.
void validate_special_ids(const sentencepiece::SentencePieceProcessor& sp, const std::string& what) {
  if (sp.GetPieceSize() <= 0) throw std::runtime_error("SentencePiece model " + what + " has no pieces");
  if (sp.eos_id() < 0) throw std::runtime_error("SentencePiece model " + what + " defines no EOS piece");
  if (sp.pad_id() < 0) throw std::runtime_error("SentencePiece model " + what + " defines no pad piece");
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw std::runtime_error("tokenizer model not found: " + path);
  }
  auto impl = std::make_shared<Impl>();
  const sentencepiece::util::Status status = impl->processor.Load(path);
  if (!status.ok()) {
    throw std::runtime_error("cannot load SentencePiece model " + path +
                             " (corrupt, or not a SentencePiece .model file): " + status.ToString());
  }
  validate_special_ids(impl->processor, path);
  impl->pad = impl->processor.pad_id();
  impl->eos = impl->processor.eos_id();
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_serialized(const std::string& bytes) {
  const std::string what = "(serialized, " + std::to_string(bytes.size()) + " bytes)";
  auto impl = std::make_shared<Impl>();
  const sentencepiece::util::Status status = impl->processor.LoadFromSerializedProto(bytes);
  if (!status.ok()) {
    throw std::runtime_error("cannot parse SentencePiece model " + what + ": " + status.ToString());
  }
  validate_special_ids(impl->processor, what);
  impl->pad = impl->processor.pad_id();
  impl->eos = impl->processor.eos_id();
  return Tokenizer(std::move(impl));
}

std::vector<int64_t> Tokenizer::encode_pieces(const std::string& cleaned) const {
  std::vector<int> ids;
  const sentencepiece::util::Status status = impl_->processor.Encode(cleaned, &ids);
  if (!status.ok()) throw std::runtime_error("SentencePiece encoding failed: " + status.ToString());
  return std::vector<int64_t>(ids.begin(), ids.end());
}

TokenizedText Tokenizer::encode(const std::string& text, int max_len) const {
  if (max_len < 1) {
    throw std::invalid_argument("tokenizer max_len must be at least 1 (room for EOS), got " +
                                std::to_string(max_len));
  }
  std::vector<int64_t> pieces = encode_pieces(clean_prompt(text));
  const std::size_t keep = std::min(pieces.size(), static_cast<std::size_t>(max_len - 1));
  TokenizedText out;
  out.ids.assign(pieces.begin(), pieces.begin() + static_cast<std::ptrdiff_t>(keep));
  out.ids.push_back(impl_->eos);
  out.length = static_cast<int64_t>(out.ids.size());
  out.mask.assign(out.ids.size(), 1);
  out.ids.resize(static_cast<std::size_t>(max_len), impl_->pad);
  out.mask.resize(static_cast<std::size_t>(max_len), 0);
  return out;
}

std::vector<TokenizedText> Tokenizer::encode_batch(const std::vector<std::string>& texts, int max_len) const {
  std::vector<TokenizedText> out;
  out.reserve(texts.size());
  for (const std::string& text : texts) out.push_back(encode(text, max_len));
  return out;
}

int64_t Tokenizer::vocab_size() const { return impl_->processor.GetPieceSize(); }
int64_t Tokenizer::pad_id() const { return impl_->pad; }
int64_t Tokenizer::eos_id() const { return impl_->eos; }

}  // namespace gallop::tokenizer
