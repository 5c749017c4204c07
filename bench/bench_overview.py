"""Time the overview's service call (all figures) on a built demo database, from rollups and from raw rows.

Run: .venv/bin/python bench/bench_overview.py SQLITE_OR_PG_URL [--as-of 2026-11-01] [--repeat 20] [--raw]
Prints JSON {scope: {range: {median_ms, p95_ms, max_ms}}} for 1-, 6- and 12-month ranges ending at
--as-of, for the admin (whole brand) and a region manager (subtree of region-east). The rollups are
brought up to date first (incrementally; timed separately as refresh_ms). --raw skips them.
cpu_*: this process's CPU time — on SQLite (in-process) close to the wall time of a quiet machine,
and steadier than wall time when other jobs share the cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date, timedelta

from sqlalchemy import select

from siyu.db.engine import make_engine, session_factory
from siyu.models import OrgUnit
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.reports.rollups import refresh_rollups
from siyu.reports.schemas import OverviewFilters
from siyu.reports.service import build_overview

RANGES = (("1_month", 30), ("6_months", 183), ("12_months", 365))


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    """Build the overview repeatedly for three ranges and two scopes and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 1))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--raw", action="store_true", help="read the raw rows, not the rollups")
    args = parser.parse_args()
    session = session_factory(make_engine(args.url))()
    result: dict[str, object] = {
        "benchmark": "overview_service",
        "url": args.url.split("?")[0],
        "source": "raw" if args.raw else "rollups",
    }
    if not args.raw:
        started = time.perf_counter()
        stats = refresh_rollups(session)
        session.commit()
        result["refresh_ms"] = round((time.perf_counter() - started) * 1000)
        result["refresh_mode"] = stats.mode
    scopes = {"admin": SYSTEM_ACTOR}
    region = session.scalar(select(OrgUnit).where(OrgUnit.code == "region-east"))
    if region is not None:
        scopes["region_manager"] = Actor(
            None, "bench", PermissionRole.manager, DataScope.subtree, None, region.id, region.path
        )
    for scope, actor in scopes.items():
        figures: dict[str, object] = {}
        for label, days in RANGES:
            filters = OverviewFilters(first=args.as_of - timedelta(days=days), last=args.as_of)
            times, cpu = [], []
            for _ in range(args.repeat):
                started, cpu_started = time.perf_counter(), time.process_time()
                build_overview(session, actor, filters, use_rollups=not args.raw)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - cpu_started) * 1000)
            figures[label] = {
                "median_ms": round(statistics.median(times)),
                "p95_ms": round(_p95(times)),
                "max_ms": round(max(times)),
                "cpu_median_ms": round(statistics.median(cpu)),
                "cpu_p95_ms": round(_p95(cpu)),
            }
        result[scope] = figures
    print(json.dumps(result))


if __name__ == "__main__":
    main()
