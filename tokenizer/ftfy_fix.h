// Port of ftfy.fix_text (ftfy 6.3, default TextFixerConfig) on code points, with the small
// character-level fixers it applies. Internal to gallop_tokenizer; text_clean.h is the public
// entry point.
#pragma once

#include <string>
#include <string_view>

namespace gallop::tokenizer::ftfy {

// ftfy.fix_text(text): per line (segments end after '\n', at most 1,000,000 code points),
// repeat [unescape_html (unless the text looks like HTML), fix_encoding, fix_c1_controls,
// fix_latin_ligatures, fix_character_width, uncurl_quotes, fix_line_breaks, fix_surrogates,
// remove_terminal_escapes, remove_control_chars, NFC] until nothing changes.
std::u32string fix_text(std::u32string_view text);

// The individual fixers, exposed for tests.
std::u32string fix_latin_ligatures(std::u32string_view text);
std::u32string fix_character_width(std::u32string_view text);
std::u32string uncurl_quotes(std::u32string_view text);
std::u32string fix_line_breaks(std::u32string_view text);
std::u32string fix_surrogates(std::u32string_view text);
std::u32string remove_terminal_escapes(std::u32string_view text);
std::u32string remove_control_chars(std::u32string_view text);

}  // namespace gallop::tokenizer::ftfy
