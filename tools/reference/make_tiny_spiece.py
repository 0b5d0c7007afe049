#!/usr/bin/env python3
"""Trains the project's own tiny SentencePiece model: tokenizer/assets/tiny_spiece.model.

It stands in for umT5's spiece.model in tests and in `gallop generate --model tiny`: a unigram
model with umT5's special ids (<pad> 0, </s> 1, <unk> 2, no BOS), every character of the
corpus in the vocabulary (character_coverage 1.0) and byte fallback for the rest, so that no
text is unknown, and SentencePiece's default normalizer (nmt_nfkc, stored as a precompiled map).

The training corpus is generated here, deterministically (fixed seed, no external data):
English prompt-like sentences, Chinese (including the official default negative prompts, in
both their raw full-width and their cleaned ASCII-comma forms), Japanese, Korean, digits,
punctuation and emoji. Training runs single-threaded with a fixed seed, so running this script
twice gives the same bytes (it checks that by training twice).

    .venv/bin/python tools/reference/make_tiny_spiece.py
"""

import hashlib
import os
import random
import tempfile
from pathlib import Path

import sentencepiece as spm

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tokenizer" / "assets" / "tiny_spiece.model"
SEED = 20250226
VOCAB_SIZE = 3000

# Spec section 3.6: the shared default negative prompt, and the I2V / FLF2V prefixes.
NEG_SHARED = (
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
    "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
    "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走"
)
NEG_I2V = "镜头晃动，" + NEG_SHARED
NEG_FLF2V = "镜头切换，" + NEG_I2V

SUBJECTS = [
    "a cat", "two dogs", "an astronaut", "a red fox", "a young woman", "an old man", "a robot",
    "a panda", "a dragon", "a sailboat", "a hummingbird", "a vintage car", "a jellyfish",
    "a samurai", "a chef", "a ballerina", "a polar bear", "a lighthouse", "a steam train",
    "a golden retriever", "a koi fish", "a hot air balloon", "a knight", "a street musician",
]
ACTIONS = [
    "walking", "running", "dancing", "flying", "swimming", "sleeping", "jumping", "cooking",
    "playing guitar", "reading a book", "surfing a wave", "climbing a mountain", "riding a bike",
    "drinking coffee", "painting a mural", "looking at the camera", "turning around slowly",
]
PLACES = [
    "on a sunny beach", "in a neon-lit city at night", "through a snowy forest", "on the moon",
    "in a cozy kitchen", "under a starry sky", "across a desert", "in a misty bamboo forest",
    "beside a waterfall", "in Tokyo", "in a field of sunflowers", "inside a futuristic lab",
    "on a rainy street", "at golden hour", "underwater near a coral reef",
]
STYLES = [
    "cinematic lighting", "4K", "8k ultra detailed", "slow motion", "shallow depth of field",
    "wide-angle shot", "close-up", "aerial drone view", "anime style", "watercolor painting",
    "photorealistic", "film grain", "soft focus", "high contrast", "pastel colors", "HDR",
    "tracking shot", "35mm lens", "volumetric fog", "Pixar style 3D render",
]
CHINESE = [
    "一只可爱的小猫在草地上奔跑", "夜晚的城市灯火通明", "海浪拍打着岩石", "宇航员在月球上行走",
    "一位老人在公园里打太极", "樱花在春风中飘落", "熊猫在竹林里吃竹子", "雨中的街道反射着霓虹灯",
    "电影感的镜头，柔和的光线", "高清画质，细节丰富", "一条龙在云中飞翔", "秋天的森林，金黄的树叶",
    "小女孩在海边放风筝", "厨师在厨房里做饭", "雪山脚下的湖泊", "赛车在赛道上疾驰",
]
JAPANESE = [
    "桜の花びらが風に舞う", "東京の夜景、ネオンが輝く", "猫が窓辺で昼寝をしている",
    "富士山の上に朝日が昇る", "アニメ風のイラスト、高画質", "雨の日の静かな街角",
    "カメラがゆっくりとズームインする", "少女が森の中を歩いている",
]
KOREAN = [
    "고양이가 창가에서 졸고 있다", "서울의 밤거리, 네온사인", "바닷가에서 뛰어노는 강아지",
    "눈 내리는 겨울 숲", "영화 같은 조명, 고화질", "우주비행사가 달 위를 걷는다",
]
ADJECTIVES = [
    "beautiful", "mysterious", "tiny", "giant", "fluffy", "ancient", "futuristic", "colorful",
    "gloomy", "peaceful", "dramatic", "elegant", "rusty", "shiny", "glowing", "transparent",
    "wooden", "frozen", "burning", "floating", "crowded", "empty", "majestic", "playful",
]
COLORS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "white", "black",
          "silver", "golden", "turquoise", "crimson", "emerald", "violet", "beige"]
