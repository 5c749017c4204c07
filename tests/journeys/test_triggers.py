"""Trigger scans: each kind enrols exactly the new hits since the watermark, once, checked by brute force."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.journeys import definition_service as service
from siyu.journeys.definition_schemas import JourneyCreate
from siyu.journeys.triggers import scan_triggers
from siyu.models import ChatGroup, ChurnWarning, Customer, JourneyEnrolment, JourneyStepRun, Order
from siyu.models.enums import Channel, OrderChannel
from siyu.models.journeys import JourneyStatus
from siyu.org.permissions import SYSTEM_ACTOR
from tests.journeys.j2_world import T0, J2World, build, definition, event, join


def _journey(session: Session, w: J2World, code: str, now: Any = T0, **trigger: Any) -> int:
    raw = definition(w.scripts["approved"], **trigger)
    journey, _ = service.create_journey(
        session, SYSTEM_ACTOR, JourneyCreate(code=code, name=code, definition=raw)
    )
    service.change_status(session, SYSTEM_ACTOR, journey.id, JourneyStatus.active, now=now)
    return journey.id


def _enrolled(session: Session, journey_id: int) -> list[tuple[int, str]]:
    rows = session.execute(
        select(JourneyEnrolment.customer_id, JourneyEnrolment.entry_key).where(
            JourneyEnrolment.journey_id == journey_id
        )
    ).all()
    return sorted((int(c), k) for c, k in rows)


def test_join_triggers_respect_channel_group_code_and_watermark(session: Session) -> None:
    w = build(session)
    c = w.customers
    join(session, c[0], T0 - timedelta(hours=1))  # before activation: history, not a hit
    wecom = _journey(session, w, "wecom", kind="joined_channel", channel="wecom")
    group = ChatGroup(external_id="g1", name="会员群")
    session.add(group)
    session.flush()
    grouped = _journey(session, w, "group", kind="joined_group", group_id=group.id)
    coded = _journey(session, w, "code", kind="channel_code", channel_code="store-7")
    join(session, c[1], T0 + timedelta(minutes=1))
    join(session, c[2], T0 + timedelta(minutes=2), Channel.group, group_id=group.id)
    join(session, c[3], T0 + timedelta(minutes=3), channel_code="store-7")
    join(session, c[4], T0 + timedelta(minutes=4), channel_code="store-8")
    counts = scan_triggers(session, T0 + timedelta(minutes=5))
    assert counts["enrolled"] == 5 and counts["journeys"] == 3
    assert [x for x, _ in _enrolled(session, wecom)] == [c[1], c[3], c[4]]
    assert [x for x, _ in _enrolled(session, grouped)] == [c[2]]
    assert [x for x, _ in _enrolled(session, coded)] == [c[3]]
    # The first step is scheduled for each enrolment, due at entry (delay 0).
    runs = session.scalars(select(JourneyStepRun).where(JourneyStepRun.journey_id == wecom)).all()
    assert len(runs) == 3 and {r.step_index for r in runs} == {0}
    again = scan_triggers(session, T0 + timedelta(minutes=6))
    assert again["hits"] == 0 and len(_enrolled(session, wecom)) == 3


def test_tag_and_first_order(session: Session) -> None:
    w = build(session)
    c = w.customers
    session.add(
        Order(
            source="t",
            external_no="old",
            customer_id=c[0],
            channel=OrderChannel.store,
            amount_fen=100,
            paid_at=T0 - timedelta(days=3),
        )
    )
    event(session, "ordered", c[0], T0 - timedelta(days=3), subject_type="order")
    tagged = _journey(session, w, "tag", kind="tag_added", tag_id=w.tags[0])
    first = _journey(session, w, "first", kind="first_order")
    event(session, "tagged", c[1], T0 + timedelta(minutes=1), subject_type="tag", subject_id=w.tags[0])
    event(session, "tagged", c[2], T0 + timedelta(minutes=1), subject_type="tag", subject_id=w.tags[1])
    for who in (c[0], c[3], c[3]):  # c0 ordered before; c3 orders twice
        event(session, "ordered", who, T0 + timedelta(minutes=2), subject_type="order")
    scan_triggers(session, T0 + timedelta(minutes=5))
    assert [x for x, _ in _enrolled(session, tagged)] == [c[1]]
    assert _enrolled(session, first) == [(c[3], "first_order")]


def test_birthday_no_order_days_and_churn(session: Session) -> None:
    w = build(session)
    c = w.customers
    today = date(2026, 11, 20)  # T0 is 10:00 brand-local on this day
    session.execute(update(Customer).where(Customer.id.in_(c[:2])).values(birthday=date(1990, 11, 20)))
    session.execute(update(Customer).where(Customer.id == c[2]).values(birthday=date(1990, 11, 21)))
    session.add(
        Order(
            source="t",
            external_no="o1",
            customer_id=c[4],
            channel=OrderChannel.store,
            amount_fen=100,
            paid_at=T0 - timedelta(days=30),
        )
    )
    session.add(
        Order(
            source="t",
            external_no="o2",
            customer_id=c[5],
            channel=OrderChannel.store,
            amount_fen=100,
            paid_at=T0 - timedelta(days=29),
        )
    )
    session.flush()
    birthday = _journey(session, w, "bday", kind="birthday")
    lapsed = _journey(session, w, "lapsed", kind="no_order_days", days=30)
    churn = _journey(session, w, "churn", kind="churn_warning")
    session.add(
        ChurnWarning(
            customer_id=c[6],
            warned_on=today,
            reason="p_alive",
            status="open",
            window_ends_on=today + timedelta(days=30),
        )
    )
    session.flush()
    scan_triggers(session, T0)
    assert _enrolled(session, birthday) == [(c[0], "birthday:2026"), (c[1], "birthday:2026")]
    # Never-ordered customers first seen exactly 30 days ago count too (the world's customers are).
    never = [x for x in c if x not in (c[4], c[5])]
    assert [x for x, _ in _enrolled(session, lapsed)] == sorted([c[4], *never])
    assert [x for x, _ in _enrolled(session, churn)] == [c[6]]
    # The same day again: nothing new; the next day: c2's birthday.
    assert scan_triggers(session, T0 + timedelta(hours=1))["hits"] == 0
    scan_triggers(session, T0 + timedelta(days=1))
    assert [x for x, _ in _enrolled(session, birthday)] == [c[0], c[1], c[2]]
    assert c[5] in [x for x, _ in _enrolled(session, lapsed)]


def test_entered_segment_baseline_then_new_members(session: Session) -> None:
    w = build(session)
    outsider = w.customers[-1]
    session.execute(update(Customer).where(Customer.id == outsider).values(marketing_opt_in=False))
    seg = _journey(session, w, "seg", kind="entered_segment", segment_id=w.segment_id)
    assert scan_triggers(session, T0)["hits"] == 0  # the baseline: members already in do not enrol
    session.execute(update(Customer).where(Customer.id == outsider).values(marketing_opt_in=True))
    scan_triggers(session, T0 + timedelta(minutes=10))
    assert [x for x, _ in _enrolled(session, seg)] == [outsider]
    assert scan_triggers(session, T0 + timedelta(minutes=20))["hits"] == 0
