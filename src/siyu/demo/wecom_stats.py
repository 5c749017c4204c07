"""Demo WeCom statistics: daily behaviour and group snapshots derived from the demo's own chats and memberships."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.channels.wecom.schemas import WECOM_TZ
from siyu.db.bulk import any_of, insert_if_absent
from siyu.models import (
    ChannelMembership,
    ChatGroup,
    ChatMessage,
    LeaveReason,
    MessageDirection,
    Staff,
    StaffStatus,
    WecomBehaviorSnapshot,
    WecomGroupStatSnapshot,
)
from siyu.models.enums import Channel
from siyu.timeutil import day_start_utc

DAYS = 60


@dataclass(frozen=True, slots=True)
class StatsSeeded:
    """How many snapshot rows were written (rows already present are kept)."""

    staff: int
    behaviour_rows: int
    group_rows: int


def _day(moment: datetime) -> date:
    return moment.astimezone(WECOM_TZ).date()


def _chats(session: Session, staff_ids: list[int], start: datetime, end: datetime) -> dict[tuple[int, date], dict[str, Any]]:  # fmt: skip
    """Per (staff, Beijing day): chats, messages sent, customer-started chats, replied ones, first-reply minutes."""
    c = ChatMessage
    rows = session.execute(
        select(c.staff_id, c.customer_id, c.direction, c.sent_at)
        .where(
            any_of(session, c.staff_id, staff_ids),
            c.customer_id.is_not(None),
            c.group_id.is_(None),
            c.sent_at >= start,
            c.sent_at < end,
        )
        .order_by(c.staff_id, c.customer_id, c.sent_at, c.id)
    ).all()
    # (staff, customer, day) → ordered messages of that 1:1 chat on that day
    threads: dict[tuple[int, int, date], list[tuple[MessageDirection, datetime]]] = defaultdict(list)
    for staff_id, customer_id, direction, sent_at in rows:
        if staff_id is None or customer_id is None:
            continue
        threads[(staff_id, customer_id, _day(sent_at))].append((direction, sent_at))
    out: dict[tuple[int, date], dict[str, Any]] = defaultdict(
        lambda: {"chats": 0, "messages": 0, "started": 0, "replied": 0, "wait_minutes": 0.0}
    )
    for (staff_id, _customer, day), msgs in threads.items():
        stats = out[(staff_id, day)]
        sent = sum(1 for d, _ in msgs if d is MessageDirection.staff_to_customer)
        stats["messages"] += sent
        stats["chats"] += 1 if sent else 0
        if msgs[0][0] is MessageDirection.customer_to_staff:
            stats["started"] += 1
            reply = next((t for d, t in msgs if d is MessageDirection.staff_to_customer), None)
            if reply is not None:
                stats["replied"] += 1
                stats["wait_minutes"] += (reply - msgs[0][1]).total_seconds() / 60
    return out


def _memberships(session: Session, staff_ids: list[int], start: datetime, end: datetime) -> tuple[dict[tuple[int, date], int], dict[tuple[int, date], int]]:  # fmt: skip
    """Per (staff, day): new WeCom memberships, and ones the customer ended (deleted / blocked the member)."""
    m = ChannelMembership
    new: dict[tuple[int, date], int] = defaultdict(int)
    lost: dict[tuple[int, date], int] = defaultdict(int)
    rows = session.execute(
        select(m.staff_id, m.joined_at, m.left_at, m.leave_reason).where(
            m.channel == Channel.wecom,
            any_of(session, m.staff_id, staff_ids),
            ((m.joined_at >= start) & (m.joined_at < end)) | ((m.left_at >= start) & (m.left_at < end)),
        )
    ).all()
    for staff_id, joined, left, reason in rows:
        if staff_id is None:
            continue
        if start <= joined < end:
            new[(staff_id, _day(joined))] += 1
        if left is not None and start <= left < end and reason is LeaveReason.customer_deleted_staff:
            lost[(staff_id, _day(left))] += 1
    return new, lost


def _group_messages(session: Session, staff_ids: list[int], start: datetime, end: datetime) -> dict[tuple[int, date], int]:  # fmt: skip
    """Per (group owner, day): messages in the owner's customer groups."""
    c = ChatMessage
    rows = session.execute(
        select(ChatGroup.owner_staff_id, c.sent_at)
        .join(ChatGroup, ChatGroup.id == c.group_id)
        .where(any_of(session, ChatGroup.owner_staff_id, staff_ids), c.sent_at >= start, c.sent_at < end)
    ).all()
    out: dict[tuple[int, date], int] = defaultdict(int)
    for owner, sent_at in rows:
        if owner is not None:
            out[(owner, _day(sent_at))] += 1
    return out


def seed_behaviour_snapshots(session: Session, as_of: date) -> StatsSeeded:
    """Snapshots for active staff with a WeCom userid over the DAYS days before as_of, from the demo's facts."""
    staff_ids = list(
        session.scalars(
            select(Staff.id).where(Staff.wecom_userid.is_not(None), Staff.status == StaffStatus.active)
        )
    )
    if not staff_ids:
        return StatsSeeded(0, 0, 0)
    days = [as_of - timedelta(days=n) for n in range(DAYS, 0, -1)]
    start, end = day_start_utc(days[0], WECOM_TZ), day_start_utc(as_of, WECOM_TZ)
    chats = _chats(session, staff_ids, start, end)
    new, lost = _memberships(session, staff_ids, start, end)
    groups = _group_messages(session, staff_ids, start, end)
    fetched = end
    behaviour: list[dict[str, Any]] = []
    group_rows: list[dict[str, Any]] = []
    for staff_id in staff_ids:
        for day in days:
            key = (staff_id, day)
            c = chats.get(key)
            started, replied = (c["started"], c["replied"]) if c else (0, 0)
            added = new.get(key, 0)
            behaviour.append(
                {
                    "staff_id": staff_id,
                    "day": day,
                    "chat_cnt": c["chats"] if c else 0,
                    "message_cnt": c["messages"] if c else 0,
                    # WeCom returns a reply rate and time only on days with customer-started chats.
                    "reply_percentage": round(100.0 * replied / started, 2) if started else None,
                    "avg_reply_time": round(c["wait_minutes"] / replied) if c and replied else None,
                    "negative_feedback_cnt": lost.get(key, 0),
                    "new_apply_cnt": added // 3,  # about a third of adds start from the member's own request
                    "new_contact_cnt": added,
                    "fetched_at": fetched,
                }
            )
            if key in groups:
                group_rows.append(
                    {"staff_id": staff_id, "day": day, "msg_total": groups[key], "fetched_at": fetched}
                )
    made = insert_if_absent(session, WecomBehaviorSnapshot.__table__, behaviour, ("id",))  # type: ignore[arg-type]
    made_groups = insert_if_absent(session, WecomGroupStatSnapshot.__table__, group_rows, ("id",))  # type: ignore[arg-type]
    return StatsSeeded(len(staff_ids), len(made), len(made_groups))
