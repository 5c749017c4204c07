"""Frequency caps: WeCom's month/week/day modes, brand and channel caps, batch counting, brand-local periods."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.journeys.caps import effective_max, period_bounds, period_days
from siyu.journeys.contract import TouchRequest
from siyu.journeys.sending import queue_touches
from siyu.models import FrequencyCap, OutboundMessage
from tests.journeys.send_world import World, build

_n = iter(range(10**9))


def _send(
    session: Session, w: World, customer: int, now: datetime, count: int = 1, **kw: object
) -> list[str]:
    reqs = [
        TouchRequest(
            idempotency_key=f"t{next(_n)}",
            source_type="manual",
            source_id=None,
            channel=str(kw.get("channel", "loopback")),
            script_id=w.script_id,
            customer_id=customer,
            is_marketing=bool(kw.get("is_marketing", True)),
        )
        for _ in range(count)
    ]
    return [o.status for o in queue_touches(session, reqs, now).outcomes]


def _platform(session: Session, period: str, max_touches: int | None = None) -> None:
    session.add(FrequencyCap(code="platform", name="WeCom", period=period, max_touches=max_touches))
    session.flush()


@pytest.mark.parametrize(
    ("day", "days"),
    [(date(2026, 2, 10), 28), (date(2028, 2, 1), 29), (date(2026, 4, 30), 30), (date(2026, 3, 1), 31)],
)
def test_month_allowance_is_days_in_month(day: date, days: int) -> None:
    assert effective_max("month", None, day) == days
    assert effective_max("week", None, day) == 7 and effective_max("day", None, day) == 1
    assert effective_max("month", 4, day) == 4
    first, after = period_days("month", day)
    assert (after - first).days == days


@pytest.mark.parametrize(
    ("month_start", "days"),
    [
        (datetime(2026, 2, 1, tzinfo=UTC), 28),
        (datetime(2026, 4, 1, tzinfo=UTC), 30),
        (datetime(2026, 3, 1, tzinfo=UTC), 31),
    ],
)
def test_default_platform_cap_counts_batch_internal(
    session: Session, month_start: datetime, days: int
) -> None:
    w = build(session)
    now = month_start + timedelta(days=5, hours=3)
    statuses = _send(session, w, w.customer_ids[0], now, count=days + 2)
    assert Counter(statuses) == {"sent": days, "capped": 2}
    reason = session.scalars(select(OutboundMessage.reason).where(OutboundMessage.status == "capped")).first()
    assert reason == f"cap platform: {days} per month"
    # Another customer in the same batch run is unaffected; the next month starts afresh.
    assert _send(session, w, w.customer_ids[1], now) == ["sent"]
    assert _send(session, w, w.customer_ids[0], month_start + timedelta(days=days + 1)) == ["sent"]


def test_history_counts_only_outgoing_marketing_rows(session: Session) -> None:
    w = build(session)
    _platform(session, "day")
    now = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
    c = w.customer_ids[0]
    assert _send(session, w, c, now, is_marketing=False) == ["sent"]  # service messages are not capped
    assert _send(session, w, c, now, channel="staff_task") == ["queued"]  # queued counts
    assert _send(session, w, c, now) == ["capped"]
    assert _send(session, w, c, now) == ["capped"]  # capped rows do not count, still capped by the queued one
    opted = w.opted_out_ids[0]
    assert _send(session, w, opted, now) == ["opted_out"]


def test_week_mode_and_monday_boundary_in_brand_zone(session: Session) -> None:
    w = build(session)
    _platform(session, "week")
    # 2026-03-15 is a Sunday; 16:00 UTC on Sunday is 00:00 Monday 2026-03-16 in Asia/Shanghai.
    sunday_late = datetime(2026, 3, 15, 15, 30, tzinfo=UTC)
    monday_early = datetime(2026, 3, 15, 16, 30, tzinfo=UTC)
    c = w.customer_ids[0]
    assert Counter(_send(session, w, c, sunday_late, count=8)) == {"sent": 7, "capped": 1}
    assert Counter(_send(session, w, c, monday_early, count=8)) == {"sent": 7, "capped": 1}
    start, end = period_bounds("week", monday_early)
    assert start == datetime(2026, 3, 15, 16, 0, tzinfo=UTC) and end - start == timedelta(days=7)


def test_day_mode_brand_local_midnight(session: Session) -> None:
    w = build(session)
    _platform(session, "day")
    c = w.customer_ids[0]
    assert _send(session, w, c, datetime(2026, 3, 10, 15, 59, tzinfo=UTC)) == ["sent"]  # 23:59 local
    assert _send(session, w, c, datetime(2026, 3, 10, 16, 1, tzinfo=UTC)) == ["sent"]  # 00:01 next local day
    assert _send(session, w, c, datetime(2026, 3, 11, 15, 0, tzinfo=UTC)) == ["capped"]  # same local day


def test_month_boundary_is_brand_local(session: Session) -> None:
    w = build(session)
    c = w.customer_ids[0]
    # 2026-03-31 16:30 UTC is already 1 April in Shanghai: March's allowance no longer applies.
    assert Counter(_send(session, w, c, datetime(2026, 3, 31, 15, 0, tzinfo=UTC), count=32)) == {
        "sent": 31,
        "capped": 1,
    }
    assert _send(session, w, c, datetime(2026, 3, 31, 16, 30, tzinfo=UTC)) == ["sent"]


def test_brand_and_channel_caps_stack(session: Session) -> None:
    w = build(session)
    session.add_all(
        [
            FrequencyCap(code="brand_week", name="品牌每周", period="week", max_touches=3),
            FrequencyCap(code="loop_day", name="回环每天", period="day", max_touches=1, channel="loopback"),
            FrequencyCap(code="off", name="停用", period="day", max_touches=0, enabled=False),
        ]
    )
    session.flush()
    c = w.customer_ids[0]
    now = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
    assert _send(session, w, c, now, count=2) == ["sent", "capped"]
    reasons = session.scalars(select(OutboundMessage.reason).where(OutboundMessage.status == "capped")).all()
    assert reasons == ["cap loop_day: 1 per day on loopback"]
    assert _send(session, w, c, now, count=3, channel="staff_task") == ["queued", "queued", "capped"]
    assert (
        session.scalars(
            select(OutboundMessage.reason)
            .where(OutboundMessage.status == "capped")
            .order_by(OutboundMessage.id.desc())
        ).first()
        == "cap brand_week: 3 per week"
    )


def test_groups_have_the_platform_quota_but_no_brand_caps(session: Session) -> None:
    w = build(session)
    _platform(session, "week")
    session.add(FrequencyCap(code="brand_day", name="品牌每天", period="day", max_touches=1))
    session.flush()
    now = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)
    reqs = [
        TouchRequest(f"g{i}", "manual", None, "loopback", w.script_id, group_id=w.group_id) for i in range(9)
    ]
    statuses = [o.status for o in queue_touches(session, reqs, now).outcomes]
    assert Counter(statuses) == {
        "sent": 7,
        "capped": 2,
    }  # WeCom: 7 a week per group; the brand's 1/day is per customer
    # The group's touches do not use up its members' allowance, nor the reverse.
    assert _send(session, w, w.customer_ids[0], now) == ["sent"]
