// ftfy.fix_text and its character-level fixers (see ftfy_fix.h).
#include "tokenizer/ftfy_fix.h"

#include <algorithm>

#include "tokenizer/html_unescape.h"
#include "tokenizer/mojibake.h"
#include "tokenizer/unicode_tables.h"
#include "tokenizer/unicode_text.h"

namespace gallop::tokenizer::ftfy {
namespace {

// ftfy's max_decode_length: the longest segment fixed at once.
constexpr std::size_t kMaxSegmentLength = 1000000;
// ftfy repeats its fixers until the text stops changing; real text settles in two or three
// rounds. The cap only guards against a pathological input cycling forever.
constexpr int kMaxRounds = 64;

// str.translate with a table of code point -> UTF-8 replacement.
std::u32string translate(std::u32string_view text, const tables::CodepointString* table, std::size_t count) {
  std::u32string out;
  out.reserve(text.size());
  const tables::CodepointString* end = table + count;
  for (char32_t c : text) {
    const tables::CodepointString* it =
        std::lower_bound(table, end, c, [](const tables::CodepointString& e, char32_t v) { return e.cp < v; });
    if (it != end && it->cp == c) {
      out += unicode::decode_utf8_surrogateescape(it->value);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool is_high_surrogate(char32_t c) { return c >= 0xD800 && c <= 0xDBFF; }
bool is_low_surrogate(char32_t c) { return c >= 0xDC00 && c <= 0xDFFF; }
bool is_ascii_letter(char32_t c) { return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z'); }

// ftfy.fix_and_explain with explain=False: the fixers in ftfy's order, until a fixed point.
std::u32string fix_segment(std::u32string text, bool unescape_html) {
  for (int round = 0; round < kMaxRounds; ++round) {
    const std::u32string before = text;
    if (unescape_html) text = html::ftfy_unescape(text);
    text = fix_encoding(text);
    text = fix_c1_controls(text);
    text = fix_latin_ligatures(text);
    text = fix_character_width(text);
    text = uncurl_quotes(text);
    text = fix_line_breaks(text);
    text = fix_surrogates(text);
    text = remove_terminal_escapes(text);
    text = remove_control_chars(text);
    text = unicode::nfc(text);
    if (text == before) break;
  }
  return text;
}

}  // namespace

std::u32string fix_latin_ligatures(std::u32string_view text) {
  return translate(text, tables::kLigatures, tables::kLigaturesCount);
}

std::u32string fix_character_width(std::u32string_view text) {
  return translate(text, tables::kWidthMap, tables::kWidthMapCount);
}

std::u32string uncurl_quotes(std::u32string_view text) {
  std::u32string out(text);
  for (char32_t& c : out) {
    if (tables::kDoubleQuotes.contains(c)) {
      c = U'"';
    } else if (tables::kSingleQuotes.contains(c)) {
      c = U'\'';
    }
  }
  return out;
}

std::u32string fix_line_breaks(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c == U'\r') {
      out.push_back(U'\n');
      if (i + 1 < text.size() && text[i + 1] == U'\n') ++i;
    } else if (c == 0x2028 || c == 0x2029 || c == 0x85) {
      out.push_back(U'\n');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::u32string fix_surrogates(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (is_high_surrogate(c) && i + 1 < text.size() && is_low_surrogate(text[i + 1])) {
      out.push_back(0x10000 + (c - 0xD800) * 0x400 + (text[i + 1] - 0xDC00));
      ++i;
    } else if (is_high_surrogate(c) || is_low_surrogate(c)) {
      out.push_back(unicode::kReplacementChar);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::u32string remove_terminal_escapes(std::u32string_view text) {
  // ANSI_RE: "\033\[((?:\d|;)*)([a-zA-Z])" with Python's Unicode \d
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == 0x1B && i + 1 < text.size() && text[i + 1] == U'[') {
      std::size_t k = i + 2;
      while (k < text.size() && (text[k] == U';' || tables::kReDigit.contains(text[k]))) ++k;
      if (k < text.size() && is_ascii_letter(text[k])) {
        i = k + 1;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

std::u32string remove_control_chars(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (!tables::kControlChars.contains(c)) out.push_back(c);
  }
  return out;
}

std::u32string fix_text(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  // unescape_html='auto': off for the first segment containing '<' and, as in ftfy (which
  // rebinds its config), for every segment after it.
  bool unescape_html = true;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t newline = text.find(U'\n', pos);
    std::size_t end = newline == std::u32string_view::npos ? text.size() : newline + 1;
    end = std::min(end, pos + kMaxSegmentLength);
    const std::u32string_view segment = text.substr(pos, end - pos);
    if (unescape_html && segment.find(U'<') != std::u32string_view::npos) unescape_html = false;
    out += fix_segment(std::u32string(segment), unescape_html);
    pos = end;
  }
  return out;
}

}  // namespace gallop::tokenizer::ftfy
