"""The labelled evaluation set: reproducible, complete, scored correctly, and the contact/payment bar."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from siyu.compliance.contract import Finding
from siyu.models.compliance import ComplianceCategory, Severity

ROOT = Path(__file__).resolve().parents[2]
SET = Path(__file__).with_name("data") / "eval_messages.jsonl"


def _bench(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _rows() -> list[dict[str, object]]:
    with SET.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_committed_set_is_what_the_generator_writes() -> None:
    gen = _bench("compliance_eval_set")
    assert gen.generate() == _rows()
    with SET.with_name("eval_holdout.jsonl").open(encoding="utf-8") as fh:
        assert gen.holdout() == [json.loads(line) for line in fh]


def test_set_covers_every_category_evasion_and_hard_negative() -> None:
    rows = _rows()
    assert len(rows) >= 1500
    assert len({r["id"] for r in rows}) == len(rows)
    keys = {
        "id",
        "text",
        "msg_type",
        "from_staff",
        "sender",
        "conversation",
        "sent_at",
        "labels",
        "evasion",
        "note",
    }
    assert all(keys <= r.keys() for r in rows)
    labels = Counter(label for r in rows for label in r["labels"])  # type: ignore[attr-defined]
    for cat in ComplianceCategory:
        if cat is not ComplianceCategory.behaviour:
            assert labels[cat.value] >= 50, (cat, labels)
    forms = Counter(r["evasion"] for r in rows if r["evasion"])
    for form in _bench("compliance_eval_set").EVASIONS:
        assert forms[form] >= 20, (form, forms)
    notes = Counter(str(r["note"]) for r in rows)
    for needle in ("微信支付", "支付宝"):
        assert any(needle in str(r["text"]) and not r["labels"] for r in rows), needle
    for note in ("order numbers that look like phones", "the brand's hotline", "prices, dates"):
        assert sum(n for k, n in notes.items() if note in k) >= 20, note
    clean = [r for r in rows if not r["labels"]]
    assert len(clean) >= 600
    assert sum(1 for r in rows if r["sent_at"] and r["msg_type"] in ("redpacket", "transfer")) >= 30


def test_split_phones_are_consecutive_messages_of_one_sender() -> None:
    by_conv: dict[object, list[dict[str, object]]] = {}
    for r in _rows():
        by_conv.setdefault(r["conversation"], []).append(r)
    splits = [msgs for msgs in by_conv.values() if any(m["evasion"] == "split" for m in msgs)]
    assert len(splits) >= 20
    for msgs in splits:
        assert len(msgs) == 2 and msgs[0]["sender"] == msgs[1]["sender"] and msgs[0]["from_staff"]
        digits = "".join(c for m in msgs for c in str(m["text"]) if c.isdigit())
        assert len(digits) == 11 and digits[0] == "1"
    times = [int(str(r["sent_at"])) for r in _rows()]
    assert times == sorted(times)


def _finding(msgid: str, cat: ComplianceCategory, extra: tuple[str, ...] = ()) -> Finding:
    return Finding(msgid, cat, "t", Severity.low, 0, 1, "x", extra_msgids=extra)


def test_score_counts_by_conversation() -> None:
    bench = _bench("bench_compliance_eval")
    rows = [
        {
            "id": "a",
            "conversation": "c1",
            "labels": ["contact"],
            "evasion": "split",
            "text": "138",
            "msg_type": "text",
        },
        {
            "id": "b",
            "conversation": "c1",
            "labels": ["contact"],
            "evasion": "split",
            "text": "0013",
            "msg_type": "text",
        },
        {"id": "c", "conversation": "c2", "labels": [], "evasion": None, "text": "hi", "msg_type": "text"},
        {
            "id": "d",
            "conversation": "c3",
            "labels": ["payment"],
            "evasion": None,
            "text": "",
            "msg_type": "redpacket",
        },
        {
            "id": "e",
            "conversation": "c4",
            "labels": ["payment", "contact"],
            "evasion": None,
            "text": "x",
            "msg_type": "text",
        },
    ]
    convs = bench.conversations(rows)
    found = {
        "c1": [_finding("b", ComplianceCategory.contact, ("a",))],
        "c2": [_finding("c", ComplianceCategory.payment), _finding("c", ComplianceCategory.payment)],
        "c4": [_finding("e", ComplianceCategory.payment)],
    }
    result = bench.score(convs, found)
    contact, payment = result["per_category"]["contact"], result["per_category"]["payment"]
    assert (contact["tp"], contact["fp"], contact["fn"]) == (1, 0, 1)
    assert (payment["tp"], payment["fp"], payment["fn"]) == (1, 1, 1)
    assert payment["precision"] == 0.5 and payment["recall"] == 0.5 and contact["recall"] == 0.5
    assert result["per_evasion"]["split"] == {"recall": 1.0, "hit": 1, "total": 1}
    kinds = sorted((m["kind"], m["category"], m["conversation"]) for m in result["misses"])
    assert kinds == [("fn", "contact", "c4"), ("fn", "payment", "c3"), ("fp", "payment", "c2")]


@pytest.fixture(scope="module")
def evaluation() -> dict[str, object]:
    result: dict[str, object] = _bench("bench_compliance_eval").evaluate()
    return result


def test_every_labelled_conversation_is_scored(evaluation: dict[str, object]) -> None:
    per = evaluation["per_category"]
    assert isinstance(per, dict)
    rows = _rows()
    truth: dict[object, set[str]] = {}
    for r in rows:
        truth.setdefault(r["conversation"], set()).update(r["labels"])  # type: ignore[arg-type]
    for cat, c in per.items():
        assert c["tp"] + c["fn"] == sum(1 for labels in truth.values() if cat in labels), cat


@pytest.mark.parametrize("category", ["contact", "payment"])
def test_contact_and_payment_meet_the_bar(evaluation: dict[str, object], category: str) -> None:
    per = evaluation["per_category"]
    assert isinstance(per, dict)
    figures = per[category]
    misses = [m for m in evaluation["misses"] if m["category"] == category][:15]  # type: ignore[attr-defined]
    assert figures["precision"] is not None and figures["precision"] >= 0.95, (figures, misses)
    assert figures["recall"] >= 0.95, (figures, misses)
