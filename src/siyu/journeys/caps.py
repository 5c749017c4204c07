"""Frequency caps on marketing touches per customer, counted in brand-local calendar periods.

WeCom's own rule (DOC/92135, see /work/shared/wecom-integration.md §5.3): each customer receives at most as
many mass messages per calendar month as the month has days; the admin can switch it to 7 per week or
1 per day. The "platform" cap mirrors that setting; brands add their own, stricter caps.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from siyu.db.bulk import any_of
from siyu.models import FrequencyCap, OutboundMessage
from siyu.models.journeys import SendStatus
from siyu.timeutil import brand_zone, day_start_utc, local_date

PERIODS = ("day", "week", "month")
PLATFORM = "platform"
# Rows in these states went (or are going) out, so they use up the customer's allowance.
COUNTED = (SendStatus.queued, SendStatus.sent, SendStatus.confirmed)
_CHUNK = 5000


def member_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """column IN values as one parameter (siyu.db.bulk.any_of; the name is kept for callers)."""
    return any_of(session, column, values)


@dataclass(frozen=True, slots=True)
class CapRule:
    """An enabled cap as applied: code, name, period, max (None = the WeCom default for the period), channel."""

    code: str
    name: str
    period: str
    max_touches: int | None
    channel: str | None = None

    def limit(self, day: date) -> int:
        """The allowance in the period containing the brand-local day."""
        return effective_max(self.period, self.max_touches, day)

    def applies_to(self, channel: str) -> bool:
        """Whether touches through this channel count against the cap."""
        return self.channel is None or self.channel == channel

    def label(self, day: date) -> str:
        """A reason text naming the cap, e.g. "cap platform: 30 per month"."""
        where = f" on {self.channel}" if self.channel else ""
        return f"cap {self.code}: {self.limit(day)} per {self.period}{where}"


PLATFORM_DEFAULT = CapRule(PLATFORM, "WeCom platform limit", "month", None)


def effective_max(period: str, max_touches: int | None, day: date) -> int:
    """max_touches, or WeCom's default for the period: the days of the month, 7 a week, 1 a day."""
    if max_touches is not None:
        return max_touches
    if period == "month":
        return calendar.monthrange(day.year, day.month)[1]
    return 7 if period == "week" else 1


def period_days(period: str, day: date) -> tuple[date, date]:
    """First day and the day after the last of the brand-local period containing day (weeks start Monday)."""
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        return start, start + timedelta(days=calendar.monthrange(day.year, day.month)[1])
    raise ValueError(f"unknown cap period {period!r}; known: {', '.join(PERIODS)}")


def period_bounds(period: str, now: datetime, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """Half-open UTC range of the brand-local period containing now."""
    zone = zone or brand_zone()
    first, after = period_days(period, local_date(now, zone))
    return day_start_utc(first, zone), day_start_utc(after, zone)


def load_caps(session: Session) -> list[CapRule]:
    """Enabled caps; the platform cap defaults to WeCom's monthly rule when no row configures it."""
    rows = session.execute(
        select(
            FrequencyCap.code,
            FrequencyCap.name,
            FrequencyCap.period,
            FrequencyCap.max_touches,
            FrequencyCap.channel,
            FrequencyCap.enabled,
        ).order_by(FrequencyCap.id)
    ).all()
    caps: list[CapRule] = []
    platform_seen = False
    for code, name, period, max_touches, channel, enabled in rows:
        platform_seen = platform_seen or code == PLATFORM
        if enabled:
            caps.append(CapRule(code, name, period, max_touches, channel))
    if not platform_seen:
        caps.insert(0, PLATFORM_DEFAULT)
    return caps


def used_counts(
    session: Session,
    customer_ids: Iterable[int],
    caps: Sequence[CapRule],
    now: datetime,
    zone: ZoneInfo | None = None,
    *,
    per_group: bool = False,
) -> dict[int, list[int]]:
    """Per customer (or per group: ids are group ids), the marketing touches counted in each cap's current period."""
    ids = sorted(set(customer_ids))
    if not ids or not caps:
        return {}
    zone = zone or brand_zone()
    bounds = [period_bounds(c.period, now, zone) for c in caps]
    earliest = min(b[0] for b in bounds)
    msg = OutboundMessage
    columns = []
    for cap, (start, end) in zip(caps, bounds, strict=True):
        cond: list[ColumnElement[bool]] = [msg.created_at >= start, msg.created_at < end]
        if cap.channel is not None:
            cond.append(msg.channel == cap.channel)
        columns.append(func.sum(case((and_(*cond), 1), else_=0)))
    key = msg.group_id if per_group else msg.customer_id
    # A group's touches are the ones sent to the group itself, not to its members one by one.
    extra = [msg.customer_id.is_(None)] if per_group else []
    out: dict[int, list[int]] = {}
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        rows = session.execute(
            select(key, *columns)
            .where(
                member_of(session, key, chunk),
                msg.created_at >= earliest,
                msg.is_marketing.is_(True),
                msg.status.in_(COUNTED),
                *extra,
            )
            .group_by(key)
        ).all()
        for row in rows:
            out[int(row[0])] = [int(v or 0) for v in row[1:]]
    return out
