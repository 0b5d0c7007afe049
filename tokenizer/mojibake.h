// Port of ftfy's mojibake repair (ftfy.fix_encoding with default settings) and the pieces of
// it that fix_text also runs on their own. Internal to gallop_tokenizer.
//
// Ported: the badness heuristic (is_bad), re-encoding through ftfy's ten single-byte codecs
// followed by strict UTF-8 / 'utf-8-variants' decoding, restore_byte_a0,
// replace_lossy_sequences, decode_inconsistent_utf8, the Latin-1 -> Windows-1252 step and
// fix_c1_controls. The regexes come flattened from ftfy itself (gen_tokenizer_tables.py).
// Not ported: nothing on this path; ftfy's 'explain' bookkeeping has no effect on the text.
#pragma once

#include <string>
#include <string_view>

namespace gallop::tokenizer::ftfy {

// ftfy.badness.is_bad: does the text contain a sequence that looks like mojibake?
bool is_bad(std::u32string_view text);

// ftfy.fix_encoding(text).
std::u32string fix_encoding(std::u32string_view text);

// ftfy.fixes.fix_c1_controls: U+0080..U+009F read as sloppy Windows-1252.
std::u32string fix_c1_controls(std::u32string_view text);

}  // namespace gallop::tokenizer::ftfy
