"""Trigger scans: for each active journey, the new hits since its watermark, enrolled through enrolment.enrol.

Watermarks (journeys.trigger_watermark): event-driven kinds keep the last scanned events.id; churn_warning
the last churn_warnings.id; birthday and no_order_days the ordinal of the last brand-local day processed;
entered_segment keeps the members seen at the last scan in journey_segment_members (None = take a baseline).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, delete, exists, extract, func, or_, select
from sqlalchemy.orm import Session, aliased

from siyu.db.bulk import insert_rows
from siyu.db.types import utcnow
from siyu.events import settled_event_id
from siyu.journeys.contract import EnrolRequest, JourneyDefinition, Trigger
from siyu.journeys.definition_check import parse_definition
from siyu.journeys.enrolment import enrol
from siyu.models import (
    ChannelMembership,
    Customer,
    Event,
    Journey,
    JourneySegmentMember,
    JourneyVersion,
    Order,
)
from siyu.models.insights import ChurnWarning
from siyu.models.journeys import JourneyStatus
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.timeutil import day_start_utc, local_date

log = logging.getLogger(__name__)

JOIN_KINDS = ("joined_channel", "joined")  # demo/history write joined_channel, the customer import joined
EVENT_DRIVEN = frozenset({"joined_channel", "joined_group", "channel_code", "tag_added", "first_order"})
DAY_DRIVEN = frozenset({"birthday", "no_order_days"})
CATCH_UP_DAYS = 7  # a scanner down for longer does not fire a month of birthdays at once
BATCH = 20000


def start_watermark(session: Session, journey: Journey, trigger: Trigger, now: datetime) -> None:
    """Point the journey's scan at 'now' on (re)activation: history and time spent paused do not enrol."""
    if trigger.kind == "churn_warning":
        journey.trigger_watermark = session.scalar(select(func.max(ChurnWarning.id))) or 0
    elif trigger.kind in DAY_DRIVEN:
        journey.trigger_watermark = local_date(now).toordinal() - 1  # today is still to be processed
    elif trigger.kind == "entered_segment":
        journey.trigger_watermark = None  # the next scan records who is already in as the baseline
    else:
        journey.trigger_watermark = session.scalar(select(func.max(Event.id))) or 0
    journey.trigger_checked_at = now


def _since(not_before: datetime | None) -> list[Any]:
    """The SQL form of not_before: filtered in the scan, not after reading every event of the range."""
    return [] if not_before is None else [Event.occurred_at >= not_before]


def _join_hits(
    session: Session, t: Trigger, low: int, high: int, not_before: datetime | None = None
) -> list[EnrolRequest]:
    m = ChannelMembership
    rows = session.execute(
        select(
            Event.id,
            Event.customer_id,
            Event.staff_id,
            Event.occurred_at,
            Event.data,
            m.channel,
            m.group_id,
            m.channel_code,
        )
        .outerjoin(m, and_(Event.subject_type == "channel_membership", m.id == Event.subject_id))
        .where(
            Event.id > low,
            Event.id <= high,
            Event.kind.in_(JOIN_KINDS),
            Event.customer_id.is_not(None),
            *_since(not_before),
        )
        .order_by(Event.id)
    ).all()
    out = []
    for r in rows:
        data: dict[str, Any] = r.data if isinstance(r.data, dict) else {}
        channel = r.channel.value if r.channel is not None else data.get("channel")
        if t.kind == "joined_channel":
            hit = t.channel is None or channel == t.channel
        elif t.kind == "joined_group":
            group = r.group_id if r.group_id is not None else data.get("group_id")
            hit = (group is not None or channel == "group") and (t.group_id is None or group == t.group_id)
        else:  # channel_code: the code's state string, on the membership or in the event
            code = r.channel_code or data.get("channel_code") or data.get("state")
            hit = code is not None and (t.channel_code is None or code == t.channel_code)
        if hit:
            out.append(EnrolRequest(r.customer_id, f"event:{r.id}", r.occurred_at, r.staff_id))
    return out


def _tag_hits(
    session: Session, t: Trigger, low: int, high: int, not_before: datetime | None = None
) -> list[EnrolRequest]:
    rows = session.execute(
        select(Event.id, Event.customer_id, Event.staff_id, Event.occurred_at).where(
            Event.id > low,
            Event.id <= high,
            Event.kind == "tagged",
            Event.subject_type == "tag",
            Event.subject_id == t.tag_id,
            Event.customer_id.is_not(None),
            *_since(not_before),
        )
    ).all()
    return [EnrolRequest(r.customer_id, f"event:{r.id}", r.occurred_at, r.staff_id) for r in rows]


