#!/usr/bin/env python3
"""Writes tests/data/tokenizer/tokenizer_golden.json: the reference prompt cleaning and token ids.

For every prompt it records what the official Wan pipeline computes (wan/modules/tokenizers.py,
clean='whitespace'):
  ftfy   ftfy.fix_text(prompt)
  clean  regex.sub(r'\\s+', ' ', html.unescape(html.unescape(ftfy)).strip()).strip()
  ids    SentencePiece ids of `clean` with tokenizer/assets/tiny_spiece.model, truncated to
         max_len - 1, then EOS (1); padding (0) and the mask (1 x length, then 0) are implied.
Prompts that are not valid UTF-8 are stored as hex bytes (`input_hex`) and decoded the way the
official CLI decodes argv ('surrogateescape'). A second list, `nfc`, holds random strings and
their unicodedata NFC form. As a diagnostic, the script also runs the Hugging Face tokenizer
built from the same model (what the official pipeline calls) and reports where it disagrees.

    .venv/bin/python tools/reference/tokenizer_golden.py
"""

import hashlib
import html
import json
import random
import sys
import unicodedata
from pathlib import Path

import ftfy
import regex
import sentencepiece as spm

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "tokenizer"
MODEL = ROOT / "tokenizer" / "assets" / "tiny_spiece.model"
OUT = DATA / "tokenizer_golden.json"
SEED = 1234
EOS = 1

NEG_SHARED = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
    "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
    "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
)
NEG_ENGLISH = (
    "Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, "
    "static, overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, "
    "extra fingers, poorly drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, "
    "fused fingers, still picture, messy background, three legs, many people in the background, "
    "walking backwards"
)


def official_clean(text: str) -> tuple:
    fixed = ftfy.fix_text(text)
    basic = html.unescape(html.unescape(fixed)).strip()
    return fixed, regex.sub(r"\s+", " ", basic).strip()


# ---- prompts -------------------------------------------------------------------------------------

