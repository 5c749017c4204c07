"""The demo's WeCom snapshots agree with the demo's own chats and memberships, and a rerun writes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.demo.wecom_stats import DAYS, seed_behaviour_snapshots
from siyu.models import (
    AcquisitionSource,
    ChannelMembership,
    ChatGroup,
    ChatMessage,
    Customer,
    LeaveReason,
    MessageDirection,
    Staff,
    StaffStatus,
    WecomBehaviorSnapshot,
    WecomGroupStatSnapshot,
)
from siyu.models.enums import Channel
from siyu.org.service import create_staff, create_unit

AS_OF = date(2026, 11, 1)
DAY = date(2026, 10, 20)


def bj(day: date, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock time as aware UTC (WeCom cuts its statistics days at Beijing midnight)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def test_snapshots_come_from_the_demo_facts(session: Session) -> None:
    create_unit(session, code="ST", name="Store", kind="store")
    guide = create_staff(session, code="G1", name="导购1", unit_code="ST", wecom_userid="g1")
    create_staff(session, code="G2", name="导购2", unit_code="ST")  # no userid: no snapshots
    gone = create_staff(session, code="G3", name="导购3", unit_code="ST", wecom_userid="g3")
    gone.status = StaffStatus.left
    people = [
        Customer(name=f"C{i}", source=AcquisitionSource.order, first_seen_at=bj(DAY, 0)) for i in range(4)
    ]
    session.add_all(people)
    session.flush()
    a, b, c, d = (p.id for p in people)
    n = 0

    def msg(
        customer: int | None, direction: MessageDirection, at: datetime, group: int | None = None
    ) -> None:
        nonlocal n
        n += 1
        session.add(
            ChatMessage(
                msgid=f"m{n}", sender="x", direction=direction, staff_id=guide.id, customer_id=customer,
                group_id=group, msg_type="text", sent_at=at,
            )
        )  # fmt: skip

    to_c, from_c = MessageDirection.staff_to_customer, MessageDirection.customer_to_staff
    msg(a, from_c, bj(DAY, 10))  # a starts, answered after 30 min with two messages
    msg(a, to_c, bj(DAY, 10, 30))
    msg(a, to_c, bj(DAY, 10, 31))
    msg(b, from_c, bj(DAY, 11))  # b starts, never answered that day
    msg(b, to_c, bj(DAY + timedelta(days=1), 9))
    msg(c, to_c, bj(DAY, 0, 5))  # the guide starts: a chat, not a customer-started one
    msg(d, to_c, bj(DAY, 23, 59) + timedelta(minutes=2))  # after Beijing midnight: the next day
    group = ChatGroup(external_id="wrOwn", name="群", owner_staff_id=guide.id)
    session.add(group)
    session.flush()
    for k in range(3):
        msg(a, from_c, bj(DAY, 12, k), group=group.id)
    for customer, joined, left, reason in (
        (a, bj(DAY, 9), None, None),
        (b, bj(DAY, 9, 30), bj(DAY, 20), LeaveReason.customer_deleted_staff),
        (c, bj(DAY, 9, 40), bj(DAY, 21), LeaveReason.staff_deleted_customer),
        (d, bj(AS_OF, 1), None, None),  # as_of itself is outside the window
    ):
        session.add(
            ChannelMembership(
                customer_id=customer, channel=Channel.wecom, staff_id=guide.id, joined_at=joined,
                left_at=left, leave_reason=reason,
            )
        )  # fmt: skip
    session.flush()

    seeded = seed_behaviour_snapshots(session, AS_OF)
    assert (seeded.staff, seeded.behaviour_rows, seeded.group_rows) == (1, DAYS, 1)
    rows = {r.day: r for r in session.scalars(select(WecomBehaviorSnapshot))}
    assert {r.staff_id for r in rows.values()} == {guide.id}
    assert min(rows) == AS_OF - timedelta(days=DAYS) and max(rows) == AS_OF - timedelta(days=1)
    day = rows[DAY]
    assert (day.chat_cnt, day.message_cnt) == (2, 3)  # chats with a and c (b got no message that day)
    assert day.reply_percentage == 50.0 and day.avg_reply_time == 30  # a answered after 30 min, b not
    assert (day.new_contact_cnt, day.negative_feedback_cnt) == (3, 1)
    following = rows[DAY + timedelta(days=1)]
    assert (following.chat_cnt, following.message_cnt, following.reply_percentage) == (2, 2, None)
    quiet = rows[DAY - timedelta(days=1)]
    assert (quiet.chat_cnt, quiet.reply_percentage, quiet.avg_reply_time) == (0, None, None)
    stats = session.scalars(select(WecomGroupStatSnapshot)).one()
    assert (stats.staff_id, stats.day, stats.msg_total) == (guide.id, DAY, 3)
    assert session.scalar(select(Staff.status).where(Staff.id == gone.id)) is StaffStatus.left

    again = seed_behaviour_snapshots(session, AS_OF)
    assert (again.behaviour_rows, again.group_rows) == (0, 0)
