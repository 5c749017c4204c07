"""Recall tracking: open churn warnings become recalled (a counted order within the window) or expired.

A warning issued on day W with window end E is recalled by the first counted order (refund_fen <
amount_fen) paid on a brand-local day W + 1 … E (orders of day W were already known when it was issued);
recalled_order_id and recalled_on record it. It expires once E ≤ as_of with no such order. An expired
warning is checked again for LATE_DAYS days, so an order imported late still turns it into a recall.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, case, cast, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from siyu.insights.contract import ChurnSettings
from siyu.models import Order
from siyu.models.insights import ChurnWarning
from siyu.timeutil import brand_zone, day_start_utc

LATE_DAYS = 7


def _offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(UTC instant from which, UTC offset in seconds) over [start, end], scanned hourly for DST changes."""
    moment = start - timedelta(hours=1)
    offset = int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
    out = [(moment, offset)]
    while moment <= end:
        moment += timedelta(hours=1)
        now = int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
        if now != offset:
            out.append((moment, now))
            offset = now
    return out


def local_day(dialect: str, column: Any, zone: ZoneInfo, start: datetime, end: datetime) -> Any:
    """The brand-local date of a UTC timestamp column, exact for values in [start, end]."""
    if dialect == "postgresql":
        return cast(func.timezone(zone.key, column), Date)
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC and has no zone data: shift by the offset in force.
    segments = _offsets(zone, start, end)
    if len(segments) == 1:
        return func.date(column, f"{segments[0][1]:+d} seconds")
    whens = [(column < at, f"{prev:+d} seconds") for (_, prev), (at, _) in pairwise(segments)]  # fmt: skip
    return func.date(column, case(*whens, else_=f"{segments[-1][1]:+d} seconds"))


def track_recalls(session: Session, as_of: date, settings: ChurnSettings) -> dict[str, int]:
    """Mark open (and lately expired) warnings recalled or expired as of the end of as_of; set-based."""
    cw = ChurnWarning
    checked = or_(
        cw.status == "open",
        and_(cw.status == "expired", cw.window_ends_on >= as_of - timedelta(days=LATE_DAYS)),
    )
    first = session.scalar(select(func.min(cw.warned_on)).where(checked))
    recalled = 0
    if first is not None and first < as_of:
        zone = brand_zone()
        lo, hi = (
            day_start_utc(first + timedelta(days=1), zone),
            day_start_utc(as_of + timedelta(days=1), zone),
        )
        dialect = session.get_bind().dialect.name
        o = aliased(Order)
        day = local_day(dialect, o.paid_at, zone, lo, hi)
        first_order = (
            select(o.id)
            .where(
                o.customer_id == cw.customer_id,
                o.refund_fen < o.amount_fen,
                o.paid_at >= lo,
                o.paid_at < hi,
                day > cw.warned_on,
                day <= cw.window_ends_on,
            )
            .order_by(o.paid_at, o.id)
            .limit(1)
            .scalar_subquery()
        )
        result = session.execute(
            update(cw)
            .where(checked, first_order.is_not(None))
            .values(status="recalled", recalled_order_id=first_order),
            execution_options={"synchronize_session": False},
        )
        recalled = int(getattr(result, "rowcount", 0) or 0)
        if recalled:
            paid_day = select(day).where(o.id == cw.recalled_order_id).scalar_subquery()
            session.execute(
                update(cw)
                .where(cw.status == "recalled", cw.recalled_on.is_(None), cw.recalled_order_id.is_not(None))
                .values(recalled_on=paid_day),
                execution_options={"synchronize_session": False},
            )
    result = session.execute(
        update(cw).where(cw.status == "open", cw.window_ends_on <= as_of).values(status="expired"),
        execution_options={"synchronize_session": False},
    )
    return {"recalled": recalled, "expired": int(getattr(result, "rowcount", 0) or 0)}
