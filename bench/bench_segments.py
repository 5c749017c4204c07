"""Segment count benchmark: a 5-condition rule on N customers, compiled to one query, against a Python baseline.

Run (PostgreSQL; the database must exist and be empty, or already built by an earlier run):
    createdb -h 127.0.0.1 -p 5439 -U siyu bench_segments
    .venv/bin/python bench/bench_segments.py postgresql+psycopg://siyu@127.0.0.1:5439/bench_segments \
        --customers 1000000 [--runs 5]
The customers and ~10 orders each come from bench/insights_dataset.py; this script then adds tags, channel
memberships, consent and customer_insights set-based in SQL. The baseline loads each condition's ids into
Python and intersects the sets (what a naive "filter in the app" does). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from insights_dataset import build as build_history
from siyu.db.engine import make_engine, session_factory
from siyu.models import Customer, CustomerInsight
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.segments import repository as repo
from siyu.segments.compiler import Clock, compile_count, node_clause
from siyu.segments.schemas import parse_rule

AS_OF = date(2026, 11, 1)
NOW = datetime(2026, 11, 1, 15, 59, tzinfo=UTC)  # 23:59 brand time on AS_OF
RFM_CODES = ["important_value", "important_develop", "important_keep", "important_retain", "general_value"]


def _rule(tags: list[int]) -> dict[str, Any]:
    return {
        "version": 1,
        "rule": {
            "all": [
                {"field": "tag", "op": "any", "value": tags[:2]},
                {"field": "channel", "op": "member", "value": ["wecom"]},
                {"field": "last_order_days", "op": "le", "value": 180},
                {"field": "rfm_segment", "op": "in", "value": RFM_CODES[:3]},
                {"field": "consent", "op": "is", "value": True},
            ]
        },
    }


def _heavy_rule(tags: list[int]) -> dict[str, Any]:
    # The same but with an order aggregate (orders in the last 365 days ≥ 2) instead of the recency test.
    rule = _rule(tags)
    rule["rule"]["all"][2] = {"field": "orders_in_window", "op": "ge", "value": 2, "days": 365}
    return rule


ENRICH = [
    # Consent for ~60%, a member tier for some.
    "UPDATE customers SET marketing_opt_in = (random() < 0.6), "
    "member_tier = (ARRAY[NULL, 'silver', 'gold'])[1 + floor(random() * 3)::int]",
    "INSERT INTO tag_groups (name, exclusive, sort_order, created_at) VALUES ('bench', false, 0, now())",
    "INSERT INTO tags (group_id, name, created_at) SELECT g.id, 'tag' || i, now() "
    "FROM tag_groups g, generate_series(1, 20) i WHERE g.name = 'bench'",
    # Two draws per customer, skewed towards the first tags (random() in a target list is drawn per row).
    "INSERT INTO customer_tags (customer_id, tag_id, applied_by, applied_at) "
    "SELECT DISTINCT x.id, t.id, 'system', now() FROM "
    "(SELECT c.id, 1 + floor(power(random(), 2) * 20)::int AS n FROM customers c, generate_series(1, 2) k "
    "WHERE random() < 0.8) x JOIN tags t ON t.name = 'tag' || x.n",
    # WeCom membership for ~70%, a quarter of them since left; some in a group too.
    "INSERT INTO channel_memberships (customer_id, channel, staff_id, joined_at, left_at) "
    "SELECT id, 'wecom', owner_staff_id, first_seen_at, "
    "CASE WHEN random() < 0.25 THEN first_seen_at + interval '30 days' END FROM customers WHERE random() < 0.7",
    "INSERT INTO channel_memberships (customer_id, channel, joined_at) "
    "SELECT id, 'group', first_seen_at + interval '1 day' FROM customers WHERE random() < 0.3",
    "INSERT INTO insight_runs (as_of, status, started_at) VALUES ('2026-11-01', 'done', now())",
    # Scores for every buyer (what the insights refresh writes; the real refresh is H3's bench).
    "INSERT INTO customer_insights (customer_id, run_id, computed_on, purchase_days, frequency, monetary_fen, "
    "rfm_segment, p_alive, expected_purchases, clv_fen, churn_risk) "
    "SELECT b.customer_id, (SELECT max(id) FROM insight_runs), '2026-11-01', 1, 1, 0, "
    "(ARRAY['important_value','important_develop','important_keep','important_retain','general_value',"
    "'general_develop','general_keep','general_retain'])[1 + floor(random() * 8)::int], "
    "random(), random() * 3, (random() * 100000)::bigint, false "
    "FROM (SELECT DISTINCT customer_id FROM orders) b",
    "ANALYZE",
]


def prepare(engine: Engine, url: str, customers: int) -> dict[str, Any]:
    """Build the history (if the database is empty) and the segment inputs; returns what was done."""
    with session_factory(engine)() as s:
        present = s.scalar(select(func.count()).select_from(Customer)) if _has_schema(engine) else 0
        scored = s.scalar(select(func.count()).select_from(CustomerInsight)) if present else 0
    done: dict[str, Any] = {}
    if not present:
        done["history"] = build_history(url, customers, 1, AS_OF)
    if not scored:
        started = time.perf_counter()
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in ENRICH:
                conn.exec_driver_sql(statement)
        done["enrich_seconds"] = round(time.perf_counter() - started, 1)
    return done


def _has_schema(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT to_regclass('customers') IS NOT NULL")).scalar())


def _timed(fn: Any, runs: int, warm: bool = True) -> tuple[Any, list[float]]:
    if warm:
        fn()  # warm the cache: every figure is a warm run
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(round(time.perf_counter() - started, 3))
    return result, times


def baseline(engine: Engine, document: dict[str, Any]) -> int:
    """Each condition's ids loaded into Python (one query each, no joins) and intersected there."""
    rule = parse_rule(document)
    clock = Clock(NOW)
    sets: list[set[int]] = []
    with session_factory(engine)() as s:
        live = select(Customer.id).where(Customer.merged_into_id.is_(None))
        sets.append(set(s.scalars(live)))
        for child in rule.root.children:  # type: ignore[union-attr]
            sets.append(set(s.scalars(select(Customer.id).where(node_clause(child, clock)))))
    return len(set.intersection(*sets))


