"""The composed engine: category switches, severity defaults, shared normalisation, the cached loader."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from siyu.compliance import engine as eng
from siyu.compliance import rules_service as svc
from siyu.compliance.contract import Finding, MessageIn
from siyu.compliance.keywords import KeywordRuleSpec
from siyu.models.compliance import ComplianceCategory as C
from siyu.models.compliance import Severity
from siyu.org.permissions import SYSTEM_ACTOR

NOW = datetime(2026, 11, 1, 10, tzinfo=UTC)


def msgs(*texts: str) -> list[MessageIn]:
    return [MessageIn(f"m{i}", "s1", "text", t, NOW, from_staff=True) for i, t in enumerate(texts)]


class FakePatterns:
    """A detector without a rule that defers: flags every message containing 138 as contact."""

    defers_severity = True

    def detect(self, messages: Sequence[MessageIn]) -> list[Finding]:
        out = []
        for m in messages:
            at = (m.text or "").find("138")
            if at >= 0:
                out.append(
                    Finding(m.msgid, C.contact, "phone", Severity.low, at, at + 3, "138", rule_key="phone")
                )
        return out


RULES = [
    KeywordRuleSpec(1, C.private_deal, "私单", ("走我个人",), severity=Severity.high),
    KeywordRuleSpec(2, C.competitor, "竞品", ("竞品甲",), severity=Severity.low),
]


def test_disabled_category_drops_findings_and_defaults_apply_to_deferring_detectors() -> None:
    categories = {
        C.competitor: eng.CategorySetting(False, Severity.low),
        C.contact: eng.CategorySetting(True, Severity.high),
    }
    engine = eng.build_engine(RULES, (), categories)
    engine.detectors.append(FakePatterns())
    found = engine.detect(msgs("竞品甲更好，走我个人，138", "你好"))
    assert [(f.detector, f.category, f.severity, f.start) for f in found] == [
        ("keyword", C.private_deal, Severity.high, 6),  # the rule's own severity
        ("phone", C.contact, Severity.high, 11),  # the category's default replaces the detector's
    ]
    # Disabled category: its rules are not even in the automaton.
    assert engine.keyword is not None and [r.id for r in engine.keyword.rules] == [1]
    off = eng.ComplianceEngine([FakePatterns()], {C.contact: eng.CategorySetting(False, Severity.high)})
    assert off.detect(msgs("138")) == []

    class OwnGrades(FakePatterns):
        defers_severity = False

    own = eng.ComplianceEngine([OwnGrades()], {C.contact: eng.CategorySetting(True, Severity.high)})
    assert [f.severity for f in own.detect(msgs("138"))] == [Severity.low]


def test_whitelisted_value_excuses_pattern_findings_of_its_category() -> None:
    for whitelist, kept in (([("138", C.contact)], 0), ([("138", None)], 0), ([("138", C.payment)], 1)):
        engine = eng.ComplianceEngine([FakePatterns()], whitelist=whitelist)
        assert len(engine.detect(msgs("电话138"))) == kept


def test_engine_shares_one_normalisation_with_the_keyword_matcher() -> None:
    engine = eng.build_engine([KeywordRuleSpec(1, C.private_deal, "加微", ("加微信",))])
    text = "请加ღ✿✿微ღ✿✿信"
    [f] = [f for f in engine.detect(msgs(text)) if f.detector == "keyword"]
    assert text[f.start : f.end] == "加ღ✿✿微ღ✿✿信"


def test_load_engine_is_cached_and_rebuilt_on_every_kind_of_edit(session: Session) -> None:
    eng.clear_cache()
    rule = svc.create_rule(
        session, SYSTEM_ACTOR, {"category": "private_deal", "name": "私单", "terms": ["走我个人"]}
    )
    first = eng.load_engine(session, with_classifier=False)
    assert eng.load_engine(session, with_classifier=False) is first
    assert [f.rule_id for f in first.detect(msgs("走我个人"))] == [rule.id]

    svc.edit_rule(session, SYSTEM_ACTOR, rule.id, {"terms": ["不走公司"]})
    second = eng.load_engine(session, with_classifier=False)
    assert second is not first
    assert second.detect(msgs("走我个人")) == [] and len(second.detect(msgs("不走公司"))) == 1

    svc.add_whitelist(session, SYSTEM_ACTOR, "不走公司的话", None)
    third = eng.load_engine(session, with_classifier=False)
    assert third is not second and third.detect(msgs("不走公司的话没有发票")) == []

    svc.set_category(session, SYSTEM_ACTOR, "private_deal", enabled=False)
    fourth = eng.load_engine(session, with_classifier=False)
    assert fourth is not third and fourth.detect(msgs("不走公司")) == []

    svc.set_category(session, SYSTEM_ACTOR, "private_deal", enabled=True)
    svc.set_rule_enabled(session, SYSTEM_ACTOR, rule.id, False)
    fifth = eng.load_engine(session, with_classifier=False)
    assert fifth is not fourth and fifth.detect(msgs("不走公司")) == []


def test_loaded_defaults_catch_each_keyword_category(session: Session) -> None:
    eng.clear_cache()
    svc.install_defaults(session, SYSTEM_ACTOR)
    engine = eng.load_engine(session, with_classifier=False)
    texts = {
        C.private_deal: "这单别拍了，转我个人账户，便宜二十",
        C.diverted_order: "你去别家买吧，我朋友店里更便宜",
        C.forbidden_promise: "这个保本稳赚，放心",
        C.abuse: "你是不是傻逼，听不懂人话",
    }
    found = engine.detect(msgs(*texts.values()))
    by_msg = {(f.msgid, f.category) for f in found if f.detector == "keyword"}
    for i, cat in enumerate(texts):
        assert (f"m{i}", cat) in by_msg
    # Hard negatives: payment through WeChat Pay and the company account are fine.
    clean = engine.detect(msgs("您可以用微信支付，钱都进公司账户", "这个病不能根治的，请遵医嘱"))
    assert [f for f in clean if f.detector == "keyword"] == []
