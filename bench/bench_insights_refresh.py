"""Time the full insights refresh (summary, BG/NBD + Pareto/NBD + Gamma-Gamma, scoring, RFM, writes, lifecycle, churn).

Run: .venv/bin/python bench/bench_insights_refresh.py URL [--as-of 2026-11-01] [--compare-writes]
on a database filled by bench/insights_dataset.py. The refresh runs once in its own transaction and
commits, like the worker's nightly job. Prints JSON: total and per-step seconds, commit seconds, rows,
fitted parameters, peak RSS, and two baselines measured in the same run on the same database:
- scan_floor: reading the four order columns the summary needs (customer_id, paid_at, amount_fen,
  refund_fen) with a plain SELECT into Python, no grouping: what any refresh that reads the orders pays;
- naive_write_10k: 10,000 customer_insights rows written through the ORM (session.add_all + flush),
  rolled back, and the same rows through siyu.insights.store (COPY / executemany), for the write path.
--compare-writes also times the whole customer_insights write with executemany instead of COPY on
PostgreSQL (rolled back).

--compute-only N (no URL needed, pass "-"): the in-memory part of a refresh at N customers — histories
simulated as in bench/insights_dataset.py in 1M-customer chunks and reduced to the purchase summary
with NumPy (not timed), then model fits, scoring, RFM, segment sizes and the conversion of every
customer_insights row to driver values (not written) are timed; for sizes the database cannot hold here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from siyu.db.bulk import copy_rows, insert_rows
from siyu.db.engine import make_engine, session_factory
from siyu.insights import store
from siyu.insights.contract import InsightSettings
from siyu.insights.refresh import refresh_insights
from siyu.insights.rfm import score_rfm
from siyu.insights.scoring import Steps, fit_and_score
from siyu.insights.summary import EPOCH_ORDINAL, PurchaseSummary
from siyu.models import Customer, Order
from siyu.models.insights import CustomerInsight, InsightRun

sys.path.insert(0, str(Path(__file__).parent))  # the dataset generator lives beside this script


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def scan_floor(session: Session) -> dict[str, float | int]:
    """Seconds to fetch the order columns the refresh reads, through the raw DBAPI cursor."""
    started = time.perf_counter()
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    cursor.execute("SELECT customer_id, paid_at, amount_fen, refund_fen FROM orders")
    rows = 0
    while True:
        part = cursor.fetchmany(200_000)
        if not part:
            break
        rows += len(part)
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 2)}


def _sample_columns(session: Session, limit: int) -> store.InsightColumns:
    rows = session.execute(
        select(CustomerInsight.customer_id, CustomerInsight.purchase_days)
        .order_by(CustomerInsight.customer_id)
        .limit(limit)
    ).all()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    n = ids.size
    ones = np.ones(n, dtype=np.int64)
    nan = np.full(n, 0.5)
    day = np.full(n, date(2026, 10, 1).toordinal(), dtype=np.int64)
    return store.InsightColumns(
        ids, ones, day, day, ones, ones, ones * 1000, ones, ones, ones,
        np.full(n, "important_value", dtype=object), nan, nan, nan * 1000, nan * 1000, nan * 10, ones,
        np.zeros(n, dtype=bool),
    )  # fmt: skip


def naive_write(session: Session, run_id: int, limit: int = 10_000) -> dict[str, float | int]:
    """ORM add_all + flush of limit insight rows versus the store's bulk path, both rolled back."""
    cols = _sample_columns(session, limit)
    session.rollback()
    n = len(cols)
    day = date(2026, 10, 1)
    session.execute(delete(CustomerInsight).where(CustomerInsight.customer_id <= int(cols.customer_id.max())))
    started = time.perf_counter()
    session.add_all(
        CustomerInsight(
            customer_id=int(cid), run_id=run_id, computed_on=day, purchase_days=1, first_order_on=day,
            last_order_on=day, recency_days=1, frequency=1, monetary_fen=1000, r_score=1, f_score=1, m_score=1,
            rfm_segment="important_value", p_alive=0.5, expected_purchases=0.5, expected_value_fen=500,
            clv_fen=500, expected_gap_days=5.0, overdue_days=1, churn_risk=False,
        )
        for cid in cols.customer_id.tolist()
    )  # fmt: skip
    session.flush()
    orm = time.perf_counter() - started
    session.rollback()
    session.execute(delete(CustomerInsight).where(CustomerInsight.customer_id <= int(cols.customer_id.max())))
    started = time.perf_counter()
    copy_rows(
        session,
        store.INSIGHTS,
        store.INSIGHT_COLUMN_NAMES,
        store._chunk_rows(cols, 0, n, run_id, day.isoformat()),
    )
    bulk = time.perf_counter() - started
    session.rollback()
    return {"rows": n, "orm_seconds": round(orm, 3), "store_seconds": round(bulk, 3)}


