// The official prompt cleaning (see text_clean.h), composed from the ported pieces.
#include "tokenizer/text_clean.h"

#include "tokenizer/ftfy_fix.h"
#include "tokenizer/html_unescape.h"
#include "tokenizer/unicode_text.h"

namespace gallop::tokenizer {

std::string ftfy_fix_text(std::string_view utf8) {
  return unicode::encode_utf8(ftfy::fix_text(unicode::decode_utf8_surrogateescape(utf8)));
}

std::string html_unescape(std::string_view utf8) {
  return unicode::encode_utf8(html::python_unescape(unicode::decode_utf8_surrogateescape(utf8)));
}

std::string clean_prompt(std::string_view utf8) {
  // basic_clean
  std::u32string text = ftfy::fix_text(unicode::decode_utf8_surrogateescape(utf8));
  text = html::python_unescape(html::python_unescape(text));
  text = unicode::python_strip(text);
  // whitespace_clean
  text = unicode::collapse_regex_space(text);
  text = unicode::python_strip(text);
  return unicode::encode_utf8(text);
}

}  // namespace gallop::tokenizer
