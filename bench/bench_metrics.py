"""Compute the whole metric catalog for all staff, all units and the company for one month.

Run: .venv/bin/python bench/bench_metrics.py SQLITE_OR_PG_URL [--month 2026-10-01] [--repeat 1]
Prints JSON: seconds per metric family (each one grouped query over the month), roll-up seconds per
subject kind, total seconds, subject and row counts, and peak RSS. The family queries run once and
their grouped rows are rolled up to the three subject kinds, as compute_metrics does per kind.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import date

from sqlalchemy import func, select

from siyu.db.engine import make_engine, session_factory
from siyu.models import ChatMessage, Customer, Order, StaffTask
from siyu.performance.catalog import METRICS
from siyu.performance.compute import FAMILIES, families_of, table_from_facts
from siyu.performance.contract import Period, SubjectKind
from siyu.performance.repository import load_org, make_ctx
from siyu.performance.settings import DEFAULT_SETTINGS
from siyu.timeutil import brand_zone


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def main() -> None:
    """Time every family query and the roll-ups; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--month", type=date.fromisoformat, default=date(2026, 10, 1))
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    engine = make_engine(args.url)
    session = session_factory(engine)()
    period = Period.month(args.month)
    codes = list(METRICS)
    sizes = {
        name: session.scalar(select(func.count()).select_from(model))
        for name, model in (
            ("customers", Customer),
            ("orders", Order),
            ("messages", ChatMessage),
            ("tasks", StaffTask),
        )
    }
    runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        cpu_started = time.process_time()
        ctx = make_ctx(session, period, brand_zone(), DEFAULT_SETTINGS)
        family_seconds = {}
        facts = {}
        for name in families_of(codes):
            t = time.perf_counter()
            facts[name] = FAMILIES[name](ctx)
            family_seconds[name] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        org = load_org(session)
        rollup_seconds = {}
        subjects = {}
        for kind in SubjectKind:
            k = time.perf_counter()
            table = table_from_facts(facts, codes, period, kind, org)
            rollup_seconds[kind.value] = round(time.perf_counter() - k, 3)
            subjects[kind.value] = len({s for values in table.values.values() for s in values})
        rollup_seconds["load_org"] = round(time.perf_counter() - t - sum(rollup_seconds.values()), 3)
        runs.append(
            {
                "total_seconds": round(time.perf_counter() - started, 2),
                # This process's CPU (SQLite runs in-process; PostgreSQL's work happens in the server).
                "cpu_seconds": round(time.process_time() - cpu_started, 2),
                "family_seconds": family_seconds,
                "rollup_seconds": rollup_seconds,
                "subjects": subjects,
            }
        )
        session.rollback()
    result = {
        "benchmark": "metric_catalog_month",
        "url": args.url.split("?")[0],
        "dialect": engine.dialect.name,
        "month": period.label,
        "metrics": len(codes),
        "rows": sizes,
        "runs": runs,
        "best_total_seconds": min(r["total_seconds"] for r in runs),  # type: ignore[type-var]
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