def _first_order_hits(
    session: Session, low: int, high: int, not_before: datetime | None = None
) -> list[EnrolRequest]:
    earlier = aliased(Event)
    before = exists().where(
        earlier.kind == "ordered",
        earlier.customer_id == Event.customer_id,
        or_(
            earlier.occurred_at < Event.occurred_at,
            and_(earlier.occurred_at == Event.occurred_at, earlier.id < Event.id),
        ),
    )
    rows = session.execute(
        select(Event.customer_id, Event.staff_id, Event.occurred_at).where(
            Event.id > low,
            Event.id <= high,
            Event.kind == "ordered",
            Event.customer_id.is_not(None),
            *_since(not_before),
            ~before,
        )
    ).all()
    # One key per customer: the first order happens once, whatever the reentry policy.
    return [EnrolRequest(r.customer_id, "first_order", r.occurred_at, r.staff_id) for r in rows]


def _event_hits(
    session: Session, journey: Journey, t: Trigger, top: int, not_before: datetime | None = None
) -> tuple[list[EnrolRequest], int]:
    low = journey.trigger_watermark or 0
    high = min(top, low + BATCH * 10)  # bounded work per scan; the next scan continues
    if high <= low:
        return [], low
    if t.kind == "tag_added":
        return _tag_hits(session, t, low, high, not_before), high
    if t.kind == "first_order":
        return _first_order_hits(session, low, high, not_before), high
    return _join_hits(session, t, low, high, not_before), high


def _churn_hits(session: Session, journey: Journey) -> tuple[list[EnrolRequest], int]:
    low = journey.trigger_watermark or 0
    rows = session.execute(
        select(ChurnWarning.id, ChurnWarning.customer_id, ChurnWarning.owner_staff_id, ChurnWarning.warned_on)
        .where(ChurnWarning.id > low)
        .order_by(ChurnWarning.id)
        .limit(BATCH)
    ).all()
    now = utcnow()
    out = [
        EnrolRequest(r.customer_id, f"churn:{r.id}", _entered(r.warned_on, now), r.owner_staff_id)
        for r in rows
    ]
    return out, max((r.id for r in rows), default=low)


def _birthday_hits(session: Session, day: date, now: datetime) -> list[EnrolRequest]:
    month_day = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not _leap(day.year):
        month_day.append((2, 29))  # a 29 February birthday is kept on the 28th in common years
    matches = or_(
        *(
            and_(extract("month", Customer.birthday) == m, extract("day", Customer.birthday) == d)
            for m, d in month_day
        )
    )
    rows = session.execute(
        select(Customer.id, Customer.owner_staff_id).where(
            Customer.birthday.is_not(None), Customer.merged_into_id.is_(None), matches
        )
    ).all()
    entered = _entered(day, now)
    return [EnrolRequest(r.id, f"birthday:{day.year}", entered, r.owner_staff_id) for r in rows]