def compare_writes(session: Session, run_id: int) -> dict[str, float]:
    """The full customer_insights write by COPY and by executemany (PostgreSQL), rolled back."""
    rows = session.execute(
        select(*[CustomerInsight.__table__.c[n] for n in store.INSIGHT_COLUMN_NAMES])
    ).all()
    data = [tuple(r) for r in rows]
    out: dict[str, float] = {"rows": float(len(data))}
    for name, fn in (("copy", copy_rows), ("executemany", insert_rows)):
        session.execute(delete(CustomerInsight))
        started = time.perf_counter()
        for a in range(0, len(data), store.CHUNK):
            fn(session, store.INSIGHTS, store.INSIGHT_COLUMN_NAMES, data[a : a + store.CHUNK])
        out[f"{name}_seconds"] = round(time.perf_counter() - started, 2)
        session.rollback()
    return out


def summary_from_history(hist: Any, ids: np.ndarray, as_of: date, window_days: int) -> PurchaseSummary:
    """The purchase summary of simulated histories, computed with NumPy (same 口径 as insights/summary.py)."""
    counted = hist.refund < hist.amount
    cust = hist.order_cust[counted]
    day = (hist.paid_at[counted] + 8 * 3600) // 86_400 + EPOCH_ORDINAL
    net = (hist.amount - hist.refund)[counted]
    base = int(day.min()) if day.size else 0
    keys, inverse = np.unique(cust * (1 << 20) + (day - base), return_inverse=True)
    day_spend = np.bincount(inverse, weights=net)
    day_orders = np.bincount(inverse)
    kc, kd = keys >> 20, (keys & ((1 << 20) - 1)) + base
    buyers, starts, n_days = np.unique(kc, return_index=True, return_counts=True)
    ends = starts + n_days - 1
    total = np.add.reduceat(day_spend, starts)
    repeat = np.where(n_days > 1, (total - day_spend[starts]) / np.maximum(n_days - 1, 1), 0.0)
    inside = kd >= as_of.toordinal() - window_days + 1
    w_orders = np.add.reduceat(np.where(inside, day_orders, 0), starts)
    w_spend = np.add.reduceat(np.where(inside, day_spend, 0), starts)
    return PurchaseSummary(
        as_of=as_of,
        customer_id=ids[buyers],
        owner_staff_id=hist.owner[buyers].astype(np.int64),
        home_store_id=hist.store[buyers].astype(np.int64),
        first_day=kd[starts].astype(np.int32),
        last_day=kd[ends].astype(np.int32),
        purchase_days=n_days.astype(np.int32),
        repeat_value_fen=repeat,
        window_orders=w_orders.astype(np.int32),
        window_spend_fen=np.rint(w_spend).astype(np.int64),
    )


