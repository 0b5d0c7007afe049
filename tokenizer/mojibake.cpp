// ftfy's mojibake detection and repair (see mojibake.h). The structure follows
// ftfy.fix_encoding / _fix_encoding_one_step_and_explain step by step; every regex is one of
// the flattened patterns in generated_ftfy_tables.cpp.
#include "tokenizer/mojibake.h"

#include <cstring>
#include <optional>
#include <unordered_map>
#include <vector>

#include "tokenizer/unicode_tables.h"
#include "tokenizer/unicode_text.h"

namespace gallop::tokenizer::ftfy {
namespace {

// ---- flattened-regex matching -------------------------------------------------------------------

char32_t element(std::u32string_view s, std::size_t k) { return s[k]; }
char32_t element(std::string_view s, std::size_t k) { return static_cast<unsigned char>(s[k]); }

// Length of the first alternative of `pattern` that matches at `pos`, or 0 (no alternative is
// empty, so 0 means "no match").
template <typename Text>
std::size_t match_at(const tables::FlatPattern& pattern, Text text, std::size_t pos) {
  for (std::size_t a = 0; a < pattern.count; ++a) {
    const tables::FlatSequence& seq = pattern.sequences[a];
    if ((seq.anchored_at_start && pos != 0) || pos + seq.length > text.size()) continue;
    bool ok = true;
    for (std::size_t k = 0; k < seq.length && ok; ++k) {
      ok = tables::kPatternClasses[seq.classes[k]].contains(element(text, pos + k));
    }
    if (ok) return seq.length;
  }
  return 0;
}

template <typename Text>
bool search(const tables::FlatPattern& pattern, Text text) {
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    if (match_at(pattern, text, pos) != 0) return true;
  }
  return false;
}

// ---- single-byte codecs -------------------------------------------------------------------------

std::size_t codec_index(const char* name) {
  for (std::size_t i = 0; i < tables::kCharmapEncodingCount; ++i) {
    if (std::strcmp(tables::kCharmapEncodings[i].name, name) == 0) return i;
  }
  return tables::kCharmapEncodingCount;  // not reached: the names below are in the table
}

const std::vector<std::unordered_map<char32_t, unsigned char>>& encoders() {
  static const std::vector<std::unordered_map<char32_t, unsigned char>> maps = [] {
    std::vector<std::unordered_map<char32_t, unsigned char>> out(tables::kCharmapEncodingCount);
    for (std::size_t i = 0; i < tables::kCharmapEncodingCount; ++i) {
      for (int b = 0; b < 256; ++b) out[i][tables::kCharmapEncodings[i].decode[b]] = static_cast<unsigned char>(b);
    }
    return out;
  }();
  return maps;
}

// text.encode(codec); nullopt where a character has no byte (the codec is not "possible").
std::optional<std::string> encode(std::u32string_view text, std::size_t codec) {
  const auto& map = encoders()[codec];
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    auto it = map.find(c);
    if (it == map.end()) return std::nullopt;
    out.push_back(static_cast<char>(it->second));
  }
  return out;
}

// ---- byte-level fixers ---------------------------------------------------------------------------

bool starts_with(std::string_view s, std::size_t pos, std::string_view prefix) {
  return s.size() >= pos + prefix.size() && s.compare(pos, prefix.size(), prefix) == 0;
}

// ftfy.fixes.restore_byte_a0.
std::string restore_byte_a0(std::string_view bytes) {
  // A_GRAVE_WORD_RE: b"\xc3 (?! |quele|quela|quilo|s )" -> b"\xc3\xa0 "
  std::string step;
  step.reserve(bytes.size() + 8);
  for (std::size_t i = 0; i < bytes.size();) {
    if (static_cast<unsigned char>(bytes[i]) == 0xC3 && starts_with(bytes, i + 1, " ")) {
      const std::size_t after = i + 2;
      const bool excluded = starts_with(bytes, after, " ") || starts_with(bytes, after, "quele") ||
                            starts_with(bytes, after, "quela") || starts_with(bytes, after, "quilo") ||
                            starts_with(bytes, after, "s ");
      if (!excluded) {
        step += "\xc3\xa0 ";
        i += 2;
        continue;
      }
    }
    step.push_back(bytes[i++]);
  }
  // ALTERED_UTF8_RE matches: every space inside becomes 0xA0.
  std::string out;
  out.reserve(step.size());
  for (std::size_t i = 0; i < step.size();) {
    if (std::size_t len = match_at(tables::kAlteredUtf8Pattern, std::string_view(step), i)) {
      for (std::size_t k = 0; k < len; ++k) out.push_back(step[i + k] == ' ' ? '\xa0' : step[i + k]);
      i += len;
    } else {
      out.push_back(step[i++]);
    }
  }
  return out;
}