def backend_cpu(engine: Engine, rule: Any) -> float | None:
    """CPU seconds the PostgreSQL backend spends on one count run serially (no parallel workers, no JIT).

    Read from /proc when the server runs on this machine: a figure a busy machine does not inflate.
    """
    with session_factory(engine)() as s:
        pid = s.scalar(text("SELECT pg_backend_pid()"))
        stat = Path(f"/proc/{pid}/stat")
        if not stat.exists():
            return None
        s.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))

        def ticks() -> int:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime

        import os

        before = ticks()
        repo.count_members(s, rule, SYSTEM_ACTOR, NOW)
        return round((ticks() - before) / os.sysconf("SC_CLK_TCK"), 2)


def measure(engine: Engine, document: dict[str, Any], runs: int) -> dict[str, Any]:
    """Compiled count (median of warm runs), its plan's top line, and the baseline's time and count."""
    rule = parse_rule(document)

    def count() -> int:
        with session_factory(engine)() as s:
            return repo.count_members(s, rule, SYSTEM_ACTOR, NOW)

    n, times = _timed(count, runs)
    base_n, base_times = _timed(lambda: baseline(engine, document), 1, warm=False)
    cpu = backend_cpu(engine, rule)
    assert n == base_n, f"compiled count {n} != baseline {base_n}"
    with engine.connect() as conn:
        sql = compile_count(rule, SYSTEM_ACTOR, NOW).compile(conn, compile_kwargs={"literal_binds": True})
        plan = [r[0] for r in conn.exec_driver_sql(f"EXPLAIN (ANALYZE, TIMING OFF) {sql}")]
    return {
        "count": n,
        "seconds": statistics.median(times),
        "runs": times,
        "baseline_seconds": statistics.median(base_times),
        "speedup": round(statistics.median(base_times) / max(statistics.median(times), 1e-6), 1),
        "plan_top": plan[:3],
        "serial_backend_cpu_seconds": cpu,
    }


def main() -> None:
    """Parse arguments, prepare, measure, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine = make_engine(args.url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("bench_segments runs on PostgreSQL (the bar is a PostgreSQL bar)")
    prepared = prepare(engine, args.url, args.customers)
    with session_factory(engine)() as s:
        tags = list(s.scalars(text("SELECT id FROM tags ORDER BY id")))
        sizes = {
            "customers": s.scalar(select(func.count()).select_from(Customer)),
            "orders": s.scalar(text("SELECT count(*) FROM orders")),
            "customer_tags": s.scalar(text("SELECT count(*) FROM customer_tags")),
            "channel_memberships": s.scalar(text("SELECT count(*) FROM channel_memberships")),
            "customer_insights": s.scalar(text("SELECT count(*) FROM customer_insights")),
        }
    result = {
        "benchmark": "segments.count",
        "database": engine.dialect.name,
        "rows": sizes,
        "now": NOW.isoformat(),
        "prepared": prepared,
        "five_conditions": {"rule": _rule(tags), **measure(engine, _rule(tags), args.runs)},
        "five_conditions_with_order_aggregate": {
            "rule": _heavy_rule(tags),
            **measure(engine, _heavy_rule(tags), args.runs),
        },
        "bar_seconds": 1.0,
    }
    result["within_bar"] = result["five_conditions"]["seconds"] <= 1.0
    engine.dispose()
    print(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
