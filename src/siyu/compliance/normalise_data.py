"""Static tables for normalisation: kept ranges, digit forms and the curated variant list."""

from __future__ import annotations

# Han ideograph ranges kept in the views (BMP, compatibility, and the supplementary planes 2-3).
HAN_RANGES: tuple[tuple[int, int], ...] = (
    (0x3400, 0x4DBF),  # Extension A
    (0x4E00, 0x9FFF),  # URO
    (0xF900, 0xFAFF),  # compatibility ideographs (NFKC maps most to the URO)
    (0x20000, 0x2FFFF),  # Extensions B-F, compatibility supplement
    (0x30000, 0x3134F),  # Extensions G-H
)

# Ranges handed to OpenCC t2s once to build the one-character traditional → simplified table.
T2S_RANGES: tuple[tuple[int, int], ...] = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))

# Code points above this are outside every table (they are removed from the views).
TABLE_LIMIT = 0x31350

IDEOGRAPHIC_ZERO = "\u3007"  # 〇 is Nl, not in a Han block, but is written as a digit and in names.

# Chinese digits (lower-case, financial/upper-case, and the spoken forms 两 = 2, 幺 = 1) → ASCII; digits view only.
CHINESE_DIGITS: dict[str, str] = {
    "〇": "0",
    "零": "0",
    "一": "1",
    "二": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
    "两": "2",
    "幺": "1",
    "壹": "1",
    "贰": "2",
    "叁": "3",
    "肆": "4",
    "伍": "5",
    "陆": "6",
    "柒": "7",
    "捌": "8",
    "玖": "9",
}

# The curated variant list: canonical form → written forms, matched after case folding and full-width folding.
# Only forms seen in real evasion of contact / payment words: initials (vx, wx, zfb), pinyin (weixin), the
# English name, and single-character homophones of 微 (薇 威 徽) and of 付 / 宝. No blanket pinyin: matching every
# "wei xin" reading floods false positives (维新, 威信 as a word is rare in service chat, so it is kept).
# Symbols between the characters of a form are allowed (v✿x, 薇.信), as the symbol removal would join them anyway.
VARIANTS: dict[str, tuple[str, ...]] = {
    "微信": ("vx", "wx", "weixin", "wechat", "v信", "微x", "薇信", "威信", "徽信", "薇x"),
    "支付宝": ("zfb", "alipay", "支付包", "吱付宝", "支fu宝", "zhifubao"),
    "qq": ("扣扣",),
}
