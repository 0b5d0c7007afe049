// UTF-8 codecs, NFC normalization and whitespace classes (see unicode_text.h).
#include "tokenizer/unicode_text.h"

#include <algorithm>
#include <vector>

#include "tokenizer/unicode_tables.h"

namespace gallop::tokenizer {

bool tables::RangeSet::contains(char32_t cp) const {
  const CodepointRange* end = ranges + count;
  const CodepointRange* it =
      std::upper_bound(ranges, end, cp, [](char32_t v, const CodepointRange& r) { return v < r.first; });
  return it != ranges && cp <= (it - 1)->last;
}

namespace unicode {
namespace {

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Length of the well-formed UTF-8 sequence (Unicode table 3-7) starting at bytes[i], or 0.
// On success `cp` holds the decoded character.
std::size_t well_formed_length(std::string_view bytes, std::size_t i, char32_t& cp) {
  const auto at = [&](std::size_t k) -> unsigned { return static_cast<unsigned char>(bytes[i + k]); };
  const std::size_t left = bytes.size() - i;
  const unsigned b0 = at(0);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    if (left < 2 || !is_continuation(at(1))) return 0;
    cp = ((b0 & 0x1F) << 6) | (at(1) & 0x3F);
    return 2;
  }
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (left < 3) return 0;
    const unsigned b1 = at(1);
    const unsigned lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = b0 == 0xED ? 0x9F : 0xBF;
    if (b1 < lo || b1 > hi || !is_continuation(at(2))) return 0;
    cp = ((b0 & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (at(2) & 0x3F);
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (left < 4) return 0;
    const unsigned b1 = at(1);
    const unsigned lo = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (b1 < lo || b1 > hi || !is_continuation(at(2)) || !is_continuation(at(3))) return 0;
    cp = ((b0 & 0x07) << 18) | ((b1 & 0x3F) << 12) | ((at(2) & 0x3F) << 6) | (at(3) & 0x3F);
    return 4;
  }
  return 0;
}

// Hangul syllable arithmetic (Unicode chapter 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

const tables::Decomposition* find_decomposition(char32_t cp) {
  const tables::Decomposition* end = tables::kDecompositions + tables::kDecompositionCount;
  const tables::Decomposition* it = std::lower_bound(
      tables::kDecompositions, end, cp, [](const tables::Decomposition& d, char32_t v) { return d.cp < v; });
  return (it != end && it->cp == cp) ? it : nullptr;
}

// Full canonical decomposition of one character, appended to `out` (not yet reordered).
void decompose_into(char32_t cp, std::u32string& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (const tables::Decomposition* d = find_decomposition(cp)) {
    decompose_into(d->first, out);
    if (d->second != 0) decompose_into(d->second, out);
  } else {
    out.push_back(cp);
  }
}

struct Composition {
  char32_t first;
  char32_t second;
  char32_t composite;
  bool operator<(const Composition& o) const { return first != o.first ? first < o.first : second < o.second; }
};

// The primary composites, sorted by pair (built once from the decomposition table).
const std::vector<Composition>& compositions() {
  static const std::vector<Composition> table = [] {
    std::vector<Composition> out;
    for (std::size_t i = 0; i < tables::kDecompositionCount; ++i) {
      const tables::Decomposition& d = tables::kDecompositions[i];
      if (d.composes) out.push_back({d.first, d.second, d.cp});
    }
    std::sort(out.begin(), out.end());
    return out;
  }();
  return table;
}

// The primary composite of (first, second), or 0.
char32_t compose_pair(char32_t first, char32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase && second < kVBase + kVCount) {
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  }
  if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 && second > kTBase &&
      second < kTBase + kTCount) {
    return first + (second - kTBase);
  }
  const std::vector<Composition>& table = compositions();
  const Composition key{first, second, 0};
  auto it = std::lower_bound(table.begin(), table.end(), key);
  return (it != table.end() && it->first == first && it->second == second) ? it->composite : 0;
}

}  // namespace

std::u32string decode_utf8_surrogateescape(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    char32_t cp = 0;
    const std::size_t n = well_formed_length(bytes, i, cp);
    if (n == 0) {
      out.push_back(0xDC00 + static_cast<unsigned char>(bytes[i]));  // b >= 0x80: ASCII always decodes
      ++i;
    } else {
      out.push_back(cp);
      i += n;
    }
  }
  return out;
}

