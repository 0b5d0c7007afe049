// Ports of Python's html.unescape and ftfy's unescape_html (see html_unescape.h). Both scan
// left to right and replace non-overlapping matches, as re.sub does.
#include "tokenizer/html_unescape.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include "tokenizer/unicode_tables.h"
#include "tokenizer/unicode_text.h"

namespace gallop::tokenizer::html {
namespace {

bool is_ascii_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool is_ascii_hex(char32_t c) { return is_ascii_digit(c) || (c >= U'a' && c <= U'f') || (c >= U'A' && c <= U'F'); }
bool is_ascii_alnum(char32_t c) { return is_ascii_digit(c) || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z'); }

std::u32string utf8_to_u32(const char* utf8) { return unicode::decode_utf8_surrogateescape(utf8); }

// Looks a name up in a bytewise-sorted entity table; names are ASCII.
const char* find_entity(const tables::NamedEntity* table, std::size_t count, std::u32string_view name) {
  std::string key;
  key.reserve(name.size());
  for (char32_t c : name) {
    if (c >= 0x80) return nullptr;
    key.push_back(static_cast<char>(c));
  }
  const tables::NamedEntity* end = table + count;
  const tables::NamedEntity* it = std::lower_bound(
      table, end, key, [](const tables::NamedEntity& e, const std::string& k) { return std::strcmp(e.name, k.c_str()) < 0; });
  return (it != end && key == it->name) ? it->value : nullptr;
}

// Value of a run of digits in `base`, saturating above U+10FFFF (Python's int() is exact, but
// every value past U+10FFFF gets the same treatment).
char32_t parse_number(std::u32string_view digits, int base) {
  uint64_t value = 0;
  for (char32_t c : digits) {
    const int d = is_ascii_digit(c) ? static_cast<int>(c - U'0') : static_cast<int>((c | 0x20) - U'a' + 10);
    value = value * base + d;
    if (value > 0x10FFFF) return 0x110000;
  }
  return static_cast<char32_t>(value);
}

// html._replace_charref for a numeric reference.
std::u32string numeric_reference(char32_t num) {
  const tables::CodepointPair* end = tables::kCharrefFixups + tables::kCharrefFixupCount;
  const tables::CodepointPair* it = std::lower_bound(
      tables::kCharrefFixups, end, num, [](const tables::CodepointPair& p, char32_t v) { return p.from < v; });
  if (it != end && it->from == num) return std::u32string(1, it->to);
  if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) return std::u32string(1, unicode::kReplacementChar);
  if (tables::kCharrefDropped.contains(num)) return {};
  return std::u32string(1, num);
}

// html._replace_charref for a named reference `name` (which may end in ';').
std::u32string named_reference(std::u32string_view name) {
  if (const char* value = find_entity(tables::kHtml5Entities, tables::kHtml5EntityCount, name)) {
    return utf8_to_u32(value);
  }
  for (std::size_t x = name.size() - 1; x > 1; --x) {
    if (const char* value = find_entity(tables::kHtml5Entities, tables::kHtml5EntityCount, name.substr(0, x))) {
      return utf8_to_u32(value) + std::u32string(name.substr(x));
    }
  }
  return U"&" + std::u32string(name);
}

bool allowed_in_name(char32_t c) {
  return c != U'\t' && c != U'\n' && c != U'\f' && c != U' ' && c != U'<' && c != U'&' && c != U'#' && c != U';';
}

// Tries Python's charref pattern at text[at] == '&'. Returns the end of the match and appends
// the replacement, or returns nullopt when nothing matches there.
std::optional<std::size_t> python_reference_at(std::u32string_view text, std::size_t at, std::u32string& out) {
  const std::size_t n = text.size();
  const std::size_t j = at + 1;
  if (j < n && text[j] == U'#') {
    std::size_t k = j + 1;  // '#[0-9]+;?'
    while (k < n && is_ascii_digit(text[k])) ++k;
    if (k > j + 1) {
      out += numeric_reference(parse_number(text.substr(j + 1, k - j - 1), 10));
      return (k < n && text[k] == U';') ? k + 1 : k;
    }
    if (j + 1 < n && (text[j + 1] == U'x' || text[j + 1] == U'X')) {  // '#[xX][0-9a-fA-F]+;?'
      k = j + 2;
      while (k < n && is_ascii_hex(text[k])) ++k;
      if (k > j + 2) {
        out += numeric_reference(parse_number(text.substr(j + 2, k - j - 2), 16));
        return (k < n && text[k] == U';') ? k + 1 : k;
      }
    }
    return std::nullopt;  // the name branch cannot start with '#'
  }
  std::size_t k = j;  // '[^\t\n\f <&#;]{1,32};?'
  while (k < n && k - j < 32 && allowed_in_name(text[k])) ++k;
  if (k == j) return std::nullopt;
  if (k < n && text[k] == U';') ++k;
  out += named_reference(text.substr(j, k - j));
  return k;
}

// ftfy's replacement for one matched "&...;" reference.
std::u32string ftfy_fixup(std::u32string_view match) {
  const std::u32string_view name = match.substr(1);
  if (const char* value = find_entity(tables::kHtml5Entities, tables::kHtml5EntityCount, name)) {
    return utf8_to_u32(value);
  }
  if (const char* value = find_entity(tables::kFtfyUpperEntities, tables::kFtfyUpperEntityCount, name)) {
    return utf8_to_u32(value);
  }
  if (match.size() >= 2 && match[1] == U'#') {
    std::u32string unescaped = python_unescape(match);
    // a partial decode leaves the ';' behind: keep the original text then
    if (unescaped.find(U';') != std::u32string::npos) return std::u32string(match);
    return unescaped;
  }
  return std::u32string(match);
}

}  // namespace

std::u32string python_unescape(std::u32string_view text) {
  if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == U'&') {
      if (std::optional<std::size_t> end = python_reference_at(text, i, out)) {
        i = *end;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

std::u32string ftfy_unescape(std::u32string_view text) {
  constexpr std::size_t kMaxNameLength = 24;
  std::u32string out;
  out.reserve(text.size());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    if (text[i] == U'&') {
      // '&#?[0-9A-Za-z]{1,24};': the alphanumeric run must be 1..24 long and end at ';'.
      const std::size_t start = (i + 1 < n && text[i + 1] == U'#') ? i + 2 : i + 1;
      std::size_t k = start;
      while (k < n && is_ascii_alnum(text[k])) ++k;
      const std::size_t run = k - start;
      if (run >= 1 && run <= kMaxNameLength && k < n && text[k] == U';') {
        out += ftfy_fixup(text.substr(i, k + 1 - i));
        i = k + 1;
        continue;
      }
    }
    out.push_back(text[i++]);
  }
  return out;
}

}  // namespace gallop::tokenizer::html
