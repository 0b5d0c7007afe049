// HTML character references, the two ways the reference decodes them: Python's html.unescape
// (run twice by the Wan cleaning) and ftfy's more cautious unescape_html (inside ftfy.fix_text).
// Internal to gallop_tokenizer.
#pragma once

#include <string>
#include <string_view>

namespace gallop::tokenizer::html {

// Python 3.11 html.unescape: named references with or without ';' (longest known prefix when
// the name is unknown), decimal and hex references with the HTML5 fix-ups.
std::u32string python_unescape(std::u32string_view text);

// ftfy.fixes.unescape_html: only "&name;" / "&#num;" forms that end in ';' (1-24 ASCII
// alphanumerics), plus all-caps spellings such as "&EACUTE;".
std::u32string ftfy_unescape(std::u32string_view text);

}  // namespace gallop::tokenizer::html
