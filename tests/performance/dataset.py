"""A small deterministic brand for metric tests, and the raw rows a brute-force check reads back."""

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
    LeaveReason,
    MessageDirection,
    Order,
    OrderChannel,
    OrgUnit,
    Referral,
    Staff,
    StaffStatus,
    StaffTask,
    StoreVisit,
    TaskStatus,
)
from siyu.models.compliance import ComplianceCategory, IncidentStatus, SensitiveIncident, Severity
from siyu.models.insights import ChurnWarning, RfmSnapshot
from siyu.models.wecom import WecomBehaviorSnapshot, WecomGroupStatSnapshot
from siyu.org.service import create_staff, create_unit

ZONE = ZoneInfo("Asia/Shanghai")  # no DST, so SQLite's fixed-offset shift is exact
MONTH = date(2026, 10, 1)
# Data lies mostly around October 2026; older orders make lost buyers for the recall rate.
WINDOW_FIRST, WINDOW_LAST = date(2026, 9, 20), date(2026, 11, 10)
AS_OF = datetime(2027, 3, 1, tzinfo=UTC)
TIERS = (None, "regular", "silver", "gold", "diamond")
TASK_KINDS = ("follow_up", "moments_post", "holiday_greeting", "recall")


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An aware UTC instant at a brand-local wall-clock time."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=ZONE).astimezone(UTC)


