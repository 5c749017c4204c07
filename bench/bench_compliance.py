"""Compliance detection throughput on one core, and the keyword automaton's build time and memory.

Run: .venv/bin/python bench/bench_compliance.py [--messages 100000] [--keywords 20000] [--batch 2000]
     [--other-batches 1000,5000] [--baseline-sample 2000] [--repeat 3] [--automata-only | --no-automata]
Prints JSON:
- pipeline: end-to-end messages/s of ComplianceEngine.detect (normalise + keyword rules + pattern
  detectors + the abuse classifier) over generated ~40-character messages (clean service chat with a
  share of violations and evasions) with --keywords generated Chinese keywords loaded as rules, plus
  per-stage CPU µs/message (views = normalise, keyword, patterns, classifier) timed separately on the same
  batches (CPU time: on a shared machine the wall clock also counts other processes' turns). The default
  batch is the one a JSONL archive import detects over (ingest.FILE_BATCH); --other-batches adds the
  end-to-end figure at other batch sizes in the same run (an HTTP ingest call carries 1 to 5,000);
- baseline: the naive way in the same run (`term in text` for every keyword + the same kind of
  regexes, per message) on --baseline-sample messages, extrapolated to messages/s;
- automata: ahocorasick-rs vs pyahocorasick (and our KeywordMatcher) at 20,000 and 200,000
  keywords, each in a fresh process: build seconds (wall and CPU), RSS growth (MiB), search CPU
  µs/message (ours: normalise + match + rule logic, batches of 1,000).
Single core: BLAS/OpenMP threads are pinned to 1 before NumPy loads.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from compliance_data import keywords, messages  # noqa: E402
from siyu.compliance.ingest import FILE_BATCH  # noqa: E402

NOW = datetime(2026, 11, 1, 10, tzinfo=UTC)
CATS = ("abuse", "private_deal", "diverted_order", "forbidden_promise", "competitor")
# The naive baseline's regexes: roughly what a hand-written checker would run on every message.
NAIVE_REGEXES = [
    re.compile(r"1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}"),
    re.compile(r"\d{16,19}"),
    re.compile(r"(?:微信|vx|wx|v信)[:：\s]*[a-zA-Z][\w-]{5,19}", re.I),
    re.compile(r"https?://\S+|t\.cn/\w+"),
]


def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def automaton_probe(library: str, n: int) -> dict[str, Any]:
    """Build one automaton of n keywords in this (fresh) process; measure build, memory and search."""
    words = keywords(n)
    texts = messages(20_000)
    if library == "siyu_keyword_matcher":
        # Load normalise's tables (OpenCC map, variants) first: they are shared, not the automaton's.
        from siyu.compliance.normalise import normalise_many

        normalise_many(["預熱"])
    before = rss_bytes()
    started, cpu_started = time.perf_counter(), time.process_time()
    if library == "ahocorasick_rs":
        import ahocorasick_rs

        ac = ahocorasick_rs.BytesAhoCorasick([w.encode() for w in words])
        build, build_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        grown = rss_bytes() - before
        started = time.process_time()
        hits = len(ac.find_matches_as_indexes("\x00".join(texts).encode(), overlapping=True))
    elif library == "pyahocorasick":
        import ahocorasick

        auto = ahocorasick.Automaton()
        for i, w in enumerate(words):
            auto.add_word(w, i)
        auto.make_automaton()
        build, build_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        grown = rss_bytes() - before
        started = time.process_time()
        hits = sum(1 for _ in auto.iter("\x00".join(texts)))
    else:  # our matcher: normalises every phrase, one automaton over all rules
        from siyu.compliance.contract import MessageIn
        from siyu.compliance.keywords import KeywordMatcher

        matcher = KeywordMatcher(_specs(words))
        build, build_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        grown = rss_bytes() - before
        batch = [MessageIn(str(i), "s", "text", t, NOW, from_staff=True) for i, t in enumerate(texts)]
        started = time.process_time()
        # Findings (one per rule and message), not raw matches; includes normalising the messages.
        hits = sum(len(matcher.detect(batch[i : i + 1000])) for i in range(0, len(batch), 1000))
    search = time.process_time() - started
    return {
        "library": library,
        "keywords": n,
        "build_s": round(build, 3),
        "build_cpu_s": round(build_cpu, 3),
        "rss_growth_mb": round(grown / 2**20, 1),
        "search_cpu_us_per_message": round(search / len(texts) * 1e6, 2),
        "matches_in_20000_messages": hits,
    }


def _specs(words: list[str]) -> list[Any]:
    from siyu.compliance.keywords import KeywordRuleSpec
    from siyu.models.compliance import ComplianceCategory, Severity

    per_rule = 100
    return [
        KeywordRuleSpec(
            id=i // per_rule + 1,
            category=ComplianceCategory(CATS[(i // per_rule) % len(CATS)]),
            name=f"rule {i // per_rule + 1}",
            terms=tuple(words[i : i + per_rule]),
            severity=Severity.medium,
        )
        for i in range(0, len(words), per_rule)
    ]


def automata(sizes: list[int]) -> list[dict[str, Any]]:
    """Each library at each size in its own process, so RSS growth is that automaton's alone."""
    out = []
    for n in sizes:
        for library in ("ahocorasick_rs", "pyahocorasick", "siyu_keyword_matcher"):
            proc = subprocess.run(
                [sys.executable, __file__, "--probe", library, str(n)],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                out.append({"library": library, "keywords": n, "error": proc.stderr.strip()[-300:]})
                continue
            out.append(json.loads(proc.stdout))
    return out


def pipeline(
    n_messages: int, n_keywords: int, batch: int, sample: int, repeat: int, others: list[int]
) -> dict[str, Any]:
    """End-to-end engine throughput, per-stage split and the naive baseline, in one process."""
    from siyu.compliance.contract import MessageIn
    from siyu.compliance.engine import _load_classifier, build_engine
    from siyu.compliance.keywords import KeywordRuleSpec
    from siyu.compliance.normalise import BatchViews
    from siyu.compliance.rules_service import shipped_data, validate_rule

    words = keywords(n_keywords)
    shipped = [validate_rule(b, "shipped") for b in shipped_data()["rules"]]
    rules = _specs(words) + [
        KeywordRuleSpec(
            id=10_000 + i,
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
    whitelist = [(w["phrase"], None) for w in shipped_data()["whitelist"]]
    classifier = _load_classifier()
    started = time.perf_counter()
    engine = build_engine(rules, whitelist, classifier=classifier)
    build_s = time.perf_counter() - started
    texts = messages(n_messages)
    msgs = [MessageIn(f"m{i}", "s", "text", t, NOW, from_staff=True) for i, t in enumerate(texts)]
    batches = [msgs[i : i + batch] for i in range(0, len(msgs), batch)]
    engine.detect(batches[0])  # warm-up: lazy tables (normalise, classifier) load once

    runs = []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        findings = sum(len(engine.detect(b)) for b in batches)
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
    # The same messages in other batch sizes, best CPU time of `repeat` runs each.
    by_batch: dict[str, dict[str, float]] = {}
    for size in others:
        chunks = [msgs[i : i + size] for i in range(0, len(msgs), size)]
        best = 1e9
        for _ in range(repeat):
            t = time.process_time()
            for chunk in chunks:
                engine.detect(chunk)
            best = min(best, time.process_time() - t)
        by_batch[str(size)] = {
            "cpu_us_per_message": round(best / n_messages * 1e6, 2),
            "messages_per_cpu_s": round(n_messages / best),
        }

    # Each stage alone on the same batches, best of `repeat` (CPU time: on a shared machine the wall
    # clock also counts other processes' turns). "views" builds every view the detectors share (keyword,
    # folded, digits: BatchViews, one UTF-32 pass); each detector then runs on ready views.
    def all_views(b: list[Any]) -> Any:
        views = BatchViews([m.text or "" for m in b])
        views.keyword_texts(), views.folded(), views.digits()
        return views

    views_by_batch = [all_views(b) for b in batches]
    stages: dict[str, float] = {}
    for _ in range(repeat):
        t = time.process_time()
        for b in batches:
            all_views(b)
        stages["views"] = min(stages.get("views", 1e9), time.process_time() - t)
        for detector in engine.detectors:
            name = type(detector).__name__
            t = time.process_time()
            for b, views in zip(batches, views_by_batch, strict=True):
                detector.detect_views(b, views)  # type: ignore[attr-defined]
            stages[name] = min(stages.get(name, 1e9), time.process_time() - t)
    per_stage = {k: round(v / n_messages * 1e6, 2) for k, v in stages.items()}
    names = [type(d).__name__ for d in engine.detectors]

    sub = texts[:sample]
    t = time.process_time()
    naive_hits = 0
    for text in sub:
        naive_hits += sum(1 for k in words if k in text)
        naive_hits += sum(1 for rx in NAIVE_REGEXES if rx.search(text))
    naive_s = time.process_time() - t
    return {
        "messages": n_messages,
        "keywords_loaded": sum(len(r.terms) for r in rules),
        "rules": len(rules),
        "batch": batch,
        "detectors": names,
        "classifier": classifier is not None,
        "engine_build_s": round(build_s, 3),
        "repeat": repeat,
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "all_runs_wall_cpu_s": [(round(w, 3), round(c, 3)) for w, c in runs],
        "messages_per_s": round(n_messages / wall),
        "messages_per_cpu_s": round(n_messages / cpu),
        "findings": findings,
        "end_to_end_by_batch": by_batch,
        "stage_us_per_message": per_stage,
        "baseline": {
            "method": "per message: `k in text` for every keyword + 4 regexes; timed on a sample, extrapolated",
            "sample": len(sub),
            "cpu_seconds": round(naive_s, 3),
            "messages_per_cpu_s": round(len(sub) / naive_s),
            "hits": naive_hits,
        },
        "speedup_vs_baseline_cpu": round((n_messages / cpu) / (len(sub) / naive_s), 1),
        "peak_rss_mb": round(_peak_rss() / 2**20, 1),
    }


def _peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    """Parse arguments, run the parts asked for, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--keywords", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=FILE_BATCH)
    parser.add_argument("--other-batches", default="1000,5000", help="comma-separated; empty for none")
    parser.add_argument("--baseline-sample", type=int, default=2000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="end-to-end and stage runs; the best is reported"
    )
    parser.add_argument("--automata-only", action="store_true")
    parser.add_argument("--no-automata", action="store_true")
    parser.add_argument("--probe", nargs=2, metavar=("LIBRARY", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(automaton_probe(args.probe[0], int(args.probe[1]))))
        return
    out: dict[str, Any] = {"python": sys.version.split()[0], "cpus_used": 1}
    if not args.automata_only:
        others = [int(b) for b in args.other_batches.split(",") if b.strip()]
        out["pipeline"] = pipeline(
            args.messages, args.keywords, args.batch, args.baseline_sample, args.repeat, others
        )

    if not args.no_automata:
        out["automata"] = automata([20_000, 200_000])
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