def _entered(day: date, now: datetime) -> datetime:
    # Today's hits enter now; a caught-up past day's hits enter at that day's brand-local start.
    return now if day >= local_date(now) else day_start_utc(day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _no_order_hits(session: Session, day: date, days: int, now: datetime) -> list[EnrolRequest]:
    start, end = day_start_utc(day - timedelta(days=days)), day_start_utc(day - timedelta(days=days - 1))
    counted = and_(Order.refund_fen < Order.amount_fen, Order.paid_at <= now)
    last = (
        select(Order.customer_id, func.max(Order.paid_at).label("last_paid"))
        .where(counted)
        .group_by(Order.customer_id)
        .subquery()
    )
    lapsed = select(last.c.customer_id).where(last.c.last_paid >= start, last.c.last_paid < end)
    never = select(Customer.id).where(
        Customer.first_seen_at >= start,
        Customer.first_seen_at < end,
        ~exists().where(Order.customer_id == Customer.id, counted),
    )
    rows = session.execute(
        select(Customer.id, Customer.owner_staff_id).where(
            Customer.merged_into_id.is_(None), or_(Customer.id.in_(lapsed), Customer.id.in_(never))
        )
    ).all()
    entered = _entered(day, now)
    return [EnrolRequest(r.id, f"no_order:{days}:{day.isoformat()}", entered, r.owner_staff_id) for r in rows]


def _day_hits(
    session: Session, journey: Journey, t: Trigger, now: datetime
) -> tuple[list[EnrolRequest], int]:
    today = local_date(now)
    last = journey.trigger_watermark or today.toordinal() - 1
    first = max(last + 1, today.toordinal() - CATCH_UP_DAYS + 1)
    out: list[EnrolRequest] = []
    for ordinal in range(first, today.toordinal() + 1):
        day = date.fromordinal(ordinal)
        if t.kind == "birthday":
            out += _birthday_hits(session, day, now)
        else:
            out += _no_order_hits(session, day, int(t.days or 0), now)
    return out, max(last, today.toordinal())


def _segment_hits(session: Session, journey: Journey, t: Trigger, now: datetime) -> list[EnrolRequest]:
    from siyu.segments.compiler import compile_ids
    from siyu.segments.service import current_rule

    _segment, rule = current_rule(session, int(t.segment_id or 0))
    current = compile_ids(rule, SYSTEM_ACTOR, now).subquery()
    s = JourneySegmentMember
    baseline = journey.trigger_watermark is None
    new_ids = list(
        session.scalars(
            select(current.c.id).where(
                ~exists().where(s.journey_id == journey.id, s.customer_id == current.c.id)
            )
        )
    )
    session.execute(delete(s).where(s.journey_id == journey.id, s.customer_id.not_in(select(current.c.id))))
    table = cast(Table, s.__table__)
    insert_rows(
        session, table, ("customer_id",), [(c,) for c in new_ids], constants={"journey_id": journey.id}
    )
    journey.trigger_watermark = 0
    if baseline:
        return []
    key = f"segment:{t.segment_id}:{now.strftime('%Y%m%dT%H%M%S')}"
    return [EnrolRequest(c, key, now) for c in new_ids]


def hits_for(
    session: Session,
    journey: Journey,
    definition: JourneyDefinition,
    now: datetime,
    top: int,
    not_before: datetime | None = None,
) -> list[EnrolRequest]:
    """The new trigger hits of one journey since its watermark; advances the watermark."""
    t = definition.trigger
    if t.kind in EVENT_DRIVEN:
        hits, journey.trigger_watermark = _event_hits(session, journey, t, top, not_before)
    elif t.kind == "churn_warning":
        hits, journey.trigger_watermark = _churn_hits(session, journey)
    elif t.kind in DAY_DRIVEN:
        hits, journey.trigger_watermark = _day_hits(session, journey, t, now)
    elif t.kind == "entered_segment":
        hits = _segment_hits(session, journey, t, now)
    else:  # manual: only by hand
        hits = []
    journey.trigger_checked_at = now
    return hits


def _definitions(session: Session, journeys: Sequence[Journey]) -> dict[int, JourneyDefinition]:
    if not journeys:
        return {}
    rows = session.execute(
        select(JourneyVersion.journey_id, JourneyVersion.version, JourneyVersion.definition).where(
            JourneyVersion.journey_id.in_([j.id for j in journeys])
        )
    ).all()
    current = {j.id: j.current_version for j in journeys}
    return {r.journey_id: parse_definition(r.definition) for r in rows if current[r.journey_id] == r.version}


def scan_triggers(
    session: Session,
    now: datetime | None = None,
    journey_ids: Iterable[int] | None = None,
    not_before: datetime | None = None,
) -> dict[str, int]:
    """Enrol every active journey's new trigger hits; returns counts (journeys, hits, and enrol's counts).

    not_before drops hits that entered earlier (a backfill whose event ids are not in time order).
    """
    now = now or utcnow()
    query = select(Journey).where(Journey.status == JourneyStatus.active).order_by(Journey.id)
    if journey_ids is not None:
        query = query.where(Journey.id.in_(list(journey_ids)))
    # Lock the active journeys' rows on PostgreSQL so two workers never scan the same watermark twice.
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    journeys = list(session.scalars(query))
    definitions = _definitions(session, journeys)
    # Event-driven journeys read only settled ids (see siyu.events), from the lowest of their watermarks.
    lows = [j.trigger_watermark or 0 for j in journeys if definitions[j.id].trigger.kind in EVENT_DRIVEN]
    top = settled_event_id(session, min(lows)) if lows else 0
    counts = {"journeys": len(journeys), "hits": 0}
    for journey in journeys:
        hits = hits_for(session, journey, definitions[journey.id], now, top, not_before)
        if not_before is not None:
            hits = [h for h in hits if h.entered_at >= not_before]
        counts["hits"] += len(hits)
        for key, n in enrol(session, journey.id, hits, now).items():
            counts[key] = counts.get(key, 0) + n
    session.flush()
    if counts["hits"]:
        log.info("journey triggers: %s", counts)
    return counts


def trigger_job(session: Session) -> dict[str, int]:
    """The worker job journeys.scan_triggers: scan triggers, then exit rules."""
    from siyu.journeys.exits import scan_exits

    counts = scan_triggers(session)
    counts.update({f"exit_{k}": v for k, v in scan_exits(session).items()})
    return counts
