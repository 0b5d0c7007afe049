// Data tables behind the prompt cleaning, generated from Python (unicodedata, html, ftfy, regex)
// by tools/reference/gen_tokenizer_tables.py into tokenizer/generated_*.cpp. Internal to
// gallop_tokenizer: only the cleaning code includes this header.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gallop::tokenizer::tables {

// ---- shapes -------------------------------------------------------------------------------------

struct CodepointRange {
  char32_t first;
  char32_t last;  // inclusive
};

// Sorted, disjoint ranges.
struct RangeSet {
  const CodepointRange* ranges;
  std::size_t count;
  bool contains(char32_t cp) const;
};

// One step of canonical decomposition: cp -> first [second].
struct Decomposition {
  char32_t cp;
  char32_t first;
  char32_t second;  // 0 for a singleton decomposition
  bool composes;    // a primary composite: NFC recomposes (first, second) into cp
};

struct CombiningClassRange {
  char32_t first;
  char32_t last;
  uint8_t ccc;
};

struct NamedEntity {
  const char* name;   // ASCII, without the leading '&'
  const char* value;  // UTF-8
};

struct CodepointPair {
  char32_t from;
  char32_t to;
};

struct CodepointString {
  char32_t cp;
  const char* value;  // UTF-8
};

// One alternative of a flattened regex: `length` classes matched one character each.
struct FlatSequence {
  uint8_t length;
  bool anchored_at_start;  // the alternative began with '^'
  uint16_t classes[8];     // indices into kPatternClasses
};

struct FlatPattern {
  const FlatSequence* sequences;  // in the regex engine's order of preference
  std::size_t count;
};

struct SingleByteCodec {
  const char* name;
  char32_t decode[256];  // byte -> character; every byte is defined
};

// ---- Unicode (generated_unicode_tables.cpp) ------------------------------------------------------

extern const char* const kUnicodeVersion;
extern const Decomposition* const kDecompositions;  // sorted by cp; no Hangul syllables
extern const std::size_t kDecompositionCount;
extern const CombiningClassRange* const kCombiningClasses;  // sorted
extern const std::size_t kCombiningClassCount;
extern const RangeSet kPythonSpace;  // str.isspace()
extern const RangeSet kRegexSpace;   // `regex` \s

// ---- HTML (generated_html_entities.cpp, generated_ftfy_entities.cpp) --------------------------

extern const NamedEntity* const kHtml5Entities;  // sorted by name (bytewise)
extern const std::size_t kHtml5EntityCount;
extern const NamedEntity* const kFtfyUpperEntities;  // names end with ';', sorted
extern const std::size_t kFtfyUpperEntityCount;
extern const CodepointPair* const kCharrefFixups;  // sorted by from
extern const std::size_t kCharrefFixupCount;
extern const RangeSet kCharrefDropped;

// ---- ftfy (generated_ftfy_tables.cpp) ----------------------------------------------------------

extern const RangeSet* const kPatternClasses;
extern const std::size_t kPatternClassCount;
extern const FlatPattern kBadnessPattern;
extern const FlatPattern kAlteredUtf8Pattern;
extern const FlatPattern kLossyUtf8Pattern;
extern const FlatPattern kUtf8DetectorUnit;
extern const std::size_t kUtf8ContinuationStrictClass;
extern const std::size_t kC1ControlClass;
extern const SingleByteCodec* const kCharmapEncodings;  // ftfy's CHARMAP_ENCODINGS order
extern const std::size_t kCharmapEncodingCount;
extern const char32_t kWindows1252Strict[256];  // 0xFFFFFFFF = undefined byte
extern const CodepointString* const kWidthMap;   // sorted by cp
extern const std::size_t kWidthMapCount;
extern const CodepointString* const kLigatures;  // sorted by cp
extern const std::size_t kLigaturesCount;
extern const RangeSet kControlChars;
extern const RangeSet kSingleQuotes;
extern const RangeSet kDoubleQuotes;
extern const RangeSet kReDigit;

}  // namespace gallop::tokenizer::tables
