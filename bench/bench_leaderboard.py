"""Time the live leaderboard after one new order (write order + event, apply_new_events, read), against a full rebuild.

Run: .venv/bin/python bench/bench_leaderboard.py SQLITE_OR_PG_URL [--repeat 30]
Prints JSON: rebuild_ms, and median/p95/max of insert_ms (the order and its event, committed),
apply_ms (apply_new_events, committed), read_ms (the company-wide GMV board for the month) and
refresh_ms = apply_ms + read_ms (what the 200 ms bar measures) and total_ms. Each repetition checks
that the new order moved its seller's GMV by exactly its amount. The orders and events the run adds
are deleted at the end and the counters rebuilt, so the database is left as it was.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select

from siyu.db.engine import make_engine, session_factory
from siyu.db.types import utcnow
from siyu.events import NewEvent, record_events
from siyu.models import Event, LeaderboardCounter, Order, OrderChannel, OrderStatus
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.performance.contract import Period
from siyu.performance.leaderboard import apply_new_events, rebuild
from siyu.performance.leaderboard_service import build_board
from siyu.timeutil import local_date


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _stats(times: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(_p95(times), 1),
        "max_ms": round(max(times), 1),
    }


def main() -> None:
    """Rebuild once, then add one order at a time and time the refresh of the leaderboard."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    sessions = session_factory(make_engine(args.url))
    result: dict[str, object] = {"benchmark": "leaderboard_refresh", "url": args.url.split("?")[0]}
    with sessions() as session:
        result["orders_in_db"] = session.scalar(select(func.count(Order.id)))
        result["events_in_db"] = session.scalar(select(func.count(Event.id)))
        started = time.perf_counter()
        result["counters"] = rebuild(session)
        session.commit()
        result["rebuild_ms"] = round((time.perf_counter() - started) * 1000)
        # The latest order with a seller: the new ones copy its customer, store and staff.
        model = session.scalars(
            select(Order).where(Order.staff_id.is_not(None)).order_by(Order.id.desc()).limit(1)
        ).one()
    paid_at = utcnow() - timedelta(minutes=1)
    period = Period.month(local_date(paid_at))
    insert_ms, apply_ms, read_ms, refresh_ms, total_ms = [], [], [], [], []
    tag = uuid.uuid4().hex[:8]
    added: list[int] = []
    for i in range(args.repeat):
        with sessions() as session:
            before = {r.staff_id: r.value for r in build_board(session, SYSTEM_ACTOR, "gmv", period).rows}
        amount = 10_000 + i
        t0 = time.perf_counter()
        with sessions() as session:
            order = Order(
                source="bench",
                external_no=f"bench-{tag}-{i}",
                customer_id=model.customer_id,
                channel=OrderChannel.store,
                store_id=model.store_id,
                staff_id=model.staff_id,
                amount_fen=amount,
                discount_fen=0,
                refund_fen=0,
                status=OrderStatus.paid,
                paid_at=paid_at,
            )
            session.add(order)
            session.flush()
            record_events(
                session,
                [
                    NewEvent(
                        "ordered",
                        paid_at,
                        customer_id=order.customer_id,
                        staff_id=order.staff_id,
                        unit_id=order.store_id,
                        subject_type="order",
                        subject_id=order.id,
                        data={"amount_fen": amount, "channel": "store"},
                    )
                ],
            )
            session.commit()
            added.append(order.id)
        t1 = time.perf_counter()
        with sessions() as session:
            apply_new_events(session)
            session.commit()
        t2 = time.perf_counter()
        with sessions() as session:
            board = build_board(session, SYSTEM_ACTOR, "gmv", period)
        t3 = time.perf_counter()
        after = {r.staff_id: r.value for r in board.rows}
        assert model.staff_id is not None
        if after[model.staff_id] != before.get(model.staff_id, 0) + amount:
            raise SystemExit(f"wrong leaderboard value after order {i}: {before} → {after}")
        insert_ms.append((t1 - t0) * 1000)
        apply_ms.append((t2 - t1) * 1000)
        read_ms.append((t3 - t2) * 1000)
        refresh_ms.append((t3 - t1) * 1000)
        total_ms.append((t3 - t0) * 1000)
    result["board_rows"] = len(board.rows)
    result["repeat"] = args.repeat
    result.update(
        {
            "insert_ms": _stats(insert_ms),
            "apply_ms": _stats(apply_ms),
            "read_ms": _stats(read_ms),
            "refresh_ms": _stats(refresh_ms),
            "total_ms": _stats(total_ms),
        }
    )
    with sessions() as session:
        session.execute(delete(Event).where(Event.subject_type == "order", Event.subject_id.in_(added)))
        session.execute(delete(Order).where(Order.id.in_(added)))
        rebuild(session)
        session.commit()
        result["counters_after_cleanup"] = session.scalar(
            select(func.count()).select_from(LeaderboardCounter)
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
