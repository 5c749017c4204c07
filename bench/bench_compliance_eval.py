"""Precision / recall of the composed compliance engine on our labelled set, and the abuse figures on COLD.

    .venv/bin/python bench/bench_compliance_eval.py [--set PATH] [--no-classifier]
    .venv/bin/python bench/bench_compliance_eval.py --cold [../shared/datasets/cold]
    .venv/bin/python bench/bench_compliance_eval.py --speed

Set mode runs siyu.compliance.engine.build_engine (the shipped rules_data.json rules and whitelist, the
pattern detectors, the abuse classifier at its threshold) over tests/compliance/data/eval_messages.jsonl,
one batch per conversation (a conversation is the scoring unit: a finding counts for every message
it names, split phones included), and prints JSON: per category precision / recall with counts, recall
per evasion form, and every miss (false negatives and false positives with their texts).

COLD mode scores the abuse lexicon alone (the shipped abuse rules through KeywordMatcher), the
classifier alone and both combined (lexicon OR classifier) on the COLD test split, every text judged as
if a staff member had sent it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from siyu.compliance.classifier import AbuseClassifier  # noqa: E402
from siyu.compliance.contract import Finding, MessageIn  # noqa: E402
from siyu.compliance.engine import ComplianceEngine, build_engine  # noqa: E402
from siyu.compliance.keywords import KeywordMatcher, KeywordRuleSpec  # noqa: E402
from siyu.compliance.rules_service import shipped_data  # noqa: E402
from siyu.models.compliance import ComplianceCategory, Severity  # noqa: E402

SET_PATH = ROOT / "tests" / "compliance" / "data" / "eval_messages.jsonl"
COLD_DIR = ROOT.parent / "shared" / "datasets" / "cold"
T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
SCORED = tuple(c.value for c in ComplianceCategory if c is not ComplianceCategory.behaviour)


def load_set(path: Path = SET_PATH) -> list[dict[str, Any]]:
    """The labelled messages."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def shipped_rules(categories: Iterable[str] | None = None) -> list[KeywordRuleSpec]:
    """The rules of rules_data.json as matcher specs (ids by position), optionally of some categories."""
    wanted = set(categories) if categories is not None else None
    specs = []
    for i, body in enumerate(shipped_data()["rules"], start=1):
        if wanted is not None and body["category"] not in wanted:
            continue
        specs.append(
            KeywordRuleSpec(
                id=i,
                category=ComplianceCategory(body["category"]),
                name=body["name"],
                terms=tuple(body["terms"]),
                all_terms=tuple(body.get("all_terms", ())),
                not_terms=tuple(body.get("not_terms", ())),
                whitelist=tuple(body.get("whitelist", ())),
                severity=Severity(body.get("severity", "medium")),
                collapse_repeats=bool(body.get("collapse_repeats", False)),
            )
        )
    return specs


def shipped_whitelist() -> list[tuple[str, ComplianceCategory | None]]:
    """The shipped global whitelist phrases."""
    return [
        (w["phrase"], ComplianceCategory(w["category"]) if w["category"] else None)
        for w in shipped_data()["whitelist"]
    ]


def shipped_engine(with_classifier: bool = True) -> ComplianceEngine:
    """The engine a fresh install runs: shipped rules + whitelist, pattern detectors, the classifier."""
    return build_engine(
        shipped_rules(),
        shipped_whitelist(),
        classifier=AbuseClassifier.load() if with_classifier else None,
    )


def to_message(row: dict[str, Any]) -> MessageIn:
    """A labelled row as the detectors see it."""
    from_staff = bool(row["from_staff"])
    return MessageIn(
        msgid=row["id"],
        sender=row["sender"],
        msg_type=row["msg_type"],
        text=row["text"] or None,
        sent_at=T0 + timedelta(seconds=int(row["sent_at"])),
        staff_id=int(row["sender"][5:]) if from_staff else None,
        customer_id=None if from_staff else int(row["conversation"][1:]),
        from_staff=from_staff,
        payload=row.get("payload"),
    )