def named_prompts() -> list:
    p = []
    add = lambda name, text: p.append((name, text))  # noqa: E731
    # English
    for i, t in enumerate([
        "Two anthropomorphic cats in comfy boxing gear and bright gloves fight intensely on a spotlighted stage.",
        "A stylish woman walks down a Tokyo street filled with warm glowing neon and animated city signage.",
        "Summer beach vacation style, a white cat wearing sunglasses sits on a surfboard.",
        "An astronaut riding a horse on the moon, cinematic lighting, 4K, slow motion",
        "a close-up of a hummingbird drinking nectar, shallow depth of field",
        "Drone shot of waves crashing against the rugged cliffs along Big Sur's Garay Point beach.",
        "The camera follows behind a white vintage SUV with a black roof rack as it speeds up a steep dirt road.",
        "A cute happy Corgi playing in park, sunset, pixel art style",
        "Timelapse of a flower blooming -- 24 fps, 8k, ultra-detailed!!!",
        "A red panda eating bamboo; photorealistic (high quality) [trending on artstation]",
        "UPPERCASE PROMPT WITH NUMBERS 12345 AND SYMBOLS #@$%^*",
        "url: https://example.com/path?x=1&y=2 and email someone@example.org",
        "Price $3.99 - 50% off; temperature 25°C; 3×4 grid; ½ cup",
        "C++ code: `for (int i = 0; i < n; ++i) { sum += a[i]; }`",
        "Tom's dog isn't \"happy\" - it's 'ecstatic'.",
    ]):
        add(f"english_{i}", t)
    # CJK
    for i, t in enumerate([
        "一只可爱的小猫在草地上奔跑，阳光明媚。",
        "夜晚的城市灯火通明，车流不息，电影感镜头。",
        "宇航员在月球上骑马，4K高清，慢动作",
        "中国古代宫殿，雪花飘落，水墨画风格！",
        "她说：“今天天气真好。”",
        "「東京の夜景」、ネオンが輝く。",
        "桜の花びらが風に舞う、アニメ風のイラスト",
        "ｶﾀｶﾅ ﾊﾝｶｸ ｶﾞｷﾞｸﾞ",
        "고양이가 창가에서 졸고 있다. 영화 같은 조명!",
        "서울의 밤거리, 네온사인 🌃",
        "混合 English 和中文 prompt，with 全角标点！",
        "𠀀𠀁 rare CJK extension B 𪚥",
    ]):
        add(f"cjk_{i}", t)
    # emoji
    for i, t in enumerate([
        "a rocket 🚀 launching into space ✨",
        "family 👨‍👩‍👧‍👦 at the beach 🏖️",
        "astronaut 👩‍🚀 and firefighter 🧑🏽‍🚒",
        "rainbow flag 🏳️‍🌈 and pirate flag 🏴‍☠️",
        "flags 🇯🇵🇺🇸🇨🇳 and keycap 1️⃣ #️⃣",
        "skin tones 👍🏻👍🏼👍🏽👍🏾👍🏿",
        "heart ❤️ vs ❤ vs ♥︎",
        "🐱🐶🐭🐹🐰🦊🐻🐼",
        "Wales 🏴󠁧󠁢󠁷󠁬󠁳󠁿 tag sequence",
        "😀" * 40,
    ]):
        add(f"emoji_{i}", t)
    # full-width and width forms
    for i, t in enumerate([
        "ＬＯＵＤ　ＮＯＩＳＥＳ",
        "全角逗号，句号。感叹号！问号？",
        "Ｆｕｌｌｗｉｄｔｈ ｄｉｇｉｔｓ １２３４５",
        "（括号）【方括号】《书名号》",
        "ｕｎｉｃｏｄｅ＆ｓｙｍｂｏｌｓ：＃＄％＾＊＋＝",
        "halfwidth ﾟﾞ and ￠￡￥￦ signs",
        "\uffe8\uffe9\uffea\uffeb\uffec\uffed\uffee halfwidth forms",
        "ideographic\u3000space\u3000\u3000here",
        "～〜 tildes and ・ dots",
    ]):
        add(f"width_{i}", t)
    # quotes and ligatures
    for i, t in enumerate([
        "\u201cdouble curly\u201d and \u2018single curly\u2019",
        "\u201ehigh-reversed\u201f and \u201bquote\u201a",
        "modifier apostrophe: don\u02bct",
        "«guillemets» and ‹single› stay",
        "ﬁne ﬂoor ﬀ ﬃ ﬄ ﬅ ﬆ",
        "Ĳssel ĳs ǅ ǆ Ǉ ǈ ǉ Ǌ ǋ ǌ Ǳ ǲ ǳ ŉ",
        "æ œ ß stay (not Latin typographic ligatures)",
    ]):
        add(f"quotes_ligatures_{i}", t)
    # HTML entities
    for i, t in enumerate([
        "Tom &amp; Jerry",
        "&lt;b&gt;bold&lt;/b&gt; text",
        "double escaped &amp;lt;tag&amp;gt;",
        "triple &amp;amp;amp; escaped",
        "no&nbsp;break&nbsp;&nbsp;space",
        "&quot;quoted&quot; &#39;single&#39; &#x27;hex&#x27;",
        "&copy 2024 &copy; 2025 &reg &trade;",
        "P&EACUTE;REZ &NTILDE; &nTILDE; &eacute; BUNDESSTRA&SZLIG;E",
        "&hellip;&mdash;&ndash;&lsquo;&rsquo;&ldquo;&rdquo;",
        "&#8217; &#x2019; &#X2019; &#8220;hi&#8221;",
        "emoji by ref &#x1F600; &#128512;",
        "bad refs &#0; &#128; &#x80; &#x9D; &#xD800; &#1114112; &#x110000; &#13;",
        "dropped refs &#1; &#x0B; &#x7F; &#xFDD0; &#xFFFE; &#x1FFFF;",
        "AT&T and R&D and a&b;c",
        "&notit; &notin; &not &ampx; &ampersand;",
        "literal <b>&amp;</b> html keeps entities",
        "first line has < sign\nsecond &amp; line",
        "first &amp; line\nsecond has < sign\nthird &amp;",
        "&Jscr;ohn &HilbertSpace;ancock &checkmark;",
        "&NotEqualTilde; &nbsp &NBSP; &AMP; &AMP",
        "&abcdefghijklmnopqrstuvwxyz1234567890; overlong",
        "&#00000000000000000000065; &#x0000000041;",
        "&#123456789012345678901234567890;",
        "&",
        "&&&;;; &#; &#x; &#xZZ;",
        "&lt&gt&amp",
        "&ltx; &amp5; &gt;&gt;",
        "caf&eacute; na&iuml;ve &Aring;ngstr&ouml;m",
    ]):
        add(f"html_{i}", t)
    # control characters
    for i, t in enumerate([
        "null\x00byte and bell\x07 and backspace\x08",
        "vertical\x0btab form\x0cfeed",
        "escape\x1b[31mred\x1b[0m text \x1b[1;32;40mgreen\x1b[m",
        "escape without letter \x1b[12 and lone \x1b",
        "delete\x7fchar and \x0e\x0f\x10 shifts",
        "zero\u200bwidth\u200cjoiners\u200d stay",
        "\ufeffBOM at start and \ufeff inside",
        "deprecated \u206a\u206b\u206c\u206d\u206e\u206f format",
        "annotation \ufff9a\ufffab\ufffb object\ufffc",
        "C1 controls \x80 \x85 \x91quoted\x92 \x9d",
        "bidi \u202aembedded\u202c \u200fRTL mark",
        "file\x1cgroup\x1drecord\x1eunit\x1fsep",
        "arabic-indic digits escape \x1b[\u0661\u0662m",
    ]):
        add(f"control_{i}", t)
    # whitespace
    for i, t in enumerate([
        "tabs\tand\t\ttabs",
        "newlines\nand\n\nmore\n",
        "windows\r\nline\r\nendings\r\n",
        "old mac\rline\rendings",
        "line\u2028separator and paragraph\u2029separator",
        "  leading and trailing spaces   ",
        "\n\n\tleading newline and tab",
        "many     internal      spaces",
        "nbsp\xa0\xa0and em\u2003space thin\u2009space hair\u200aspace",
        "narrow\u202fnbsp medium\u205fmath ogham\u1680mark",
        "next line\x85char",
        "mixed \t\n\r\u3000\xa0 whitespace \u2028\u2029 run",
        "\u180emongolian vowel separator is not space",
        "line one\n  indented line two\n\n\n   line four   ",
    ]):
        add(f"whitespace_{i}", t)
    # combining marks and normalization
    for i, t in enumerate([
        "cafe\u0301 nai\u0308ve re\u0301sume\u0301",
        "A\u030angstrom \u212b sign and \u2126 ohm",
        "Vie\u0323\u0302t Nam and Vi\u1ec7t Nam",
        "q\u0307\u0323 and q\u0323\u0307 reorder",
        "a\u0328\u0301 \u0105\u0301 ordering",
        "\u1100\u1161\u11a8 jamo \u1112\u1161\u11ab\u1100\u1173\u11af",
        "\uac00\u11a8 LV plus T",
        "\u0958 excluded \u0915\u093c devanagari",
        "\u0344 \u0f73 non-starter decompositions",
        "e\u0301\u0301\u0301 stacked accents",
        "\u0301 leading combining mark",
        "\u00c5\u0301 composed then combining",
        "\u1e9b\u0323 long s dot",
        "Zalgo t\u0336\u0322\u0347e\u0334\u0353\u0307x\u0337\u0350t",
    ]):
        add(f"combining_{i}", t)
    # mojibake (and look-alikes that must be left alone)
    for i, t in enumerate([
        "cafÃ©",
        "âœ” No problems",
        "sÃ³ and Ã  la mode",
        "voilÃ le travail",
        "â€œquotedâ€\x9d text",
        "â€œ like this â€�",
        "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.",
        "&macr;\\_(ã\x83\x84)_/&macr;",
        "Ð¿Ñ€Ð¸Ð²ÐµÑ‚ Ð¼Ð¸Ñ€",
        "РџСЂРёРІРµС‚",
        "Ã¼ber Ã¤rger Ã¶l",
        "ÃƒÂ© double encoded",
        "Mixed good café and bad cafÃ© in one line",
        "BrontÃ«'s novel â€“ a classic",
        "Ã\xa0 Ã¡ and Ã\xa0la",
        "emoji mojibake ðŸ˜€ here",
        "â€™",
        "Ça va? Ärger über Öl. Ñandú.",
        "£50 – €20 — ¥300",
        "Москва and Ελλάδα",
        "naïve café résumé façade",
        "×² and 1° C and 20°F",
        "Âge d'or, ÂNE",
        "windows-1252 smart ‘quotes’ and bullets •",
        "Ã",
        "Ã©Ã©Ã©Ã©Ã©Ã©Ã©Ã©",
        "â€¦ ellipsis mojibake",
        "The word is ÃƒÂ¶sterreich",
        "l\u2019amour \u00e0 la fran\u00e7aise",
        "\u0080\u0081 raw C1 pair",
        "cÃ\x83Â©",
    ]):
        add(f"mojibake_{i}", t)
    # empty and whitespace-only
    for i, t in enumerate(["", " ", "\n\t\r\n", "\u3000\u3000", "&nbsp;", "&#32;&#9;", "\x00\x01", "\ufeff"]):
        add(f"empty_{i}", t)
    # official negative prompts
    add("negative_shared", NEG_SHARED)
    add("negative_i2v", "镜头晃动，" + NEG_SHARED)
    add("negative_flf2v", "镜头切换，镜头晃动，" + NEG_SHARED)
    add("negative_english", NEG_ENGLISH)
    # long prompts that truncate at 512
    rng = random.Random(SEED)
    words = ("cinematic dramatic lighting a cat dog city night neon rain forest mountain river sunset "
             "golden hour slow motion aerial shot wide angle close-up detailed 4K").split()
    add("long_english", " ".join(rng.choice(words) for _ in range(700)))
    add("long_chinese", "，".join([NEG_SHARED] * 6))
    add("long_mixed", " ".join(rng.choice(words + ["中文", "日本語", "한국어", "🚀", "&amp;"]) for _ in range(900)))
    add("long_emoji", "🐱🚀✨" * 200)
    add("long_exact", " ".join(["cat"] * 520))
    return p