def build(session: Session, seed: int = 11, customers: int = 90) -> None:
    """Org C → R1 (ST1, ST2), R2 (ST3 → T3 team); six staff (one left); customers with every kind of fact."""
    rng = random.Random(seed)
    create_unit(session, code="C", name="Brand", kind="company")
    create_unit(session, code="R1", name="East", kind="region", parent_code="C")
    create_unit(session, code="R2", name="North", kind="region", parent_code="C")
    for code, parent in (("ST1", "R1"), ("ST2", "R1"), ("ST3", "R2")):
        create_unit(session, code=code, name=f"Store {code}", kind="store", parent_code=parent)
    create_unit(session, code="T3", name="Team 3", kind="team", parent_code="ST3")
    for code, unit in (
        ("S1", "ST1"),
        ("S2", "ST1"),
        ("S3", "ST2"),
        ("S4", "T3"),
        ("S5", "R1"),
        ("S6", "ST3"),
    ):
        create_staff(session, code=code, name=f"Guide {code}", unit_code=unit, hired_on=date(2025, 1, 1))
    session.flush()
    units = {u.code: u.id for u in session.scalars(select(OrgUnit))}
    staff = {s.code: s for s in session.scalars(select(Staff))}
    # S6 left before October: still attributed its old facts, not counted as October headcount.
    staff["S6"].status = StaffStatus.left
    staff["S6"].left_on = date(2026, 9, 25)
    staff["S5"].hired_on = date(2026, 10, 15)
    staff_ids = [s.id for s in staff.values()]
    stores = [units["ST1"], units["ST2"], units["ST3"], None]
    span = (WINDOW_LAST - WINDOW_FIRST).days * 86400

    def moment() -> datetime:
        # A fifth of the facts sit within minutes of a local midnight, so day cuts are exercised.
        if rng.random() < 0.2:
            day = WINDOW_FIRST + timedelta(days=rng.randrange((WINDOW_LAST - WINDOW_FIRST).days))
            return local(day, 0) + timedelta(seconds=rng.choice([-61, -1, 0, 1, 59]))
        return local(WINDOW_FIRST, 0) + timedelta(seconds=rng.randrange(span))

    people = [
        Customer(
            name=f"C{i}",
            source=rng.choice(list(AcquisitionSource)),
            owner_staff_id=rng.choice([*staff_ids, None]),
            home_store_id=rng.choice(stores),
            member_tier=rng.choice(TIERS),
            first_seen_at=local(date(2026, 1, 1), 9),
        )
        for i in range(customers)
    ]
    session.add_all(people)
    session.flush()
    # One customer merged into another: excluded from customer metrics.
    people[-1].merged_into_id = people[0].id
    ids = [c.id for c in people]
    for c in people:
        for _ in range(rng.randrange(0, 4)):
            channel = rng.choice(list(Channel))
            joined = moment()
            left = None
            if rng.random() < 0.5:
                left = joined + timedelta(
                    days=rng.choice([1, 6, 7, 20, 30, 45, 90, 120]), seconds=rng.choice([-1, 0, 0, 1])
                )
            session.add(
                ChannelMembership(
                    customer_id=c.id,
                    channel=channel,
                    staff_id=rng.choice(staff_ids)
                    if channel in (Channel.wecom, Channel.wechat_personal) and rng.random() < 0.85
                    else None,
                    joined_at=joined,
                    left_at=left,
                    leave_reason=rng.choice(list(LeaveReason)) if left else None,
                )
            )
        for n in range(rng.randrange(0, 6)):
            amount = rng.randrange(100, 100_000)
            old = rng.random() < 0.25
            paid = local(date(2026, 3, 1), 12) + timedelta(days=rng.randrange(150)) if old else moment()
            session.add(
                Order(
                    source="t",
                    external_no=f"{c.id}-{n}",
                    customer_id=c.id,
                    channel=rng.choice(list(OrderChannel)),
                    store_id=rng.choice(stores),
                    staff_id=rng.choice([*staff_ids, None, None]),
                    amount_fen=amount,
                    refund_fen=rng.choice([0, 0, 0, amount, amount // 3]),
                    paid_at=paid,
                )
            )
        for _ in range(rng.randrange(0, 3)):
            store = rng.choice(stores[:3])
            assert store is not None
            session.add(
                StoreVisit(
                    customer_id=c.id,
                    store_id=store,
                    staff_id=rng.choice([*staff_ids, None]),
                    visited_at=moment(),
                )
            )
    for referred in rng.sample(ids, min(25, len(ids) // 2)):
        referrer = rng.choice([i for i in ids if i != referred])
        session.add(Referral(referrer_id=referrer, referred_id=referred, staff_id=None, referred_at=moment()))
    for k in range(160):
        due = moment()
        status = rng.choice([TaskStatus.open, TaskStatus.done, TaskStatus.done, TaskStatus.cancelled])
        done_at = due + timedelta(seconds=rng.choice([-3600, -1, 0, 1, 7200, 3 * 86400])) if status is TaskStatus.done else None  # fmt: skip
        session.add(
            StaffTask(
                kind=rng.choice(TASK_KINDS),
                title=f"task {k}",
                staff_id=rng.choice(staff_ids),
                customer_id=rng.choice([*ids, None]),
                due_at=due,
                status=status,
                done_at=done_at,
            )
        )
    _messages(session, rng, staff_ids, ids)
    # A separate stream, so the rows above stay exactly what they were before insights existed.
    _insights(session, random.Random(seed + 1), staff_ids, ids, stores)
    _incidents(session, random.Random(seed + 2), staff_ids, stores)
    _wecom_snapshots(session, random.Random(seed + 3), staff_ids)
    session.flush()


def _wecom_snapshots(session: Session, rng: random.Random, staff_ids: list[int]) -> None:
    """Daily WeCom behaviour / group snapshots with gaps (missing days), chat-less days and absent rates."""
    fetched = local(WINDOW_LAST, 12)
    for staff_id in staff_ids:
        for n in range((WINDOW_LAST - WINDOW_FIRST).days + 1):
            day = WINDOW_FIRST + timedelta(days=n)
            if rng.random() < 0.15:
                continue  # the sync missed this day
            chats = rng.choice([0, 0, 1, 3, 7])
            session.add(
                WecomBehaviorSnapshot(
                    staff_id=staff_id,
                    day=day,
                    chat_cnt=chats,
                    message_cnt=chats * rng.randrange(1, 6),
                    reply_percentage=rng.choice([None, 50.0, 87.5, 100.0]) if chats else None,
                    avg_reply_time=rng.choice([None, 2, 15, 90]) if chats else None,
                    negative_feedback_cnt=rng.choice([0, 0, 0, 1]),
                    new_apply_cnt=rng.randrange(3),
                    new_contact_cnt=rng.randrange(4),
                    fetched_at=fetched,
                )
            )
            if rng.random() < 0.5:
                session.add(
                    WecomGroupStatSnapshot(
                        staff_id=staff_id, day=day, msg_total=rng.randrange(40), fetched_at=fetched
                    )
                )


def _incidents(session: Session, rng: random.Random, staff_ids: list[int], stores: list[int | None]) -> None:
    """Compliance incidents in every review state, with and without staff, at the edges of local days."""
    edges = [(0, 0, 0), (23, 59, 59), (9, 0, 0), (21, 0, 0), (12, 0, 0)]
    statuses = [
        IncidentStatus.confirmed,
        IncidentStatus.confirmed,
        IncidentStatus.open,
        IncidentStatus.dismissed,
    ]
    for k in range(120):
        day = WINDOW_FIRST + timedelta(days=rng.randrange((WINDOW_LAST - WINDOW_FIRST).days))
        staff_id = rng.choice([*staff_ids, None])
        session.add(
            SensitiveIncident(
                staff_id=staff_id,
                unit_id=rng.choice(stores) if staff_id is None else None,  # set from the staff below
                category=rng.choice(list(ComplianceCategory)),
                detector="keyword",
                rule_key=f"k{k}",
                severity=Severity.medium,
                occurred_at=local(day, *rng.choice(edges)),
                status=rng.choice(statuses),
            )
        )
    session.flush()
    # The incident's unit is the staff member's unit when detected, as the ingest writes it.
    units = {r[0]: r[1] for r in session.execute(select(Staff.id, Staff.unit_id))}
    for incident in session.scalars(select(SensitiveIncident).where(SensitiveIncident.staff_id.is_not(None))):
        incident.unit_id = units[incident.staff_id] if incident.staff_id is not None else None


SNAPSHOT_DAYS = (
    date(2026, 9, 25),
    date(2026, 10, 1),
    date(2026, 10, 15),
    date(2026, 10, 31),
    date(2026, 11, 5),
)
SEGMENTS = ("important_value", "important_keep", "general_retain", "champions", "loyal", "lost", "at_risk")


def _insights(session: Session, rng: random.Random, staff_ids: list[int], ids: list[int], stores: list[int | None]) -> None:  # fmt: skip
    """RFM snapshots on a few computed days and churn warnings in every status, around October."""
    for day in SNAPSHOT_DAYS:
        for cid in ids:
            if rng.random() < 0.7:
                session.add(RfmSnapshot(computed_on=day, customer_id=cid, rfm_segment=rng.choice(SEGMENTS)))
    for _ in range(max(8, len(ids) // 2)):
        warned = WINDOW_FIRST + timedelta(days=rng.randrange((WINDOW_LAST - WINDOW_FIRST).days))
        status = rng.choice(["open", "recalled", "recalled", "expired"])
        session.add(
            ChurnWarning(
                customer_id=rng.choice(ids),
                owner_staff_id=rng.choice([*staff_ids, None]),
                home_store_id=rng.choice(stores),
                warned_on=warned,
                reason=rng.choice(["p_alive", "overdue", "both"]),
                status=status,
                window_ends_on=warned + timedelta(days=30),
                recalled_on=warned + timedelta(days=rng.randrange(1, 31)) if status == "recalled" else None,
            )
        )


def _messages(session: Session, rng: random.Random, staff_ids: list[int], ids: list[int]) -> None:
    """1:1 threads with replies at 0 s … > 24 h, unanswered bursts, and times at the working-hour edges."""
    n = 0
    hours = [(8, 59, 59), (9, 0, 0), (12, 30, 0), (20, 59, 59), (21, 0, 0), (23, 50, 0), (3, 0, 0)]
    delays = [0, 5, 60, 179, 180, 181, 600, 3600, 86399, 86400, 86401, 100_000, None]
    for _ in range(140):
        staff_id, customer_id = rng.choice(staff_ids), rng.choice(ids)
        day = WINDOW_FIRST + timedelta(days=rng.randrange((WINDOW_LAST - WINDOW_FIRST).days))
        at = local(day, *rng.choice(hours))
        thread: list[tuple[MessageDirection, datetime]] = []
        if rng.random() < 0.3:
            thread.append((MessageDirection.staff_to_customer, at - timedelta(minutes=5)))
        thread.append((MessageDirection.customer_to_staff, at))
        if rng.random() < 0.3:
            thread.append((MessageDirection.customer_to_staff, at + timedelta(seconds=30)))
        delay = rng.choice(delays)
        if delay is not None:
            thread.append((MessageDirection.staff_to_customer, at + timedelta(seconds=delay)))
        if rng.random() < 0.2:
            thread.append((MessageDirection.staff_to_group, at + timedelta(seconds=10)))
        for direction, sent in thread:
            n += 1
            session.add(
                ChatMessage(
                    msgid=f"m{n}",
                    sender="x",
                    direction=direction,
                    staff_id=staff_id,
                    customer_id=customer_id,
                    msg_type="text",
                    sent_at=sent,
                )
            )


@dataclass
class Raw:
    """Every row the metrics read, as plain Python values."""

    units: dict[int, str]  # id → path
    staff: dict[int, dict[str, Any]]
    customers: dict[int, dict[str, Any]]
    memberships: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    visits: list[dict[str, Any]]
    referrals: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    wecom_behaviour: list[dict[str, Any]] = field(default_factory=list)
    wecom_groups: list[dict[str, Any]] = field(default_factory=list)

    def subtree(self, unit_id: int) -> set[int]:
        """Ids of the unit and every unit below it."""
        path = self.units[unit_id]
        return {u for u, p in self.units.items() if p.startswith(path)}


def _rows(session: Session, model: Any) -> list[dict[str, Any]]:
    cols = [c.key for c in model.__table__.columns]
    return [{c: getattr(obj, c) for c in cols} for obj in session.scalars(select(model))]


def load(session: Session) -> Raw:
    """Read every raw row back (after a flush)."""
    return Raw(
        units={u.id: u.path for u in session.scalars(select(OrgUnit))},
        staff={r["id"]: r for r in _rows(session, Staff)},
        customers={r["id"]: r for r in _rows(session, Customer)},
        memberships=_rows(session, ChannelMembership),
        orders=_rows(session, Order),
        visits=_rows(session, StoreVisit),
        referrals=_rows(session, Referral),
        tasks=_rows(session, StaffTask),
        messages=_rows(session, ChatMessage),
        snapshots=_rows(session, RfmSnapshot),
        warnings=_rows(session, ChurnWarning),
        incidents=_rows(session, SensitiveIncident),
        wecom_behaviour=_rows(session, WecomBehaviorSnapshot),
        wecom_groups=_rows(session, WecomGroupStatSnapshot),
    )