def conversations(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by conversation, in file order."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        out[row["conversation"]].append(row)
    return dict(out)


def predict(engine: ComplianceEngine, convs: dict[str, list[dict[str, Any]]]) -> dict[str, list[Finding]]:
    """Findings per conversation (one engine batch each)."""
    return {cid: engine.detect([to_message(r) for r in msgs]) for cid, msgs in convs.items()}


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def score(convs: dict[str, list[dict[str, Any]]], findings: dict[str, list[Finding]]) -> dict[str, Any]:
    """Per-category precision / recall, recall per evasion form, and the misses."""
    counts = {c: {"tp": 0, "fp": 0, "fn": 0} for c in SCORED}
    forms: dict[str, dict[str, int]] = defaultdict(lambda: {"hit": 0, "total": 0})
    misses: list[dict[str, Any]] = []
    for cid, msgs in convs.items():
        truth = {label for r in msgs for label in r["labels"]}
        found = findings.get(cid, [])
        got = {f.category.value for f in found}
        form = next((r["evasion"] for r in msgs if r["evasion"]), None)
        texts = [r["text"] or f"<{r['msg_type']}>" for r in msgs]
        for cat in SCORED:
            if cat in truth and cat in got:
                counts[cat]["tp"] += 1
            elif cat in got:
                counts[cat]["fp"] += 1
                by = sorted(
                    {f"{f.detector}:{f.rule_key}:{f.matched}" for f in found if f.category.value == cat}
                )
                misses.append({"kind": "fp", "category": cat, "conversation": cid, "texts": texts, "by": by})
            elif cat in truth:
                counts[cat]["fn"] += 1
                misses.append(
                    {"kind": "fn", "category": cat, "conversation": cid, "texts": texts, "evasion": form}
                )
        if form and truth:
            forms[form]["total"] += len(truth)
            forms[form]["hit"] += len(truth & got)
    per_category = {
        cat: {
            "precision": _ratio(c["tp"], c["tp"] + c["fp"]),
            "recall": _ratio(c["tp"], c["tp"] + c["fn"]),
            **c,
        }
        for cat, c in counts.items()
    }
    per_form = {f: {"recall": _ratio(v["hit"], v["total"]), **v} for f, v in sorted(forms.items())}
    return {"per_category": per_category, "per_evasion": per_form, "misses": misses}


def evaluate(path: Path = SET_PATH, with_classifier: bool = True) -> dict[str, Any]:
    """Run the shipped engine over the set and score it."""
    rows = load_set(path)
    convs = conversations(rows)
    engine = shipped_engine(with_classifier)
    started = time.perf_counter()
    found = predict(engine, convs)
    elapsed = time.perf_counter() - started
    result = score(convs, found)
    result["messages"] = len(rows)
    result["conversations"] = len(convs)
    result["seconds"] = round(elapsed, 3)
    return result


def read_cold(cold: Path, split: str) -> tuple[list[str], list[int]]:
    """Texts and labels of a COLD split."""
    with (cold / f"{split}.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["TEXT"] for r in rows], [int(r["label"]) for r in rows]


def prf(pred: Sequence[bool], truth: Sequence[int]) -> dict[str, float | int]:
    """Precision, recall, F1 and counts."""
    tp = sum(1 for p, t in zip(pred, truth, strict=True) if p and t)
    fp = sum(1 for p, t in zip(pred, truth, strict=True) if p and not t)
    fn = sum(1 for p, t in zip(pred, truth, strict=True) if not p and t)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def cold_figures(cold: Path = COLD_DIR, split: str = "test") -> dict[str, Any]:
    """Lexicon only, classifier only and combined on a COLD split."""
    texts, labels = read_cold(cold, split)
    messages = [
        MessageIn(msgid=str(i), sender="staff", msg_type="text", text=t, sent_at=T0, from_staff=True)
        for i, t in enumerate(texts)
    ]
    lexicon = KeywordMatcher(shipped_rules(["abuse"]), shipped_whitelist())
    flagged = {f.msgid for f in lexicon.detect(messages) if f.category is ComplianceCategory.abuse}
    lex = [str(i) in flagged for i in range(len(texts))]
    model = AbuseClassifier.load()
    probs = model.probabilities(texts)
    clf = [bool(p >= model.threshold) for p in probs]
    both = [a or b for a, b in zip(lex, clf, strict=True)]
    return {
        "split": split,
        "n": len(texts),
        "positives": sum(labels),
        "threshold": model.threshold,
        "lexicon_terms": sum(len(r.terms) for r in shipped_rules(["abuse"])),
        "lexicon": prf(lex, labels),
        "classifier": prf(clf, labels),
        "combined": prf(both, labels),
    }


def classifier_speed(n: int = 100_000, batch: int = 10_000, length: int = 40) -> dict[str, Any]:
    """Seconds per message of the classifier on already-normalised n-character texts (best of 3)."""
    import random

    rng = random.Random(7)
    pool = "".join(sorted({c for row in load_set() for c in str(row["text"]) if "\u4e00" <= c <= "\u9fff"}))
    texts = ["".join(rng.choice(pool) for _ in range(length)) for _ in range(n)]
    model = AbuseClassifier.load()
    best = cpu = float("inf")
    for _ in range(3):
        started, started_cpu = time.perf_counter(), time.process_time()
        for i in range(0, n, batch):
            model.probabilities_normalised(texts[i : i + batch])
        best = min(best, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)  # CPU time: fairer on a shared machine
    return {
        "cpu_us_per_message": round(cpu / n * 1e6, 2),
        "load_average": round(os.getloadavg()[0], 2),
        "messages": n,
        "batch": batch,
        "chars": length,
        "seconds": round(best, 3),
        "us_per_message": round(best / n * 1e6, 2),
        "messages_per_second": round(n / best),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", type=Path, default=SET_PATH)
    ap.add_argument("--no-classifier", action="store_true")
    ap.add_argument("--cold", nargs="?", const=COLD_DIR, type=Path, default=None)
    ap.add_argument("--max-misses", type=int, default=200)
    ap.add_argument("--speed", action="store_true", help="time the classifier on 100k 40-char messages")
    args = ap.parse_args(argv)
    if args.speed:
        print(json.dumps(classifier_speed(), indent=2))
        return 0
    if args.cold is not None:
        print(json.dumps(cold_figures(args.cold), ensure_ascii=False, indent=2))
        return 0
    result = evaluate(args.set, with_classifier=not args.no_classifier)
    result["misses"] = result["misses"][: args.max_misses]
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
