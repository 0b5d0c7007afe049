// Code-point level text helpers for the prompt cleaning: UTF-8 decoding in the flavours the
// reference needs (lenient input decoding, Python's strict codec, ftfy's "utf-8-variants"),
// UTF-8 encoding, NFC normalization, and Python's notions of whitespace. Internal to
// gallop_tokenizer; the public entry points are in text_clean.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gallop::tokenizer::unicode {

constexpr char32_t kReplacementChar = 0xFFFD;

// Python's `bytes.decode('utf-8', 'surrogateescape')`, how the official CLI decodes argv: every
// byte b that is not part of a well-formed UTF-8 sequence becomes the lone surrogate U+DC00 + b.
// ftfy's fix_surrogates later turns each of them into U+FFFD.
std::u32string decode_utf8_surrogateescape(std::string_view bytes);

// Python's strict `bytes.decode('utf-8')`: nullopt where Python raises UnicodeDecodeError.
std::optional<std::u32string> decode_utf8_strict(std::string_view bytes);

// ftfy's strict 'utf-8-variants' codec: UTF-8, plus Java's C0 80 for U+0000 and CESU-8
// surrogate pairs (six bytes) for characters above U+FFFF. nullopt where Python raises.
std::optional<std::u32string> decode_utf8_variants_strict(std::string_view bytes);

// UTF-8 encoding; lone surrogates (which the cleaning never leaves behind) become U+FFFD.
std::string encode_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t cp);

// unicodedata.normalize('NFC', text) with the Unicode version of tables::kUnicodeVersion.
std::u32string nfc(std::u32string_view text);
// Canonical combining class (0 for starters).
int combining_class(char32_t cp);

// Python str.isspace() (what str.strip() removes).
bool is_python_space(char32_t cp);
// `regex` module \s (Unicode White_Space; unlike str.isspace it excludes U+001C..U+001F).
bool is_regex_space(char32_t cp);
// Python's text.strip() with no argument.
std::u32string python_strip(std::u32string_view text);
// regex.sub(r'\s+', ' ', text).
std::u32string collapse_regex_space(std::u32string_view text);

}  // namespace gallop::tokenizer::unicode