def fuzz_prompts(count: int) -> list:
    rng = random.Random(SEED + 1)
    pool = (
        list("abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,;:!?'\"-()&#<>")
        + ["&amp;", "&lt;", "&gt;", "&nbsp;", "&#39;", "&#x2019;", "&eacute;", "&EACUTE;", "&ampx",
           "&#128;", "&copy", "&notin;", "&not", "&amp;lt;"]
        + ["\t", "\n", "\r\n", "\r", "\u2028", "\u3000", "\xa0", "\x85", "\x0b", "\x1c", "  "]
        + ["\u0301", "\u0308", "\u0323", "\u0302", "\u0327", "\u1161", "\u11a8", "\u1100", "\uac00"]
        + ["，", "。", "！", "Ａ", "ｚ", "１", "ｶ", "ﾞ", "“", "”", "‘", "’", "ﬁ", "ǆ"]
        + ["\x00", "\x07", "\x1b[0m", "\x1b", "\ufeff", "\u200b", "\x80", "\x92", "\x9d"]
        + ["é", "Ã", "©", "â", "€", "™", "Â", "Ð", "¿", "Ñ", "°", "±", "×", "œ", "Œ", "¬", "¦", "Ø", "Ù"]
        + ["中", "文", "猫", "日本", "한", "🚀", "👩‍🚀", "🏳️‍🌈", "𠀀"]
    )
    out = []
    for i in range(count):
        n = rng.randint(1, 40)
        out.append((f"fuzz_{i}", "".join(rng.choice(pool) for _ in range(n))))
    return out


