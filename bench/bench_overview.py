"""Time the overview's service call (all figures, admin scope) on a built demo database.

Run: .venv/bin/python bench/bench_overview.py SQLITE_OR_PG_URL [--as-of 2026-11-01] [--repeat 5]
Prints JSON {range: {median_ms, max_ms}} for 1-, 6- and 12-month ranges ending at --as-of.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date, timedelta

from siyu.db.engine import make_engine, session_factory
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.reports.schemas import OverviewFilters
from siyu.reports.service import build_overview


def main() -> None:
    """Build the overview repeatedly for three ranges and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 1))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    session = session_factory(make_engine(args.url))()
    result: dict[str, object] = {"benchmark": "overview_service", "url": args.url.split("?")[0]}
    for label, days in (("1_month", 30), ("6_months", 183), ("12_months", 365)):
        filters = OverviewFilters(first=args.as_of - timedelta(days=days), last=args.as_of)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            build_overview(session, SYSTEM_ACTOR, filters)
            times.append((time.perf_counter() - started) * 1000)
        result[label] = {"median_ms": round(statistics.median(times)), "max_ms": round(max(times))}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
