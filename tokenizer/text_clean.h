// The prompt cleaning the official Wan2.1 pipeline applies before tokenizing
// (wan/modules/tokenizers.py, clean='whitespace'; spec section 3.3):
//
//   text = ftfy.fix_text(text)                      # ftfy 6.3 defaults
//   text = html.unescape(html.unescape(text)).strip()
//   text = regex.sub(r'\s+', ' ', text).strip()
//
// Everything is a port on code points, driven by tables generated from the same Python
// libraries (tools/reference/gen_tokenizer_tables.py): nothing of ftfy is skipped, including
// its mojibake repair (see mojibake.h). Known, deliberate differences, only on inputs where
// Python itself misbehaves: ftfy's repeat-until-stable loop stops after 64 rounds (Python would
// loop forever on a cycle), and "&#" followed by more than 4300 digits decodes to U+FFFD
// (Python's int() raises there). Inputs are UTF-8. Invalid UTF-8 is not an error: it is
// decoded the way the official CLI decodes its --prompt argument (Python's 'surrogateescape':
// one lone surrogate per bad byte), and ftfy's fix_surrogates then turns each such byte into
// one U+FFFD, as in the reference. Outputs are valid UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace gallop::tokenizer {

// ftfy.fix_text(text) with ftfy's default configuration.
std::string ftfy_fix_text(std::string_view utf8);

// Python's html.unescape(text).
std::string html_unescape(std::string_view utf8);

// whitespace_clean(basic_clean(text)): the full official cleaning.
std::string clean_prompt(std::string_view utf8);

}  // namespace gallop::tokenizer