def mojibake_fuzz(count: int) -> list:
    """Real mojibake: UTF-8 bytes of mixed text decoded with one of ftfy's single-byte codecs."""
    rng = random.Random(SEED + 2)
    sources = ["café", "naïve", "“quotes”", "€5", "日本", "über", "✔", "—", "😀", "Москва", "Ελλάδα",
               "façade", "señor", "Ångström", " … ", "¿qué?", "ł", "ő", "ş"]
    codecs = ["latin-1", "sloppy-windows-1252", "sloppy-windows-1251", "sloppy-windows-1250",
              "sloppy-windows-1253", "sloppy-windows-1254", "sloppy-windows-1257", "iso-8859-2",
              "macroman", "cp437"]
    out = []
    for i in range(count):
        text = " ".join(rng.choice(sources) for _ in range(rng.randint(1, 4)))
        codec = rng.choice(codecs)
        try:
            broken = text.encode("utf-8").decode(codec)
        except UnicodeDecodeError:
            continue
        if rng.random() < 0.3:
            broken = "clean text " + broken
        out.append((f"mojibake_fuzz_{i}_{codec}", broken))
    return out


INVALID_UTF8 = [
    ("invalid_lone_ff", b"\xff abc"),
    ("invalid_latin1_e9", b"caf\xe9 au lait"),
    ("invalid_truncated_cjk", b"\xe4\xb8 truncated"),
    ("invalid_cesu_surrogate", b"\xed\xa0\x80\xed\xb0\x80 cesu"),
    ("invalid_java_null", b"java \xc0\x80 null"),
    ("invalid_truncated_emoji", b"rocket \xf0\x9f\x9a"),
    ("invalid_overlong_slash", b"over\xc0\xaflong"),
    ("invalid_continuations", b"\x80\x81\xbf start"),
    ("invalid_above_max", b"\xf4\x90\x80\x80 too big"),
    ("invalid_after_mojibake", "â€œquotedâ€".encode() + b"\x9d\xff"),
    ("invalid_inside_mojibake", "cafÃ".encode() + b"\xa9 " + "Ã©".encode() + b"\xe9"),
    ("invalid_next_to_c1", "\x9d".encode() + b"\xff\x80" + "\x85".encode()),
    ("invalid_with_entities", b"&amp;\xfe&lt;\xe4\xb8&#x80;"),
]


