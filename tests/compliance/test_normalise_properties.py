"""Properties of the normalised views over arbitrary text (Hypothesis)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.compliance.contract import Normalised
from siyu.compliance.normalise import (
    collapse_repeats,
    digits_batch,
    digits_view,
    digits_view_many,
    fold,
    normalise,
    normalise_many,
)

# Chat-like text: CJK (simplified and traditional), ASCII, full-width, digits of every kind, symbols, emoji.
_ALPHABET = st.sampled_from(
    list("微信薇威徽加我私聊支付宝發財號一二三四五六七八九〇零两幺壹贰叁")
    + list("abcvwxzqABVWXZ0123456789")
    + list("ＶＸ１２３①②③⑴⑵ 　.-_:：,，。!✿ღ❤\u200b\x01")
    + ["\U0001f600", "\U00020000"]
)
texts = st.text(alphabet=_ALPHABET, max_size=40) | st.text(max_size=30)


def _check_origin(n: Normalised, original: str) -> None:
    origin = list(n.origin)
    assert len(origin) == len(n.text) + 1
    assert origin[-1] == len(original)
    assert all(0 <= o < len(original) for o in origin[:-1])
    assert all(a <= b for a, b in itertools.pairwise(origin))


@settings(max_examples=300, deadline=None)
@given(texts)
def test_keyword_origin_is_monotone_and_in_bounds(text: str) -> None:
    _check_origin(normalise(text), text)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_digits_origin_is_monotone_and_in_bounds(text: str) -> None:
    _check_origin(digits_view(text), text)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text).text
    assert normalise(once).text == once
    assert digits_view(digits_view(text).text).text == digits_view(text).text


@settings(max_examples=300, deadline=None)
@given(texts)
def test_every_digits_view_char_comes_from_its_origin(text: str) -> None:
    d = digits_view(text)
    for i, ch in enumerate(d.text):
        assert digits_view(text[d.origin[i]]).text == ch


@settings(max_examples=300, deadline=None)
@given(texts)
def test_every_keyword_char_comes_from_its_origin_or_a_variant(text: str) -> None:
    n = normalise(text)
    for i, ch in enumerate(n.text):
        single = normalise(text[n.origin[i]]).text
        # a variant's characters map to the replaced span's first / last original character
        assert single == ch or ch in "微信支付宝q"


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, max_size=8))
def test_batch_equals_single(batch: list[str]) -> None:
    assert [n.text for n in normalise_many(batch)] == [normalise(t).text for t in batch]
    assert [n.text for n in digits_view_many(batch)] == [digits_view(t).text for t in batch]
    assert [list(n.origin) for n in normalise_many(batch)] == [list(normalise(t).origin) for t in batch]


@settings(max_examples=200, deadline=None)
@given(texts)
def test_fold_is_length_preserving(text: str) -> None:
    assert len(fold(text)) == len(text)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_collapse_keeps_offsets_valid(text: str) -> None:
    c = collapse_repeats(normalise(text))
    _check_origin(c, text)
    assert all(a != b for a, b in itertools.pairwise(c.text))


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, min_size=1, max_size=6))
def test_digits_batch_origin_matches_per_message_origin(batch: list[str]) -> None:
    joined, codes, positions = digits_batch(batch)
    assert len(joined) == len(codes) == len(positions)
    starts = [0, *itertools.accumulate(len(t) + 1 for t in batch)]
    parts = joined.split("\x01")
    assert len(parts) == len(batch)
    offset = 0
    for i, (part, text) in enumerate(zip(parts, batch, strict=True)):
        view = digits_view(text)
        assert part == view.text
        local = [int(p) - starts[i] for p in positions[offset : offset + len(part)]]
        assert local == list(view.origin)[:-1]
        offset += len(part) + 1