std::optional<std::u32string> decode_utf8_strict(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    char32_t cp = 0;
    const std::size_t n = well_formed_length(bytes, i, cp);
    if (n == 0) return std::nullopt;
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::optional<std::u32string> decode_utf8_variants_strict(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  const auto byte = [&](std::size_t k) -> unsigned { return static_cast<unsigned char>(bytes[k]); };
  for (std::size_t i = 0; i < bytes.size();) {
    if (byte(i) == 0xC0 && i + 1 < bytes.size() && byte(i + 1) == 0x80) {
      out.push_back(0);
      i += 2;
      continue;
    }
    if (byte(i) == 0xED && i + 5 < bytes.size() && byte(i + 1) >= 0xA0 && byte(i + 1) <= 0xAF &&
        is_continuation(byte(i + 2)) && byte(i + 3) == 0xED && byte(i + 4) >= 0xB0 && byte(i + 4) <= 0xBF &&
        is_continuation(byte(i + 5))) {
      out.push_back(((byte(i + 1) & 0x0F) << 16) + ((byte(i + 2) & 0x3F) << 10) + ((byte(i + 4) & 0x0F) << 6) +
                    (byte(i + 5) & 0x3F) + 0x10000);
      i += 6;
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = well_formed_length(bytes, i, cp);
    if (n == 0) return std::nullopt;
    out.push_back(cp);
    i += n;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = kReplacementChar;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

int combining_class(char32_t cp) {
  const tables::CombiningClassRange* end = tables::kCombiningClasses + tables::kCombiningClassCount;
  const tables::CombiningClassRange* it =
      std::upper_bound(tables::kCombiningClasses, end, cp,
                       [](char32_t v, const tables::CombiningClassRange& r) { return v < r.first; });
  if (it == tables::kCombiningClasses || cp > (it - 1)->last) return 0;
  return (it - 1)->ccc;
}

std::u32string nfc(std::u32string_view text) {
  // 1. Full canonical decomposition.
  std::u32string decomposed;
  decomposed.reserve(text.size());
  for (char32_t cp : text) decompose_into(cp, decomposed);

  // 2. Canonical ordering: stable sort of every run of non-starters by combining class.
  for (std::size_t i = 0; i < decomposed.size();) {
    if (combining_class(decomposed[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < decomposed.size() && combining_class(decomposed[j]) != 0) ++j;
    std::stable_sort(decomposed.begin() + i, decomposed.begin() + j,
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }

  // 3. Canonical composition. Between the last starter and the end of `out` every character is
  //    a non-starter in non-decreasing class order, so only the last one can block.
  std::u32string out;
  out.reserve(decomposed.size());
  std::ptrdiff_t starter = -1;
  for (char32_t cp : decomposed) {
    const int cc = combining_class(cp);
    if (starter >= 0) {
      const bool adjacent = static_cast<std::ptrdiff_t>(out.size()) - 1 == starter;
      const int last_cc = adjacent ? 0 : combining_class(out.back());
      if (adjacent || last_cc < cc) {
        if (char32_t composite = compose_pair(out[starter], cp)) {
          out[starter] = composite;
          continue;
        }
      }
    }
    if (cc == 0) starter = static_cast<std::ptrdiff_t>(out.size());
    out.push_back(cp);
  }
  return out;
}

bool is_python_space(char32_t cp) { return tables::kPythonSpace.contains(cp); }
bool is_regex_space(char32_t cp) { return tables::kRegexSpace.contains(cp); }

std::u32string python_strip(std::u32string_view text) {
  std::size_t begin = 0, end = text.size();
  while (begin < end && is_python_space(text[begin])) ++begin;
  while (end > begin && is_python_space(text[end - 1])) --end;
  return std::u32string(text.substr(begin, end - begin));
}

std::u32string collapse_regex_space(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (is_regex_space(text[i])) {
      out.push_back(U' ');
      while (i < text.size() && is_regex_space(text[i])) ++i;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

}  // namespace unicode
}  // namespace gallop::tokenizer