// ftfy.fixes.replace_lossy_sequences: LOSSY_UTF8_RE matches become the UTF-8 of U+FFFD.
std::string replace_lossy_sequences(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    if (std::size_t len = match_at(tables::kLossyUtf8Pattern, bytes, i)) {
      out += "\xef\xbf\xbd";
      i += len;
    } else {
      out.push_back(bytes[i++]);
    }
  }
  return out;
}

// ftfy.fixes.decode_inconsistent_utf8.
std::u32string decode_inconsistent_utf8(std::u32string_view text) {
  const tables::RangeSet& strict = tables::kPatternClasses[tables::kUtf8ContinuationStrictClass];
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (i == 0 || !strict.contains(text[i - 1])) {
      // (unit)+ is greedy with nothing after it, so it never backtracks into a unit
      std::size_t end = i;
      while (std::size_t len = match_at(tables::kUtf8DetectorUnit, text, end)) end += len;
      if (end > i) {
        const std::u32string_view piece = text.substr(i, end - i);
        if (piece.size() < text.size() && is_bad(piece)) {
          out += fix_encoding(piece);
        } else {
          out += piece;
        }
        i = end;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

// ftfy._fix_encoding_one_step_and_explain (default config).
std::u32string fix_encoding_one_step(std::u32string_view text) {
  static const std::size_t kLatin1 = codec_index("latin-1");
  static const std::size_t kMacRoman = codec_index("macroman");
  if (text.empty()) return std::u32string(text);
  bool ascii = true;
  for (char32_t c : text) ascii = ascii && c < 0x80;
  if (ascii || !is_bad(text)) return std::u32string(text);

  bool latin1_possible = false;
  for (std::size_t codec = 0; codec < tables::kCharmapEncodingCount; ++codec) {
    std::optional<std::string> bytes = encode(text, codec);
    if (!bytes) continue;
    if (codec == kLatin1) latin1_possible = true;
    if (codec != kMacRoman && search(tables::kAlteredUtf8Pattern, std::string_view(*bytes))) {
      *bytes = restore_byte_a0(*bytes);
    }
    if (std::strncmp(tables::kCharmapEncodings[codec].name, "sloppy", 6) == 0) {
      *bytes = replace_lossy_sequences(*bytes);
    }
    const bool variants = bytes->find('\xed') != std::string::npos || bytes->find('\xc0') != std::string::npos;
    std::optional<std::u32string> decoded =
        variants ? unicode::decode_utf8_variants_strict(*bytes) : unicode::decode_utf8_strict(*bytes);
    if (decoded) return *decoded;
  }

  // "if UTF8_DETECTOR_RE.search(text)": without a match decode_inconsistent_utf8 is a no-op.
  {
    std::u32string fixed = decode_inconsistent_utf8(text);
    if (fixed != text) return fixed;
  }

  // ftfy checks `"windows-1252" in possible_1byte_encodings`, but that list holds the codec
  // names ("sloppy-windows-1252"), so the check is never true: Latin-1 text always gets the
  // strict Windows-1252 re-decode attempt.
  if (latin1_possible) {
    std::u32string fixed;
    fixed.reserve(text.size());
    bool ok = true;
    for (char32_t c : text) {
      const char32_t mapped = tables::kWindows1252Strict[c];  // c <= 0xFF: Latin-1 encodable
      if (mapped == 0xFFFFFFFF) {
        ok = false;
        break;
      }
      fixed.push_back(mapped);
    }
    if (ok && fixed != text) return fixed;
  }

  for (char32_t c : text) {
    if (tables::kPatternClasses[tables::kC1ControlClass].contains(c)) return fix_c1_controls(text);
  }
  return std::u32string(text);
}

}  // namespace

bool is_bad(std::u32string_view text) { return search(tables::kBadnessPattern, text); }

std::u32string fix_encoding(std::u32string_view text) {
  std::u32string current(text);
  while (true) {
    std::u32string next = fix_encoding_one_step(current);
    if (next == current) return next;
    current = std::move(next);
  }
}

std::u32string fix_c1_controls(std::u32string_view text) {
  static const std::size_t kSloppy1252 = codec_index("sloppy-windows-1252");
  const tables::RangeSet& c1 = tables::kPatternClasses[tables::kC1ControlClass];
  std::u32string out(text);
  for (char32_t& c : out) {
    if (c1.contains(c)) c = tables::kCharmapEncodings[kSloppy1252].decode[c];
  }
  return out;
}

}  // namespace gallop::tokenizer::ftfy