def nfc_cases(count: int) -> list:
    rng = random.Random(SEED + 3)
    pool = ([chr(c) for c in range(0x300, 0x370)] + list("aeiouAEIOUnNcCsSzZ")
            + ["\u1100", "\u1161", "\u11a8", "\uac00", "\uac01", "\u1112", "\u1175", "\u11c2"]
            + ["\u212b", "\u2126", "\u0958", "\u0915", "\u093c", "\u0344", "\u0f73", "\u0f71", "\u0f72",
               "\u1e9b", "\u00c5", "\u00e9", "\u1ec7", "\u0345", "\u05b0", "\u05bc", "\u0591", "\u302a",
               "\u3099", "\u304b", "\u309a", "\u0d4a", "\u0d46", "\u0d3e", "\u0cca", "\u0cc6", "\u0cc2",
               "\u0cd5", "\u1b05", "\u1b35", "\U0001d15e", "\U0001d165", "\U0001d16e", "\u0627", "\u0653"])
    cases = []
    for _ in range(count):
        s = "".join(rng.choice(pool) for _ in range(rng.randint(1, 10)))
        cases.append([s, unicodedata.normalize("NFC", s)])
    return cases


# ---- tokenization --------------------------------------------------------------------------------

def spm_ids(sp, clean: str, max_len: int) -> list:
    return sp.encode(clean)[: max_len - 1] + [EOS]


