"""A small seeded buying world for the refresh tests, and brute-force figures computed from its raw rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.customers.identity import merge_customers
from siyu.models import Customer, Order
from siyu.models.enums import AcquisitionSource, OrderChannel, OrderStatus
from siyu.org.service import create_staff, create_unit

ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 10, 31)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware UTC time at a brand-local wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


@dataclass
class World:
    """Ids the tests need: customers, the merged-away one and its survivor, staff."""

    customers: list[int]
    merged_away: int
    survivor: int
    staff: list[int]


def build_world(session: Session, customers: int = 240, seed: int = 5, buyers: int | None = None) -> World:
    """Customers buying with BG/NBD-like habits over two years, refunds, midnight edges and one merge.

    buyers: how many of them ever buy (default: most). Orders after AS_OF exist too (they must not count).
    """
    rng = np.random.default_rng(seed)
    create_unit(session, code="hq", name="总部", kind="company")
    store = create_unit(session, code="s1", name="门店1", kind="store", parent_code="hq")
    staff = [create_staff(session, code=f"g{i}", name=f"导购{i}", unit_code="s1") for i in range(3)]
    session.flush()
    people = []
    for i in range(customers):
        seen = AS_OF - timedelta(days=int(rng.integers(0, 700)))
        people.append(
            Customer(
                name=f"c{i}",
                source=AcquisitionSource.order,
                home_store_id=store.id,
                owner_staff_id=staff[i % 3].id if i % 5 else None,
                first_seen_at=local(seen, 10),
            )
        )
    session.add_all(people)
    session.flush()
    n_buyers = customers * 9 // 10 if buyers is None else buyers
    orders: list[Order] = []
    # Each buyer's own spend level (Gamma-Gamma's premise): with one shared order-size distribution the
    # fitted q runs off to infinity and whether the optimiser reports convergence depends on the SciPy
    # release. Drawn from a separate generator so the order dates and sizes before scaling stay as they were.
    spend_level = np.random.default_rng(seed + 1000).lognormal(0.0, 0.6, size=n_buyers)
    for level, person in zip(spend_level, people[:n_buyers], strict=True):
        first = person.first_seen_at.astimezone(ZONE).date()
        rate = rng.gamma(2.0, 1 / 60)  # purchases a day
        dropout = rng.beta(1.0, 6.0)
        day = first
        while day <= AS_OF + timedelta(days=5):
            # Wall-clock times around local midnight test the brand-day cut (UTC is 8 h behind).
            hour, minute = [(0, 5), (7, 59), (8, 1), (12, 0), (23, 59)][int(rng.integers(0, 5))]
            amount = max(100, int(int(rng.integers(1_000, 60_000)) * level))
            u = rng.random()
            refund = amount if u < 0.08 else amount // 4 if u < 0.14 else 0
            status = (
                OrderStatus.refunded
                if refund == amount
                else OrderStatus.partially_refunded
                if refund
                else OrderStatus.paid
            )
            orders.append(
                Order(
                    source="t",
                    external_no=f"o{len(orders)}",
                    customer_id=person.id,
                    channel=OrderChannel.miniprogram,
                    store_id=store.id,
                    amount_fen=amount,
                    refund_fen=refund,
                    status=status,
                    paid_at=local(day, hour, minute),
                )
            )
            if rng.random() < 0.15:  # a second order the same day: one purchase day, two orders
                orders.append(
                    Order(
                        source="t",
                        external_no=f"o{len(orders)}",
                        customer_id=person.id,
                        channel=OrderChannel.store,
                        amount_fen=amount // 2 + 1,
                        paid_at=local(day, 23, 58) if hour < 23 else local(day, 0, 1),
                    )
                )
            if rng.random() < dropout:
                break
            day = day + timedelta(days=1 + int(rng.exponential(1 / rate)))
    session.add_all(orders)
    session.flush()
    # Customer 1 is folded into customer 0: its orders now count for customer 0 only.
    merge_customers(session, [(people[0].id, [people[1].id])], occurred_at=local(AS_OF, 9), reason="test")
    session.flush()
    return World([p.id for p in people], people[1].id, people[0].id, [s.id for s in staff])


@dataclass
class Truth:
    """Brute-force figures of one live customer, from the raw order rows."""

    purchase_days: int
    first: date | None
    last: date | None
    window_orders: int
    window_spend: int


def brute_force(session: Session, as_of: date, window_days: int) -> dict[int, Truth]:
    """Per live customer: counted orders (refund < amount) paid by the end of as_of, cut in brand days."""
    live = session.scalars(select(Customer.id).where(Customer.merged_into_id.is_(None))).all()
    days: dict[int, set[date]] = {c: set() for c in live}
    orders: dict[int, int] = dict.fromkeys(live, 0)
    spend: dict[int, int] = dict.fromkeys(live, 0)
    since = as_of - timedelta(days=window_days - 1)
    for cust, paid_at, amount, refund in session.execute(
        select(Order.customer_id, Order.paid_at, Order.amount_fen, Order.refund_fen)
    ):
        day = paid_at.astimezone(ZONE).date()
        if refund >= amount or day > as_of:
            continue
        days[cust].add(day)
        if day >= since:
            orders[cust] += 1
            spend[cust] += amount - refund
    return {
        c: Truth(
            len(days[c]),
            min(days[c]) if days[c] else None,
            max(days[c]) if days[c] else None,
            orders[c],
            spend[c],
        )
        for c in live
    }
