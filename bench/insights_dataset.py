"""A seeded buying history for the insights benchmark: N customers, about 10·N orders, written in bulk.

Run: .venv/bin/python bench/insights_dataset.py URL --customers 1000000 [--seed 1] [--as-of 2026-11-01]
The database is migrated first and must hold no customers. Buying follows BG/NBD (each buyer has a
Poisson purchase rate λ ~ Gamma(r, α) and drops out after any purchase with probability p ~ Beta(a, b)),
spend follows Gamma-Gamma, 5% of orders are refunded in full and 3% in part; 15% of customers never buy.
Prints JSON: rows written, seconds per table, the generating parameters.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.db.engine import make_engine, session_factory
from siyu.db.migrate import upgrade
from siyu.demo.writer import Codes, Const, Ints, Lazy, Times, Writer
from siyu.models import Customer, Order, OrgUnit, Staff
from siyu.models.enums import OrgUnitKind

DAY = 86_400
HISTORY_DAYS = 1_095  # three years of first purchases
# Generating parameters (per day): mean rate r/α = 1/29 a day, mean dropout a/(a+b) ≈ 0.056 a purchase.
TRUE = {"r": 1.4, "alpha": 40.0, "a": 1.0, "b": 18.0, "gg_p": 6.0, "gg_q": 4.0, "gg_v": 15_000.0}
STORES = 40
STAFF = 400


@dataclass
class History:
    """Customers (first seen, owner, store) and their orders (customer index, paid_at, amount, refund)."""

    first_seen: np.ndarray
    owner: np.ndarray
    store: np.ndarray
    order_cust: np.ndarray
    paid_at: np.ndarray
    amount: np.ndarray
    refund: np.ndarray


def simulate(rng: np.random.Generator, n: int, end_ts: int) -> History:
    """Draw the customers and their BG/NBD purchase histories up to end_ts (epoch seconds)."""
    start_ts = end_ts - HISTORY_DAYS * DAY
    first_seen = rng.integers(start_ts, end_ts, size=n)
    buyer = rng.random(n) < 0.85
    first_buy = np.minimum(first_seen + (rng.exponential(3.0, size=n) * DAY).astype(np.int64), end_ts - 1)
    lam = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], size=n) / DAY  # purchases per second
    drop = rng.beta(TRUE["a"], TRUE["b"], size=n)
    cust_parts = [np.flatnonzero(buyer)]
    time_parts = [first_buy[buyer]]
    alive = np.flatnonzero(buyer & (rng.random(n) >= drop))
    t = first_buy[alive].astype(np.float64)
    while alive.size:
        t = t + rng.exponential(1.0, size=alive.size) / lam[alive]
        inside = t < end_ts
        alive, t = alive[inside], t[inside]
        cust_parts.append(alive)
        time_parts.append(t.astype(np.int64))
        stay = rng.random(alive.size) >= drop[alive]
        alive, t = alive[stay], t[stay]
    order_cust = np.concatenate(cust_parts)
    paid_at = np.concatenate(time_parts)
    order = np.argsort(paid_at, kind="stable")
    order_cust, paid_at = order_cust[order], paid_at[order]
    # Gamma-Gamma spend: each customer's mean ν ~ Gamma(q, v), each order ~ Gamma(p, ν/p) (in fen).
    nu = TRUE["gg_v"] * TRUE["gg_p"] / rng.gamma(TRUE["gg_q"], 1.0, size=n)
    amount = np.maximum(
        100, rng.gamma(TRUE["gg_p"], 1.0, size=order_cust.size) * nu[order_cust] / TRUE["gg_p"]
    )
    amount = amount.astype(np.int64)
    u = rng.random(order_cust.size)
    refund = np.where(u < 0.05, amount, np.where(u < 0.08, amount // 3, 0)).astype(np.int64)
    owner = np.where(rng.random(n) < 0.8, rng.integers(0, STAFF, size=n), -1)
    store = rng.integers(0, STORES, size=n)
    return History(first_seen, owner, store, order_cust, paid_at, amount, refund)


def _org(session: Session) -> tuple[np.ndarray, np.ndarray]:
    hq = OrgUnit(kind=OrgUnitKind.company, code="bench-hq", name="总部", path="/", depth=0)
    session.add(hq)
    session.flush()
    hq.path = f"/{hq.id}/"
    stores = [
        OrgUnit(
            parent_id=hq.id, kind=OrgUnitKind.store, code=f"bench-s{i}", name=f"门店{i}", path="/", depth=1
        )
        for i in range(STORES)
    ]
    session.add_all(stores)
    session.flush()
    for s in stores:
        s.path = f"/{hq.id}/{s.id}/"
    staff = [
        Staff(code=f"bench-g{i}", name=f"导购{i}", unit_id=stores[i % STORES].id, hired_on=date(2023, 1, 1))
        for i in range(STAFF)
    ]
    session.add_all(staff)
    session.flush()
    return np.array([s.id for s in stores]), np.array([s.id for s in staff])


def build(url: str, customers: int, seed: int, as_of: date) -> dict[str, object]:
    """Migrate url and write the history; returns what was written and how long it took."""
    upgrade(url)
    engine = make_engine(url)
    rng = np.random.default_rng(seed)
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), tzinfo=UTC) - timedelta(hours=8)
    started = time.perf_counter()
    hist = simulate(rng, customers, int(end.timestamp()))
    simulated = time.perf_counter() - started
    seconds: dict[str, float] = {"simulate": round(simulated, 2)}
    with session_factory(engine)() as session:
        if session.scalar(select(func.count()).select_from(Customer)):
            raise SystemExit(f"{url}: customers already present; use an empty database")
        store_ids, staff_ids = _org(session)
        writer = Writer(session)
        tables = [Customer.__table__, Order.__table__]
        with writer.bulk_load(tables, 512):
            t = time.perf_counter()
            first = writer.reserve(Customer.__table__, customers)
            ids = np.arange(first, first + customers, dtype=np.int64)
            writer.write(
                Customer.__table__,
                customers,
                {
                    "id": Ints(ids),
                    "source": Codes(rng.integers(0, 3, size=customers), ["order", "store", "organic"]),
                    "owner_staff_id": Ints(
                        np.where(hist.owner < 0, -1, staff_ids[np.maximum(hist.owner, 0)]), True
                    ),
                    "home_store_id": Ints(store_ids[hist.store]),
                    "lifecycle_stage": Const("new"),
                    "points_balance": Const(0),
                    "marketing_opt_in": Const(True),
                    "chat_archive_consent": Const(False),
                    "first_seen_at": Times(hist.first_seen),
                    "created_at": Times(hist.first_seen),
                },
            )
            seconds["customers"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            m = int(hist.order_cust.size)
            first_order = writer.reserve(Order.__table__, m)
            status = np.where(hist.refund == hist.amount, 2, np.where(hist.refund > 0, 1, 0))
            writer.write(
                Order.__table__,
                m,
                {
                    "id": Ints(np.arange(first_order, first_order + m, dtype=np.int64)),
                    "source": Const("bench"),
                    "external_no": Lazy(lambda a, b: [f"B{i}" for i in range(a, b)]),
                    "customer_id": Ints(ids[hist.order_cust]),
                    "channel": Const("miniprogram"),
                    "store_id": Ints(store_ids[hist.store[hist.order_cust]]),
                    "amount_fen": Ints(hist.amount),
                    "discount_fen": Const(0),
                    "refund_fen": Ints(hist.refund),
                    "status": Codes(status, ["paid", "partially_refunded", "refunded"]),
                    "paid_at": Times(hist.paid_at),
                    "created_at": Times(hist.paid_at),
                },
            )
            seconds["orders"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
        seconds["indexes"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        session.commit()
        seconds["commit"] = round(time.perf_counter() - t, 2)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    engine.dispose()
    return {
        "url": url.split("?")[0],
        "customers": customers,
        "orders": int(hist.order_cust.size),
        "buyers": int(np.unique(hist.order_cust).size),
        "seed": seed,
        "as_of": as_of.isoformat(),
        "true_params": TRUE,
        "seconds": seconds,
        "total_seconds": round(time.perf_counter() - started, 2),
    }


def main() -> None:
    """Parse arguments, build, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 1))
    args = parser.parse_args()
    print(json.dumps(build(args.url, args.customers, args.seed, args.as_of), ensure_ascii=False))


if __name__ == "__main__":
    main()