def compute_only(customers: int, as_of: date) -> dict[str, object]:
    """Simulate, summarise (untimed), then time the in-memory refresh steps at this size."""
    from insights_dataset import simulate

    settings = InsightSettings()
    end = (
        int(datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC).timestamp())
        - 8 * 3600
    )
    parts: list[PurchaseSummary] = []
    orders = 0
    t = time.perf_counter()
    rng = np.random.default_rng(1)
    for a in range(0, customers, 1_000_000):
        n = min(1_000_000, customers - a)
        hist = simulate(rng, n, end)
        orders += int(hist.order_cust.size)
        parts.append(summary_from_history(hist, np.arange(a + 1, a + n + 1), as_of, settings.rfm.window_days))
        del hist
    fields = [f for f in PurchaseSummary.__dataclass_fields__ if f != "as_of"]
    summary = PurchaseSummary(
        as_of=as_of, **{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
    )
    del parts
    simulated = time.perf_counter() - t
    steps = Steps(None)
    started = time.perf_counter()
    buyer = summary.purchase_days > 0
    scores = fit_and_score(summary, as_of, settings, buyer, steps)
    with steps.step("rfm"):
        scored = summary.window_orders > 0
        rfm = score_rfm(
            as_of.toordinal() - summary.last_day[scored],
            summary.window_orders[scored],
            summary.window_spend_fen[scored],
            settings.rfm,
        )
        segment = np.full(len(summary), None, dtype=object)
        segment[scored] = rfm.segment
        sizes = store.segment_sizes(segment, summary.window_spend_fen)
    n = len(summary)
    minus = np.full(n, -1, dtype=np.int64)
    cols = store.InsightColumns(
        summary.customer_id, summary.purchase_days, summary.first_day, summary.last_day,
        as_of.toordinal() - summary.last_day, summary.window_orders, summary.window_spend_fen,
        minus, minus, minus, segment, scores.p_alive, scores.expected_purchases, scores.expected_value_fen,
        scores.clv_fen, scores.expected_gap_days, minus, np.zeros(n, dtype=bool),
    )  # fmt: skip
    with steps.step("rows_to_driver_values"):
        for a in range(0, n, store.CHUNK):
            store._chunk_rows(cols, a, min(n, a + store.CHUNK), 1, as_of.isoformat())
    return {
        "benchmark": "insights_refresh_compute_only",
        "customers": customers,
        "orders_simulated": orders,
        "buyers": n,
        "simulate_and_summarise_seconds": round(simulated, 1),
        "compute_seconds": round(time.perf_counter() - started, 2),
        "step_seconds": steps.seconds,
        "segments": {k: v[0] for k, v in sizes.items()},
        "models": scores.models,
        "message": "; ".join(scores.notes) or None,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    """Refresh once, commit, measure the baselines; print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 1))
    parser.add_argument("--compare-writes", action="store_true")
    parser.add_argument("--compute-only", type=int, default=0, metavar="N")
    parser.add_argument(
        "--skip-churn",
        action="store_true",
        help="diagnosis only: replace the churn step by a no-op (reported)",
    )
    args = parser.parse_args()
    if args.skip_churn:
        import siyu.insights.refresh as refresh_module

        refresh_module.apply_churn = lambda *a, **k: {"skipped": 1}
    if args.compute_only:
        print(json.dumps(compute_only(args.compute_only, args.as_of), ensure_ascii=False, default=str))
        return
    engine = make_engine(args.url)
    session = session_factory(engine)()
    sizes = {
        "customers": session.scalar(select(func.count()).select_from(Customer)),
        "orders": session.scalar(select(func.count()).select_from(Order)),
    }
    session.rollback()
    started_utc = datetime.now(UTC).isoformat(timespec="seconds")
    load_start = [round(x, 2) for x in os.getloadavg()]
    started = time.perf_counter()
    cpu = time.process_time()
    run = refresh_insights(session, as_of=args.as_of)
    refreshed = time.perf_counter() - started
    t = time.perf_counter()
    session.commit()
    commit = time.perf_counter() - t
    total = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    rss_after_refresh = peak_rss_mb()
    figures = run.figures or {}
    models = run.models or {}
    run_id = run.id
    result: dict[str, object] = {
        "benchmark": "insights_full_refresh",
        "url": args.url.split("?")[0],
        "dialect": engine.dialect.name,
        "churn_step_skipped": bool(args.skip_churn),
        "as_of": args.as_of.isoformat(),
        "rows": sizes,
        "started_utc": started_utc,
        # Other work on the shared cores stretches wall time; cpu_seconds (this process) much less so.
        "load_average": {"start": load_start, "end": [round(x, 2) for x in os.getloadavg()]},
        "total_seconds": round(total, 2),
        "refresh_seconds": round(refreshed, 2),
        "commit_seconds": round(commit, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "step_seconds": figures.get("timings"),
        "customers_scored": figures.get("customers"),
        "rfm_scored": figures.get("rfm_scored"),
        "warnings_opened": figures.get("warnings_opened"),
        "lifecycle": figures.get("lifecycle"),
        "models": {
            k: v for k, v in models.items() if k in ("calibration", "bgnbd", "pareto_nbd", "gamma_gamma")
        },
        "message": run.message,
        "peak_rss_mb_refresh": rss_after_refresh,
    }
    session.close()
    session = session_factory(engine)()
    result["scan_floor"] = scan_floor(session)
    session.rollback()
    result["naive_write_10k"] = naive_write(session, run_id)
    if args.compare_writes and engine.dialect.name == "postgresql":
        result["compare_writes"] = compare_writes(session, run_id)
    if engine.dialect.name == "postgresql":
        result["server_version"] = session.execute(text("SHOW server_version")).scalar()
    assert session.get(InsightRun, run_id) is not None
    session.close()
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
