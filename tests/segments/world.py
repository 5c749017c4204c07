"""A seeded random brand for segment tests, the raw rows read back, and a brute-force rule evaluator."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models import (
    AcquisitionSource,
    Channel,
    ChannelMembership,
    ChatMessage,
    Customer,
    CustomerInsight,
    CustomerTag,
    InsightRun,
    LifecycleStage,
    MessageDirection,
    Order,
    OrderChannel,
    OrgUnit,
    Staff,
    Tag,
    TagAppliedBy,
    TagGroup,
)
from siyu.org.service import create_staff, create_unit

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=ZONE).astimezone(UTC)
TODAY = date(2026, 11, 20)
TIERS = (None, "silver", "gold", "diamond")
RFM = ("important_value", "important_keep", "general_retain", "champions", "lost")


def at_local(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware UTC instant at a brand-local wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


@dataclass
class World:
    """Ids of the built brand and its raw rows (plain dicts), for brute-force checks."""

    units: dict[str, int]
    staff: dict[str, int]
    tags: list[int]
    customers: list[dict[str, Any]] = field(default_factory=list)
    unit_paths: dict[int, str] = field(default_factory=dict)
    customer_tags: list[tuple[int, int]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    insights: dict[int, dict[str, Any]] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)


def build(session: Session, seed: int = 7, n: int = 160) -> World:
    """Org C → R1 (ST1, ST2), R2 (ST3); four staff; n customers with tags, memberships, orders, scores, chats."""
    rng = random.Random(seed)
    create_unit(session, code="C", name="Brand", kind="company")
    create_unit(session, code="R1", name="East", kind="region", parent_code="C")
    create_unit(session, code="R2", name="North", kind="region", parent_code="C")
    for code, parent in (("ST1", "R1"), ("ST2", "R1"), ("ST3", "R2")):
        create_unit(session, code=code, name=f"Store {code}", kind="store", parent_code=parent)
    for code, unit in (("S1", "ST1"), ("S2", "ST1"), ("S3", "ST2"), ("S4", "ST3")):
        create_staff(session, code=code, name=f"Guide {code}", unit_code=unit)
    session.flush()
    units = {u.code: u.id for u in session.scalars(select(OrgUnit))}
    staff = {s.code: s.id for s in session.scalars(select(Staff))}
    group = TagGroup(name="兴趣")
    session.add(group)
    session.flush()
    tag_rows = [Tag(group_id=group.id, name=f"t{i}") for i in range(6)]
    session.add_all(tag_rows)
    session.flush()
    world = World(units, staff, [t.id for t in tag_rows])
    world.unit_paths = {u.id: u.path for u in session.scalars(select(OrgUnit))}
    stores = [units["ST1"], units["ST2"], units["ST3"], units["R1"], None]
    staff_ids = [*staff.values(), None]

    def moment(max_days: int = 400, future: float = 0.05) -> datetime:
        # Some facts sit a minute either side of a local midnight, some after NOW (they must not count).
        if rng.random() < future:
            return NOW + timedelta(hours=rng.randint(1, 200))
        day = TODAY - timedelta(days=rng.randint(0, max_days))
        if rng.random() < 0.25:
            return at_local(day, 0, 0) + timedelta(minutes=rng.choice((-1, 0, 1)))
        return at_local(day, rng.randint(0, 23), rng.randint(0, 59))

    customers = []
    for i in range(n):
        c = Customer(
            name=f"客户{i}",
            source=rng.choice(list(AcquisitionSource)),
            home_store_id=rng.choice(stores),
            owner_staff_id=rng.choice(staff_ids),
            lifecycle_stage=rng.choice(list(LifecycleStage)),
            member_tier=rng.choice(TIERS),
            marketing_opt_in=rng.random() < 0.5,
            first_seen_at=moment(500, 0.03),
        )
        customers.append(c)
    session.add_all(customers)
    session.flush()
    for c in customers[-8:]:
        c.merged_into_id = customers[0].id  # merged people never count
    session.flush()
    ids = [c.id for c in customers]
    for cid in ids:
        for tag in rng.sample(world.tags, rng.randint(0, 3)):
            session.add(
                CustomerTag(customer_id=cid, tag_id=tag, applied_by=TagAppliedBy.system, applied_at=NOW)
            )
            world.customer_tags.append((cid, tag))
        for _ in range(rng.randint(0, 3)):
            joined = moment(300, 0.05)
            left = (
                joined + timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 23))
                if rng.random() < 0.4
                else None
            )
            m = {
                "customer_id": cid,
                "channel": rng.choice(list(Channel)),
                "staff_id": rng.choice(staff_ids),
                "joined_at": joined,
                "left_at": left,
            }
            session.add(ChannelMembership(**m))
            world.memberships.append(m)
        for _ in range(rng.choice((0, 0, 1, 2, 3, 5, 8))):
            amount = rng.randint(1, 500) * 100
            refund = rng.choice((0, 0, 0, amount // 2, amount))
            o = {
                "customer_id": cid,
                "channel": rng.choice(list(OrderChannel)),
                "amount_fen": amount,
                "refund_fen": refund,
                "paid_at": moment(400, 0.05),
            }
            world.orders.append(o)
        for _ in range(rng.choice((0, 1, 2, 4))):
            msg = {
                "customer_id": cid,
                "direction": rng.choice(list(MessageDirection)),
                "sent_at": moment(200, 0.05),
            }
            world.messages.append(msg)
    for k, o in enumerate(world.orders):
        session.add(Order(source="test", external_no=f"o{k}", store_id=None, **o))
    for k, m in enumerate(world.messages):
        session.add(ChatMessage(msgid=f"m{k}", sender="x", msg_type="text", staff_id=staff["S1"], **m))
    run = InsightRun(as_of=TODAY, status="done", started_at=NOW)
    session.add(run)
    session.flush()
    for cid in ids:
        if rng.random() < 0.3:
            continue
        row = {
            "rfm_segment": rng.choice((*RFM, None)),
            "clv_fen": rng.choice((None, rng.randint(0, 200_000))),
            "p_alive": rng.choice((None, round(rng.random(), 3))),
            "expected_purchases": rng.choice((None, round(rng.random() * 4, 2))),
        }
        session.add(CustomerInsight(customer_id=cid, run_id=run.id, computed_on=TODAY, **row))
        world.insights[cid] = row
    session.flush()
    for c in customers:
        world.customers.append(
            {
                "id": c.id,
                "source": c.source.value,
                "home_store_id": c.home_store_id,
                "owner_staff_id": c.owner_staff_id,
                "lifecycle_stage": c.lifecycle_stage.value,
                "member_tier": c.member_tier,
                "marketing_opt_in": c.marketing_opt_in,
                "first_seen_at": c.first_seen_at,
                "merged_into_id": c.merged_into_id,
            }
        )
    return world
