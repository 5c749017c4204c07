"""The engine's fast path (shared BatchViews, prefilters, lazy origins) finds exactly what the slow reference path finds."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.compliance import engine as eng
from siyu.compliance import keywords as kw
from siyu.compliance.classifier import AbuseClassifier, ClassifierDetector
from siyu.compliance.contract import Finding, MessageIn, Normalised
from siyu.compliance.keywords import KeywordMatcher, KeywordRuleSpec, _two_byte_table, repeat_indexes
from siyu.compliance.normalise import (
    BatchViews,
    CharFilter,
    digits_batch,
    fold_joined,
    normalise,
)
from siyu.compliance.patterns import PatternDetector, PatternSettings, _requirement
from siyu.compliance.rules_service import shipped_data, validate_rule
from siyu.models.compliance import ComplianceCategory as C
from siyu.models.compliance import Severity

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# Fragments of clean chat, violations, evasions and the characters the views treat specially.
_FRAGMENTS = [
    *"0123456789１３８①③⑧一三八幺壹叁捌两 -.✿ღ:：+，。！@_/\x01\x00Ａｂ臺灣說話é😀",
    "微信",
    "威信",
    "薇x",
    "v信",
    "vx",
    "VX",
    "wx",
    "newxbox",
    "zfb",
    "支付宝",
    "支fu宝",
    "扣扣",
    "qq",
    "加我",
    "加",
    "私聊",
    "私下给你",
    "走我个人",
    "转账给我",
    "红包发给我",
    "收款码",
    "个人收款码",
    "扫我二维码",
    "卡号",
    "6222020200112233445",
    "订单号",
    "13812345678",
    "138 1234 5678",
    "+86",
    "t.cn/abc",
    "taobao.com",
    "https://",
    "www.shop.xyz/a",
    "下单",
    "abc@qq.com",
    "abc_123",
    "微信号是",
    "哈哈哈",
    "滚滚滚",
    "傻逼",
    "傻傻傻逼",
    "神经病",
    "神经经经病",  # only the repeat-collapsed view matches 神经病 here
    "公司账户",
    "微信支付",
    "保本稳赚",
    "保本",  # a rule term without its AND term
    "企业微信聊",
    "您好亲",
    "发货了",
]
_TEXT = st.lists(st.sampled_from(_FRAGMENTS), max_size=14).map("".join)


@st.composite
def batches(draw: st.DrawFn) -> list[MessageIn]:
    size = draw(st.integers(1, 8))
    out = []
    for i in range(size):
        kind = draw(st.sampled_from(["text", "text", "text", "redpacket", "link"]))
        text = draw(st.one_of(_TEXT, st.none())) if kind == "text" else None
        payload: dict[str, object] | None = (
            {"url": "https://t.cn/xyz", "title": "收款码"} if kind == "link" else None
        )
        out.append(
            MessageIn(
                msgid=f"m{i}",
                sender=draw(st.sampled_from(["a", "b"])),
                msg_type=kind,
                text=text,
                sent_at=T0 + timedelta(seconds=draw(st.integers(0, 300))),
                staff_id=1,
                customer_id=draw(st.sampled_from([1, 2])),
                from_staff=draw(st.booleans()),
                payload=payload,
            )
        )
    return out


def _rules() -> list[KeywordRuleSpec]:
    shipped = [validate_rule(b, "shipped") for b in shipped_data()["rules"]]
    own = [
        KeywordRuleSpec(1, C.private_deal, "私单", ("走我个人", "私下给你"), whitelist=("公司账户",)),
        KeywordRuleSpec(
            2, C.abuse, "骂", ("傻逼", "滚", "神经病"), collapse_repeats=True, severity=Severity.high
        ),
        KeywordRuleSpec(3, C.forbidden_promise, "保本", ("保本",), all_terms=("稳赚",)),
        KeywordRuleSpec(4, C.competitor, "not", ("发货",), not_terms=("您好",)),
    ]
    return own + [
        KeywordRuleSpec(
            id=100 + i,
            category=r["category"],
            name=r["name"],
            terms=tuple(r["terms"]),
            not_terms=tuple(r["not_terms"]),
            whitelist=tuple(r["whitelist"]),
            severity=r["severity"],
            collapse_repeats=r["collapse_repeats"],
        )
        for i, r in enumerate(shipped)
    ]


_WHITELIST = [("微信支付", None), ("13812345678", C.contact)]
_KEYWORD = KeywordMatcher(_rules(), _WHITELIST)
_PATTERNS = PatternDetector(PatternSettings(allowed_numbers=frozenset({"13900000000"})))
_SLOW_PATTERNS = PatternDetector(PatternSettings(allowed_numbers=frozenset({"13900000000"})), prefilter=False)
_CLASSIFIER = ClassifierDetector(AbuseClassifier.load())


# The reference matcher reads every text in the collapsed view too (not only those with a relevant run).
_REF_KEYWORD = KeywordMatcher(_rules(), _WHITELIST)
_REF_KEYWORD.collapse_changes_phrases = True
# ... and applies the full rule logic (AND / NOT / whitelist spans) to every message: no plain-term short way.
for _automaton in (_REF_KEYWORD.plain, _REF_KEYWORD.collapsed):
    if _automaton is not None:
        _automaton.simple = [None] * len(_automaton.simple)


class _SlowKeyword:
    """The reference keyword path: one normalise() per message (its own origin computation)."""

    def detect(self, messages: Sequence[MessageIn]) -> list[Finding]:
        norms = [normalise(m.text) if m.text else None for m in messages]
        return _REF_KEYWORD.detect_normalised(messages, norms)


class _SlowPatterns:
    defers_severity = False

    def detect(self, messages: Sequence[MessageIn]) -> list[Finding]:
        return _SLOW_PATTERNS.detect(messages)


class _SlowClassifier:
    def detect(self, messages: Sequence[MessageIn]) -> list[Finding]:
        return _CLASSIFIER.detect_normalised(messages, [None] * len(messages))


_FAST_ENGINE = eng.ComplianceEngine(
    [_KEYWORD, _PATTERNS, _CLASSIFIER], keyword=_KEYWORD, whitelist=_WHITELIST
)
_SLOW_KW = _SlowKeyword()
_SLOW_ENGINE = eng.ComplianceEngine(
    [_SLOW_KW, _SlowPatterns(), _SlowClassifier()],
    keyword=_SLOW_KW,  # the engine only compares it by identity
    whitelist=_WHITELIST,
)


@settings(max_examples=400, deadline=None)
@given(batches())
def test_engine_fast_path_equals_reference_path(batch: list[MessageIn]) -> None:
    assert _FAST_ENGINE.detect(batch) == _SLOW_ENGINE.detect(batch)


@settings(max_examples=300, deadline=None)
@given(batches())
def test_each_detector_fast_path_equals_its_reference(batch: list[MessageIn]) -> None:
    views = BatchViews([m.text or "" for m in batch])
    assert _KEYWORD.detect_views(batch, views) == _SLOW_KW.detect(batch)
    assert _PATTERNS.detect_views(batch, views) == _SLOW_PATTERNS.detect(batch)
    assert _CLASSIFIER.detect_views(batch, views) == _CLASSIFIER.detect_normalised(batch, [None] * len(batch))


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=8))
def test_batch_views_equal_the_per_text_views(texts: list[str]) -> None:
    views = BatchViews(texts)
    assert views.keyword_texts() == [normalise(t).text for t in texts]
    for i, text in enumerate(texts):
        ref: Normalised = normalise(text)
        fast = views.keyword_view(i)
        assert list(fast.origin) == list(ref.origin)
        # single entries are read without building the list; both ends and negative indexes
        assert [fast.origin[j] for j in range(-len(ref.origin), len(ref.origin))] == list(ref.origin) * 2
        spans = [(a, b) for a in range(len(ref.text)) for b in range(a + 1, len(ref.text) + 1)]
        assert [views.original_span(i, a, b) for a, b in spans] == [ref.original_span(a, b) for a, b in spans]
    assert views.folded() == fold_joined(texts)
    digits, codes, kept = views.digits()
    ref_digits, ref_codes, ref_kept = digits_batch(texts)
    assert digits == ref_digits and np.array_equal(codes, ref_codes) and np.array_equal(kept, ref_kept)
    # (NUL is the batch separator: keyword views never hold it, and a run of it is not counted)
    assert repeat_indexes(texts) == [
        i for i, t in enumerate(texts) if any(a == b != "\x00" for a, b in itertools.pairwise(t))
    ]
    relevant = _KEYWORD.collapsed.in_phrase if _KEYWORD.collapsed else None
    assert relevant is not None
    assert repeat_indexes(texts, relevant) == [
        i
        for i, t in enumerate(texts)
        if any(
            a == b != "\x00" and relevant[min(ord(a), len(relevant) - 1)] for a, b in itertools.pairwise(t)
        )
    ]


def test_prefilter_requirements_are_derived_from_the_regexes() -> None:
    import re

    pairs = _requirement(re.compile(r"转账给我|红.?包|a[0-9]"))
    assert pairs == [
        (frozenset("转"), frozenset("账"), frozenset("给")),  # up to three sets, in pattern order
        (frozenset("红"), frozenset("包")),
        (frozenset("a"), frozenset("0123456789")),
    ]
    assert _requirement(re.compile(r"x?|y")) is None  # an alternative that needs nothing: no prefilter
    assert _requirement(re.compile(r"ab", re.I)) is None
    flt = CharFilter({"g": pairs, "all": None})
    # "给我转个账" passes without matching: the condition is necessary, not sufficient
    texts = ["给我转个账", "红包", "xyz", "a1", "转账"]
    views = BatchViews(texts)
    assert flt.candidates(views.folded_codes(), views.ostarts) == {"g": [0, 1, 3], "all": None}


def test_prefilter_skips_clean_messages_but_not_findings() -> None:
    batch = [
        MessageIn("m0", "a", "text", "您好，今天发货", T0, from_staff=True),
        MessageIn("m1", "a", "text", "加我vx abc_123", T0, from_staff=True),
        MessageIn("m2", "a", "text", "转账给我就行", T0, from_staff=True),
    ]
    views = BatchViews([m.text or "" for m in batch])
    picks = _PATTERNS._prefilter.candidates(views.folded_codes(), views.ostarts)
    assert picks["add_contact"] == [1] and picks["payment_msg"] == [2]
    assert (
        [f.detector for f in _PATTERNS.detect(batch)]
        == [f.detector for f in _SLOW_PATTERNS.detect(batch)]
        == ["add_contact", "wechat_id", "payment_msg"]
    )


_PHRASE_CHARS = st.sampled_from([*"加微信傻逼滚哈走我个人ab1", "𠀀"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(_PHRASE_CHARS, min_size=1, max_size=4).map("".join), min_size=1, max_size=12),
    st.lists(st.lists(_PHRASE_CHARS, max_size=20).map("".join), min_size=1, max_size=6),
)
def test_two_byte_automaton_finds_every_overlapping_match(phrases: list[str], texts: list[str]) -> None:
    rules = [(0, KeywordRuleSpec(1, C.abuse, "r", tuple(phrases)))]
    fast = kw._Automaton(rules, [], collapse=False)
    assert fast.codes is not None  # the two-byte encoding is in use
    brute = {
        i: sorted(
            (pid, s, s + len(p))
            for pid, p in enumerate(fast.phrases)
            for s in range(len(t))
            if t.startswith(p, s)
        )
        for i, t in enumerate(texts)
    }
    got = fast.hits(texts)
    assert {i: sorted(h) for i, h in got.items()} == {i: h for i, h in brute.items() if h}
    with pytest.MonkeyPatch.context() as mp:  # the str automaton (too many distinct characters) agrees
        mp.setattr(kw, "_two_byte_table", lambda phrases: None)
        plain = kw._Automaton(rules, [], collapse=False)
    assert plain.codes is None and plain.hits(texts) == got


def test_two_byte_table_refuses_what_it_cannot_encode() -> None:
    assert _two_byte_table(["\U000e0100"]) is None  # beyond the normalisation tables
    assert _two_byte_table([chr(0x4E00 + i) for i in range(1 << 14)]) is None  # more than 16,383 characters
    table = _two_byte_table(["ab", "加"])
    assert table is not None and int(table[ord("a")]) >> 8 >= 0x80 and int(table[ord("a")]) & 0xFF < 0x80
