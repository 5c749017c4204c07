"""Keyword matcher: any/AND/NOT semantics, whitelists, repeat collapsing, evasion forms, exact offsets."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime

import pytest

from siyu.compliance.contract import MessageIn
from siyu.compliance.keywords import KeywordMatcher, KeywordRuleSpec
from siyu.models.compliance import ComplianceCategory as C
from siyu.models.compliance import Severity

NOW = datetime(2026, 11, 1, 10, tzinfo=UTC)
HAS_NORMALISE = importlib.util.find_spec("siyu.compliance.normalise") is not None


def msgs(*texts: str, from_staff: bool = True) -> list[MessageIn]:
    return [MessageIn(f"m{i}", "s1", "text", t, NOW, from_staff=from_staff) for i, t in enumerate(texts)]


def rule(rid: int = 1, category: C = C.private_deal, **kw: object) -> KeywordRuleSpec:
    fields: dict[str, object] = {"terms": ("走我个人",), **kw}
    return KeywordRuleSpec(rid, category, f"r{rid}", **fields)  # type: ignore[arg-type]


def test_any_term_fires_once_per_rule_with_first_span_and_exact_offsets() -> None:
    m = KeywordMatcher([rule(terms=("私下", "走我个人"))])
    text = "这单走我个人，私下给你便宜，再走我个人"
    [f] = m.detect(msgs(text))
    assert (f.start, f.end, f.matched) == (2, 6, "走我个人")
    assert text[f.start : f.end] == "走我个人"
    assert (f.rule_id, f.rule_key, f.detector, f.severity) == (1, "1", "keyword", Severity.medium)


def test_all_terms_must_all_occur_in_the_same_message() -> None:
    m = KeywordMatcher([rule(terms=("转账",), all_terms=("个人", "账户"))])
    found = m.detect(msgs("转账到个人账户", "转账到个人卡", "转账", "个人账户"))
    assert [f.msgid for f in found] == ["m0"]


def test_not_terms_veto_the_rule() -> None:
    m = KeywordMatcher([rule(terms=("根治",), not_terms=("不能根治", "无法"))])
    found = m.detect(msgs("包您根治", "这个病不能根治的", "无法保证根治"))
    assert [f.msgid for f in found] == ["m0"]


def test_rule_whitelist_excuses_only_matches_inside_it() -> None:
    m = KeywordMatcher([rule(terms=("个人账户",), whitelist=("非个人账户",))])
    found = m.detect(msgs("请转到非个人账户", "请转到非个人账户，或者我个人账户"))
    assert [(f.msgid, f.start) for f in found] == [("m1", 12)]


def test_global_whitelist_by_category_and_for_all() -> None:
    rules = [rule(1, C.private_deal, terms=("微信",)), rule(2, C.competitor, terms=("微信",))]
    m = KeywordMatcher(rules, [("微信支付", None), ("微信群", C.private_deal)])
    found = m.detect(msgs("可以微信支付", "进微信群", "加微信"))
    assert [(f.msgid, f.rule_id) for f in found] == [("m1", 2), ("m2", 1), ("m2", 2)]


def test_several_rules_and_messages_in_one_batch_stay_in_message_order() -> None:
    rules = [
        rule(1, terms=("走我个人",)),
        rule(2, C.diverted_order, terms=("去别家买",), severity=Severity.high),
    ]
    found = KeywordMatcher(rules).detect(msgs("你好", "去别家买吧走我个人", "", "去别家买"))
    assert [(f.msgid, f.rule_id, f.start) for f in found] == [("m1", 2, 0), ("m1", 1, 5), ("m3", 2, 0)]
    assert found[0].severity == Severity.high


def test_staff_only_by_default() -> None:
    found = KeywordMatcher([rule()]).detect(msgs("走我个人", from_staff=False))
    assert found == []
    assert KeywordMatcher([rule()], staff_only=False).detect(msgs("走我个人", from_staff=False))


def test_collapse_repeats_only_for_rules_that_ask() -> None:
    rules = [rule(1, C.abuse, terms=("王八蛋",), collapse_repeats=True), rule(2, C.abuse, terms=("神经病",))]
    text = "你个王八八八蛋，神经经病"
    found = KeywordMatcher(rules).detect(msgs(text))
    assert [f.rule_id for f in found] == [1]
    f = found[0]
    assert f.matched == "王八蛋"
    # The span runs from 王 to 蛋 in the original, the whole run of 八 included.
    assert text[f.start : f.end] == "王八八八蛋"


def test_non_text_and_empty_messages_and_no_rules() -> None:
    assert KeywordMatcher([]).detect(msgs("走我个人")) == []
    m = MessageIn("x", "s", "image", None, NOW, from_staff=True)
    assert KeywordMatcher([rule()]).detect([m]) == []


def test_matches_brute_force_on_generated_text() -> None:
    import random

    rng = random.Random(3)
    alphabet = "加微信私下走我个人账户转"
    terms = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(2, 3))) for _ in range(40)})
    rules = [rule(i + 1, terms=(t,)) for i, t in enumerate(terms)]
    texts = ["".join(rng.choice(alphabet) for _ in range(30)) for _ in range(200)]
    found = KeywordMatcher(rules).detect(msgs(*texts))
    got = {(f.msgid, f.rule_id, f.start) for f in found}
    want = {
        (f"m{i}", r.id, text.find(r.terms[0]))
        for i, text in enumerate(texts)
        for r in rules
        if r.terms[0] in text
    }
    assert got == want


@pytest.mark.skipif(not HAS_NORMALISE, reason="C1's normalise not there yet")
@pytest.mark.parametrize(
    ("text", "evasion"),
    [
        ("请加ღ✿✿微ღ✿✿信聊", "加ღ✿✿微ღ✿✿信"),
        ("请加 微 信", "加 微 信"),
        ("请加微.信", "加微.信"),
        ("请加ＶＸ", "加ＶＸ"),
    ],
)
def test_evasion_forms_meet_the_rule_term_and_highlight_the_original(text: str, evasion: str) -> None:
    m = KeywordMatcher([rule(terms=("加微信",))])
    [f] = m.detect(msgs(text))
    assert text[f.start : f.end] == evasion
