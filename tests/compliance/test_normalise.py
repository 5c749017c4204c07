"""Normalisation: the keyword view, the digits view, the folded view, repeats, and offsets back to the original."""

from __future__ import annotations

import pytest

from siyu.compliance.contract import Normalised
from siyu.compliance.normalise import (
    collapse_repeats,
    digits_view,
    digits_view_many,
    fold,
    fold_many,
    normalise,
    normalise_many,
)


def highlight(original: str, n: Normalised, needle: str) -> str:
    """The original substring behind the first occurrence of needle in the normalised text."""
    i = n.text.index(needle)
    start, end = n.original_span(i, i + len(needle))
    return original[start:end]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("加ღ✿✿微ღ✿✿信", "加微信"),
        ("微.信", "微信"),
        ("微 信", "微信"),
        ("微-信", "微信"),
        ("微\u200b信", "微信"),  # zero-width space
        ("加😀微😀信", "加微信"),
        ("ＡＢＣ１２３", "abc123"),  # full-width
        ("微信\u3000号", "微信号"),  # ideographic space
        ("發財 微信號", "发财微信号"),  # traditional → simplified
        ("Hello WORLD", "helloworld"),
        ("你好，請問。", "你好请问"),
    ],
)
def test_keyword_view_folds_and_removes_symbols(text: str, expected: str) -> None:
    assert normalise(text).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("加vx", "加微信"),
        ("加VX", "加微信"),
        ("加ＶＸ", "加微信"),
        ("V信", "微信"),
        ("v信", "微信"),
        ("薇信", "微信"),
        ("威信", "微信"),
        ("徽信", "微信"),
        ("wx:abc", "微信abc"),
        ("weixin", "微信"),
        ("v✿x", "微信"),
        ("薇.信", "微信"),
        ("zfb转账", "支付宝转账"),
        ("ZFB", "支付宝"),
        ("支付包", "支付宝"),
        ("扣扣", "qq"),
        ("私聊", "私聊"),  # kept as is
        ("私我", "私我"),
        ("私信", "私信"),
    ],
)
def test_curated_variants(text: str, expected: str) -> None:
    assert normalise(text).text == expected


@pytest.mark.parametrize("text", ["new xbox", "vxyz", "twx", "wxyz", "avx"])
def test_ascii_variants_need_a_word_boundary(text: str) -> None:
    assert "微信" not in normalise(text).text


def test_variant_offsets_cover_the_replaced_span() -> None:
    text = "请加 VX 哦"
    n = normalise(text)
    assert n.text == "请加微信哦"
    assert highlight(text, n, "微信") == "VX"
    assert highlight(text, n, "加微信") == "加 VX"
    text = "zfb:abc"
    n = normalise(text)
    assert highlight(text, n, "支付宝") == "zfb"
    assert list(n.origin) == [0, 0, 2, 4, 5, 6, 7]


def test_offsets_highlight_interleaved_original() -> None:
    text = "好的，加ღ✿✿微ღ✿✿信吧"
    n = normalise(text)
    assert highlight(text, n, "加微信") == "加ღ✿✿微ღ✿✿信"
    assert n.origin[len(n.text)] == len(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一三八", "138"),
        ("幺三八", "138"),
        ("两零〇", "200"),
        ("①③⑧", "138"),
        ("⑴⑵⑶", "123"),
        ("壹叁捌", "138"),
        ("貳", "2"),  # traditional financial digit → 贰 → 2
        ("１３８", "138"),
        ("138-1234-5678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("1✿3✿8", "138"),
        ("138.1234.5678", "13812345678"),
    ],
)
def test_digits_view(text: str, expected: str) -> None:
    assert digits_view(text).text == expected


def test_digits_view_offsets_and_separator_gaps() -> None:
    text = "电话：138 一二三四-⑤⑥⑦⑧"
    d = digits_view(text)
    assert d.text == "电话13812345678"
    i = d.text.index("138")
    start, end = d.original_span(i, i + 11)
    assert text[start:end] == "138 一二三四-⑤⑥⑦⑧"
    gaps = [k for k in range(i + 1, i + 11) if d.origin[k] - d.origin[k - 1] > 1]
    assert [d.text[i:g] for g in gaps[:1]] == ["138"]  # the separator after 138 is visible as an origin gap
    assert len(gaps) == 2


def test_keyword_view_keeps_chinese_digits() -> None:
    assert normalise("一起加油").text == "一起加油"


def test_fold_is_length_preserving() -> None:
    text = "ＶＸ：Ab_12３ 發 taobao。com ✿"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded == "vx:ab_123 发 taobao.com ✿"


def test_batches_match_single_calls_and_keep_boundaries() -> None:
    texts = ["v", "x", "", "加\x01微信", "微✿", "信", "138", "1234"]
    assert [n.text for n in normalise_many(texts)] == [normalise(t).text for t in texts]
    assert [n.text for n in digits_view_many(texts)] == [digits_view(t).text for t in texts]
    assert fold_many(texts) == [fold(t) for t in texts]
    assert normalise_many(texts)[0].text == "v"  # no variant across message boundaries
    assert normalise_many([]) == [] and digits_view_many([]) == [] and fold_many([]) == []


def test_collapse_repeats() -> None:
    text = "傻傻傻✿逼逼"
    n = collapse_repeats(normalise(text))
    assert n.text == "傻逼"
    assert list(n.origin) == [0, 4, 6]
    same = normalise("你好")
    assert collapse_repeats(same) is same


def test_non_bmp_and_surrogates_do_not_break_offsets() -> None:
    text = "加\U0001f600微\U00020000信\ud800"
    n = normalise(text)
    assert n.text == "加微\U00020000信"
    assert n.origin[len(n.text)] == len(text)
