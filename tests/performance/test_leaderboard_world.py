"""A small brand for leaderboard, daily-report and boss-page tests, written the way the product writes (rows + events)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.events import NewEvent, record_events
from siyu.models import (
    AcquisitionSource,
    Channel,
    ChannelMembership,
    Customer,
    Order,
    OrderChannel,
    OrderStatus,
    Staff,
    StaffStatus,
    StaffTask,
    TaskStatus,
)
from siyu.org.service import create_staff, create_unit

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 5, 20)  # the "today" of the world; history runs over the 40 days before it


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware UTC instant at a brand-local wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


@dataclass
class World:
    """Ids of the units, staff and customers built."""

    units: dict[str, int] = field(default_factory=dict)
    staff: dict[str, int] = field(default_factory=dict)
    customers: list[int] = field(default_factory=list)


def add_order(
    session: Session,
    world: World,
    staff: str | None,
    paid_at: datetime,
    amount: int,
    refund: int = 0,
    store: str = "ST1",
    customer: int | None = None,
) -> Order:
    """An order with its 'ordered' (and 'refunded') events, as the importer writes them."""
    staff_id = world.staff[staff] if staff else None
    order = Order(
        source="test",
        external_no=f"T{session.scalar(select(Order.id).order_by(Order.id.desc()).limit(1)) or 0}-{paid_at.timestamp()}",
        customer_id=customer if customer is not None else world.customers[0],
        channel=OrderChannel.store,
        store_id=world.units[store],
        staff_id=staff_id,
        amount_fen=amount,
        discount_fen=0,
        refund_fen=refund,
        status=OrderStatus.partially_refunded if refund else OrderStatus.paid,
        paid_at=paid_at,
        refunded_at=paid_at + timedelta(days=2) if refund else None,
    )
    session.add(order)
    session.flush()
    events = [
        NewEvent(
            "ordered",
            paid_at,
            customer_id=order.customer_id,
            staff_id=staff_id,
            unit_id=order.store_id,
            subject_type="order",
            subject_id=order.id,
            data={"amount_fen": amount, "channel": "store"},
        )
    ]
    if refund:
        events.append(refund_event(order, refund))
    record_events(session, events)
    return order


def refund_event(order: Order, refund: int) -> NewEvent:
    """The 'refunded' event of a refund of `refund` fen on order."""
    return NewEvent(
        "refunded",
        order.refunded_at or order.paid_at,
        customer_id=order.customer_id,
        staff_id=order.staff_id,
        unit_id=order.store_id,
        subject_type="order",
        subject_id=order.id,
        data={"refund_fen": refund},
    )


def add_task(
    session: Session, world: World, staff: str, due: datetime, done_at: datetime | None
) -> StaffTask:
    """A task, done (with its task_done event) when done_at is given, else open."""
    task = StaffTask(
        kind="follow_up",
        title="回访",
        staff_id=world.staff[staff],
        customer_id=world.customers[0],
        due_at=due,
        status=TaskStatus.done if done_at else TaskStatus.open,
        done_at=done_at,
    )
    session.add(task)
    session.flush()
    if done_at:
        record_events(
            session,
            [
                NewEvent(
                    "task_done",
                    done_at,
                    staff_id=task.staff_id,
                    subject_type="staff_task",
                    subject_id=task.id,
                )
            ],
        )
    return task


def add_contact(
    session: Session,
    world: World,
    staff: str | None,
    customer: int,
    joined_at: datetime,
    channel: Channel = Channel.wecom,
) -> None:
    """A membership with its joined_channel event (staff None: a group or a channel without a staff)."""
    membership = ChannelMembership(
        customer_id=customer,
        channel=channel,
        staff_id=world.staff[staff] if staff else None,
        joined_at=joined_at,
    )
    session.add(membership)
    session.flush()
    record_events(
        session,
        [
            NewEvent(
                "joined_channel",
                joined_at,
                customer_id=customer,
                staff_id=membership.staff_id,
                subject_type="channel_membership",
                subject_id=membership.id,
                data={"channel": channel.value},
            )
        ],
    )


def build(session: Session, seed: int = 11) -> World:
    """C → R1 (ST1: A, B, E who left; ST2: C), R2 (ST3: D); random orders, refunds, tasks and contacts."""
    rng = random.Random(seed)
    w = World()
    for code, kind, parent in (
        ("C", "company", None),
        ("R1", "region", "C"),
        ("R2", "region", "C"),
        ("ST1", "store", "R1"),
        ("ST2", "store", "R1"),
        ("ST3", "store", "R2"),
    ):
        w.units[code] = create_unit(session, code=code, name=f"Unit {code}", kind=kind, parent_code=parent).id
    for code, unit in (("A", "ST1"), ("B", "ST1"), ("E", "ST1"), ("C", "ST2"), ("D", "ST3")):
        w.staff[code] = create_staff(
            session, code=code, name=f"Guide {code}", unit_code=unit, role_codes=["guide"]
        ).id
    session.flush()
    owners = [None, "A", "B", "C", "D", "E"]
    for i in range(12):
        owner = owners[i % len(owners)]
        customer = Customer(
            owner_staff_id=w.staff[owner] if owner else None,
            name=f"客户{i}",
            source=AcquisitionSource.store,
            first_seen_at=local(DAY, 9) - timedelta(days=60),
        )
        session.add(customer)
        session.flush()
        w.customers.append(customer.id)
    staff_codes = ["A", "B", "C", "D", "E", None]
    store_of = {"A": "ST1", "B": "ST1", "E": "ST1", "C": "ST2", "D": "ST3", None: "ST1"}
    for _ in range(80):
        day = DAY - timedelta(days=rng.randrange(0, 40))
        code = rng.choice(staff_codes)
        amount = rng.randrange(1000, 50000)
        refund = rng.choice([0, 0, 0, amount // 3, amount])
        # Hours include the 23:xx and 00:xx edges of the local day.
        add_order(
            session,
            w,
            code,
            local(day, rng.choice([0, 9, 14, 23]), rng.randrange(60)),
            amount,
            refund,
            store_of[code],
            rng.choice(w.customers),
        )
    for _ in range(60):
        day = DAY - timedelta(days=rng.randrange(0, 40))
        code = rng.choice(["A", "B", "C", "D"])
        due = local(day, 18)
        done = rng.random() < 0.7
        add_task(session, w, code, due, due - timedelta(hours=rng.randrange(0, 10)) if done else None)
    for i in range(40):
        day = DAY - timedelta(days=rng.randrange(0, 40))
        add_contact(
            session,
            w,
            rng.choice(["A", "B", "C", "D", None]),
            w.customers[i % 12],
            local(day, rng.choice([0, 11, 23])),
            rng.choice([Channel.wecom, Channel.wecom, Channel.wechat_personal, Channel.group]),
        )
    session.execute(
        Staff.__table__.update().where(Staff.id == w.staff["E"]).values(status=StaffStatus.left)  # type: ignore[attr-defined]
    )
    session.flush()
    return w