def hf_tokenizer():
    """The Hugging Face tokenizer the official pipeline uses, built from the tiny model."""
    try:
        import shutil
        import tempfile

        from transformers import T5Tokenizer
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(MODEL, Path(tmp) / "spiece.model")  # converted to a fast tokenizer
            return T5Tokenizer.from_pretrained(tmp, extra_ids=0)
    except Exception as exc:  # diagnostic only
        print(f"note: cannot build the Hugging Face tokenizer ({exc}); skipping that check")
        return None


def transformers_version() -> str:
    try:
        import transformers
        return transformers.__version__
    except ImportError:
        return "not installed"


def main():
    sp = spm.SentencePieceProcessor(model_file=str(MODEL))
    assert (sp.pad_id(), sp.eos_id(), sp.unk_id(), sp.bos_id()) == (0, 1, 2, -1)
    hf = hf_tokenizer()
    prompts = named_prompts() + fuzz_prompts(100) + mojibake_fuzz(80)
    cases = []
    hf_mismatch = {"byte_fallback": [], "other": []}

    def add_case(name, text, raw=None, max_len=512):
        fixed, clean = official_clean(text)
        ids = spm_ids(sp, clean, max_len)
        case = {"name": name}
        if raw is None:
            case["input"] = text
        else:
            case["input_hex"] = raw.hex()
        case.update({"ftfy": fixed, "clean": clean, "max_len": max_len, "ids": ids})
        cases.append(case)
        if hf is not None:
            # the official pipeline cleans first, then calls the tokenizer on the clean text
            enc = hf(clean, padding="max_length", truncation=True, max_length=max_len,
                     add_special_tokens=True)
            want = ids + [0] * (max_len - len(ids))
            if list(enc["input_ids"]) != want:
                # the converted fast tokenizer has no byte fallback: it says <unk> instead
                kind = "byte_fallback" if any(sp.is_byte(i) for i in ids) else "other"
                hf_mismatch[kind].append(name)

    for name, text in prompts:
        add_case(name, text)
    for name, raw in INVALID_UTF8:
        add_case(name, raw.decode("utf-8", "surrogateescape"), raw=raw)
    small = {"english_0": [1, 2, 5, 16], "negative_shared": [8, 77], "cjk_0": [3], "emoji_1": [4],
             "empty_0": [1, 2], "long_exact": [511, 512, 513]}
    by_name = dict(prompts)
    for name, lengths in small.items():
        for max_len in lengths:
            add_case(f"{name}_max{max_len}", by_name[name], max_len=max_len)

    golden = {
        "meta": {
            "generator": "tools/reference/tokenizer_golden.py",
            "model": "tiny_spiece.model",
            "python": sys.version.split()[0],
            "unicode": unicodedata.unidata_version,
            "ftfy": ftfy.__version__,
            "regex": regex.__version__,
            "sentencepiece": spm.__version__,
            "model_sha256": hashlib.sha256(MODEL.read_bytes()).hexdigest(),
            "hf_check": f"transformers {transformers_version()} (converted fast tokenizer, diagnostic only)",
            "hf_tokenizer_mismatches": hf_mismatch,
            "rule": "ids = sentencepiece(clean)[:max_len-1] + [1]; pad 0 to max_len; mask 1 for ids",
        },
        "cases": cases,
        "nfc": nfc_cases(300),
    }
    OUT.write_text(json.dumps(golden, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(cases)} cases, {OUT.stat().st_size} bytes; "
          f"Hugging Face tokenizer disagrees on {len(hf_mismatch['byte_fallback'])} cases with byte "
          f"pieces and on {len(hf_mismatch['other'])} others: {hf_mismatch['other'][:10]}")


if __name__ == "__main__":
    main()
