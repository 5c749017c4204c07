"""A small brand with the overview's edge cases, and a naive Python recomputation of every figure."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models import (
    AcquisitionSource,
    Channel,
    ChannelMembership,
    Customer,
    Order,
    OrderChannel,
    OrgUnit,
    Staff,
)
from siyu.org.permissions import Actor, DataScope, PermissionRole
from siyu.org.service import create_staff, create_unit

ZONE = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 3, 1), date(2026, 8, 31)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware UTC instant at a brand-local wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


@dataclass
class Brand:
    """Ids of the dataset's units and the special customers."""

    units: dict[str, OrgUnit]
    outsider_id: int
    late_order_no: str


def build(session: Session, seed: int = 7) -> Brand:
    """Org tree C → R1 (ST1, ST2), R2 (ST3); ~60 random customers plus hand-made edge cases."""
    rng = random.Random(seed)
    create_unit(session, code="C", name="Brand", kind="company")
    create_unit(session, code="R1", name="East", kind="region", parent_code="C")
    create_unit(session, code="R2", name="North", kind="region", parent_code="C")
    for code, parent in (("ST1", "R1"), ("ST2", "R1"), ("ST3", "R2"), ("ST4", "R1")):
        create_unit(session, code=code, name=f"Store {code}", kind="store", parent_code=parent)
    create_staff(session, code="S1", name="Guide 1", unit_code="ST1")
    create_staff(session, code="S3", name="Guide 3", unit_code="ST3")
    session.flush()
    units = {u.code: u for u in session.scalars(select(OrgUnit))}
    staff = {s.code: s.id for s in session.scalars(select(Staff))}
    stores = [units["ST1"].id, units["ST2"].id, units["ST3"].id, None]
    span = (LAST - FIRST).days + 40
    base = local(FIRST - timedelta(days=30), 0)

    def moment() -> datetime:
        return base + timedelta(seconds=rng.randrange(span * 86400))

    customers = []
    for i in range(60):
        home = rng.choice(stores)
        owner = rng.choice([None, staff["S1"], staff["S3"]])
        c = Customer(
            name=f"C{i}",
            source=rng.choice(list(AcquisitionSource)),
            home_store_id=home,
            owner_staff_id=owner,
            first_seen_at=base,
        )
        customers.append(c)
    session.add_all(customers)
    session.flush()
    for c in customers:
        for _ in range(rng.randrange(0, 4)):
            joined = moment()
            left = (
                joined + timedelta(days=rng.choice([1, 6, 7, 20, 30, 45, 90, 120]))
                if rng.random() < 0.5
                else None
            )
            session.add(
                ChannelMembership(
                    customer_id=c.id, channel=rng.choice(list(Channel)), joined_at=joined, left_at=left
                )
            )
        for n in range(rng.randrange(0, 4)):
            amount = rng.randrange(100, 100_000)
            refund = rng.choice([0, 0, amount, amount // 3])
            session.add(
                Order(
                    source="t",
                    external_no=f"{c.id}-{n}",
                    customer_id=c.id,
                    channel=rng.choice(list(OrderChannel)),
                    store_id=rng.choice(stores),
                    amount_fen=amount,
                    refund_fen=refund,
                    paid_at=moment(),
                )
            )
    # Edge cases by hand.
    st1 = units["ST1"].id
    edge = Customer(name="edge", source=AcquisitionSource.ad, home_store_id=st1, first_seen_at=base)
    outsider = Customer(
        name="out", source=AcquisitionSource.store, home_store_id=units["ST3"].id, first_seen_at=base
    )
    merged = Customer(name="merged", source=AcquisitionSource.ad, home_store_id=st1, first_seen_at=base)
    session.add_all([edge, outsider, merged])
    session.flush()
    merged.merged_into_id = edge.id
    memberships = [
        # left before the end date: not present at the end, present at the April snapshot
        (edge, Channel.wecom, local(date(2026, 3, 10), 9), local(date(2026, 5, 2), 10)),
        # joined at 23:30 local on the last day: present at the end, counted that day
        (edge, Channel.group, local(LAST, 23, 30), None),
        # joined at 00:10 local the day after: outside the range
        (edge, Channel.member, local(LAST + timedelta(days=1), 0, 10), None),
        # joined exactly at local midnight opening the range
        (edge, Channel.miniprogram, local(FIRST, 0), local(FIRST, 0) + timedelta(days=7)),
        (outsider, Channel.wecom, local(date(2026, 4, 1), 12), None),
        (merged, Channel.wecom, local(date(2026, 4, 1), 12), None),
    ]
    for who, channel, joined, left in memberships:
        session.add(ChannelMembership(customer_id=who.id, channel=channel, joined_at=joined, left_at=left))
    orders = [
        ("late", edge, OrderChannel.store, st1, 50_000, 0, local(LAST, 23, 30)),
        ("refund", edge, OrderChannel.miniprogram, st1, 30_000, 12_345, local(date(2026, 4, 5), 8)),
        ("next-day", edge, OrderChannel.store, st1, 77_700, 0, local(LAST + timedelta(days=1), 0, 10)),
        (
            "before-join",
            edge,
            OrderChannel.live,
            None,
            9_900,
            0,
            local(date(2026, 3, 1), 0) - timedelta(seconds=1),
        ),
        ("out", outsider, OrderChannel.store, units["ST3"].id, 88_800, 0, local(date(2026, 5, 1), 12)),
        ("merged", merged, OrderChannel.store, st1, 11_100, 0, local(date(2026, 5, 1), 12)),
    ]
    for no, who, channel, store, amount, refund, paid in orders:
        session.add(
            Order(
                source="edge",
                external_no=no,
                customer_id=who.id,
                channel=channel,
                store_id=store,
                amount_fen=amount,
                refund_fen=refund,
                paid_at=paid,
            )
        )
    session.flush()
    return Brand(units=units, outsider_id=outsider.id, late_order_no="late")


def region_manager(brand: Brand) -> Actor:
    """A manager whose data scope is region R1 and below."""
    r1 = brand.units["R1"]
    return Actor(
        None,
        "m",
        role=PermissionRole.manager,
        scope=DataScope.subtree,
        scope_unit_id=r1.id,
        scope_unit_path=r1.path,
    )