OBJECTS = [
    "umbrella", "castle", "bridge", "mountain", "river", "garden", "window", "mirror", "lantern",
    "candle", "clock", "bicycle", "guitar", "piano", "telescope", "spaceship", "temple", "market",
    "island", "volcano", "glacier", "canyon", "meadow", "harbor", "skyscraper", "library",
    "balloon", "kite", "feather", "crystal", "forest", "village", "festival", "carnival",
]
CHINESE_WORDS = [
    "美丽的", "神秘的", "古老的", "未来的", "城市", "森林", "河流", "山脉", "天空", "星星", "月亮",
    "太阳", "花朵", "树木", "小狗", "小猫", "女孩", "男孩", "老人", "汽车", "飞机", "火车", "房子",
    "街道", "灯光", "阴影", "颜色", "红色", "蓝色", "绿色", "金色", "白色", "黑色", "慢动作",
    "特写", "航拍", "广角", "镜头", "画面", "风景", "人物", "动物", "跳舞", "奔跑", "飞翔", "微笑",
    "下雨", "下雪", "日落", "日出", "海洋", "沙漠", "草原", "湖泊", "桥梁", "宫殿", "寺庙", "市场",
]
EMOJI = ["🐱", "🐶", "🚀", "🌸", "🔥", "✨", "🌊", "🎬", "❤️", "👩‍🚀", "👨‍👩‍👧", "🏳️‍🌈", "😀", "🎨", "🌙"]
PUNCT = [",", ".", "!", "?", ";", ":", "-", "(", ")", "\"", "'", "/", "&", "%", "#", "@", "+", "=",
         "…", "—", "，", "。", "！", "？", "、", "：", "；", "（", "）", "《", "》", "「", "」"]


def english_sentence(rng: random.Random) -> str:
    parts = [rng.choice(SUBJECTS), rng.choice(ACTIONS), rng.choice(PLACES)]
    text = " ".join(parts)
    for _ in range(rng.randint(0, 3)):
        text += ", " + rng.choice(STYLES)
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.2:
        text += " " + rng.choice(EMOJI)
    if rng.random() < 0.2:
        text += f" {rng.randint(0, 2025)}"
    return text + rng.choice([".", "", "!", "..."])


def descriptive_sentence(rng: random.Random) -> str:
    words = []
    for _ in range(rng.randint(2, 5)):
        words.append(f"{rng.choice(ADJECTIVES)} {rng.choice(COLORS)} {rng.choice(OBJECTS)}")
    return rng.choice(["A ", "The ", "", "Two "]) + " and ".join(words) + rng.choice([".", ",", ""])


def corpus_lines(rng: random.Random) -> list:
    lines = []
    for _ in range(4000):
        lines.append(descriptive_sentence(rng))
    for _ in range(200):  # every printable ASCII character, capitalised words
        lines.append(" ".join(w.capitalize() for w in rng.sample(OBJECTS + ADJECTIVES, 6)) + " "
                     + "".join(rng.sample([chr(c) for c in range(0x21, 0x7F)], 12)))
    for _ in range(3000):
        lines.append("".join(rng.choice(CHINESE_WORDS) for _ in range(rng.randint(3, 9))) + rng.choice(["，", "。", ","]))
    for _ in range(6000):
        lines.append(english_sentence(rng))
    for _ in range(40):
        for neg in (NEG_SHARED, NEG_I2V, NEG_FLF2V):
            lines.append(neg)
            lines.append(neg.replace("，", ","))
    for _ in range(1500):
        pieces = rng.sample(CHINESE, rng.randint(1, 3))
        lines.append(rng.choice(["，", ",", "。"]).join(pieces) + rng.choice(["。", "", "！"]))
    for _ in range(600):
        lines.append(rng.choice(["、", "，", " "]).join(rng.sample(JAPANESE, rng.randint(1, 2))) + "。")
        lines.append(", ".join(rng.sample(KOREAN, rng.randint(1, 2))))
    for _ in range(800):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 8)))
        lines.append(f"{digits} {rng.choice(PUNCT)} {rng.choice(EMOJI)} {rng.choice(SUBJECTS)} {rng.choice(PUNCT)}")
    return lines


def train(workdir: Path) -> bytes:
    """Trains in `workdir` with relative paths: the model records its input and prefix names."""
    spm.set_random_generator_seed(SEED)
    previous = os.getcwd()
    os.chdir(workdir)
    try:
        spm.SentencePieceTrainer.train(
            input="corpus.txt",
            model_prefix="tiny_spiece",
            model_type="unigram",
            vocab_size=VOCAB_SIZE,
            pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
            pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
            byte_fallback=True,
            character_coverage=1.0,
            normalization_rule_name="nmt_nfkc",
            input_sentence_size=0,
            shuffle_input_sentence=False,
            num_threads=1,
            minloglevel=2,
        )
        model = Path("tiny_spiece.model").read_bytes()
        os.remove("tiny_spiece.model")
        os.remove("tiny_spiece.vocab")
        return model
    finally:
        os.chdir(previous)


def main():
    rng = random.Random(SEED)
    lines = corpus_lines(rng)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        first = train(Path(tmp))
        second = train(Path(tmp))
    if first != second:
        raise SystemExit("SentencePiece training is not deterministic here; refusing to write")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(first)
    sp = spm.SentencePieceProcessor(model_proto=first)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(first)} bytes, {sp.get_piece_size()} pieces, "
          f"sha256 {hashlib.sha256(first).hexdigest()}, sentencepiece {spm.__version__}")


if __name__ == "__main__":
    main()
