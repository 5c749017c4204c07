"""Lifecycle stages, recall tracking and churn warnings on N customers, on SQLite or PostgreSQL.

Run: .venv/bin/python bench/bench_lifecycle_churn.py DATABASE_URL [N]   (N default 1,000,000; the
database must be empty: a fresh SQLite path, or `createdb -h 127.0.0.1 -p 5439 -U siyu bench_h2`).
Loads N customers (all at the default stage `new`) and customer_insights rows for 70% of them, then
times apply_lifecycle for a first run (nearly everyone moves), the same day again (nothing moves) and
the next day, and track_recalls + apply_churn for two days. Prints one line per step.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import text

from siyu.db.bulk import datetime_adapter, insert_rows
from siyu.db.engine import make_engine, session_factory
from siyu.db.migrate import upgrade
from siyu.insights.churn import apply_churn
from siyu.insights.contract import ChurnSettings, LifecycleRules
from siyu.insights.lifecycle import apply_lifecycle
from siyu.insights.recall import track_recalls
from siyu.models import Customer
from siyu.models.insights import CustomerInsight, InsightRun

AS_OF = date(2026, 10, 31)


def main(url: str, n: int) -> None:
    """Load, then time each step with a commit, as the refresh would."""
    engine = make_engine(url)
    with engine.begin() as conn:
        upgrade(url, connection=conn)
    rng = np.random.default_rng(1)
    with session_factory(engine)() as s:
        sqlite = s.get_bind().dialect.name == "sqlite"
        adapt = datetime_adapter(s)
        base = datetime(2026, 10, 31, 4, tzinfo=UTC)
        started = time.perf_counter()
        seen = rng.integers(0, 900, n)
        customers = [(i + 1, "c", adapt(base - timedelta(days=int(seen[i]))), adapt(base)) for i in range(n)]
        fixed = {"source": "order", "lifecycle_stage": "new", "points_balance": 0, "marketing_opt_in": False,
                 "chat_archive_consent": False}  # fmt: skip
        insert_rows(
            s, Customer.__table__, ["id", "name", "first_seen_at", "created_at"], customers, constants=fixed
        )
        run = InsightRun(as_of=AS_OF, status="done", started_at=base)
        s.add(run)
        s.flush()
        buyers = np.flatnonzero(rng.random(n) < 0.7)
        days, last = rng.geometric(0.45, buyers.size), rng.integers(0, 700, buyers.size)
        gap, alive = rng.uniform(20, 200, buyers.size), rng.random(buyers.size)
        rows = []
        for k, cid in enumerate(buyers):
            on = AS_OF - timedelta(days=int(last[k]))
            day = on.isoformat() if sqlite else on
            rows.append(
                (
                    int(cid) + 1,
                    int(days[k]),
                    day,
                    day,
                    float(alive[k]),
                    float(gap[k]) if days[k] >= 2 else None,
                )
            )
        columns = [
            "customer_id",
            "purchase_days",
            "first_order_on",
            "last_order_on",
            "p_alive",
            "expected_gap_days",
        ]
        fixed = {"run_id": run.id, "computed_on": AS_OF.isoformat(), "frequency": 0, "monetary_fen": 0,
                 "churn_risk": False}  # fmt: skip
        insert_rows(s, CustomerInsight.__table__, columns, rows, constants=fixed)
        s.commit()
        print(
            f"loaded {n} customers, {len(rows)} insight rows in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        if not sqlite:
            s.execute(text("ANALYZE"))
            s.commit()
        rules, churn = LifecycleRules(), ChurnSettings()
        for label, when in (
            ("first run", AS_OF),
            ("same day again", AS_OF),
            ("next day", AS_OF + timedelta(days=1)),
        ):
            started = time.perf_counter()
            out = apply_lifecycle(s, run.id, when, rules)
            s.commit()
            print(f"apply_lifecycle {label}: {time.perf_counter() - started:.2f} s {out}", flush=True)
        for when in (AS_OF, AS_OF + timedelta(days=1)):
            started = time.perf_counter()
            recalls = track_recalls(s, when, churn)
            middle = time.perf_counter()
            out = apply_churn(s, run.id, when, churn)
            s.commit()
            print(
                f"{when}: track_recalls {middle - started:.2f} s {recalls}; "
                f"apply_churn {time.perf_counter() - middle:.2f} s {out}",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
