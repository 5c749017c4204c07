"""Reading the leaderboard: sums of the daily counters over a period for the staff of a unit, ranked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from siyu.errors import Invalid, NotFound
from siyu.models import LeaderboardCounter, LeaderboardWatermark, OrgUnit, Staff, StaffStatus
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor
from siyu.performance.contract import Period, PeriodKind
from siyu.performance.leaderboard import COUNTED, WATERMARK

# Metrics a leaderboard can rank: the counters, and ratios of two counters.
RATIOS = {"avg_order_value": ("gmv", "orders")}
METRICS = ("gmv", "orders", "avg_order_value", "new_contacts", "tasks_done")
PERIOD_KINDS = (PeriodKind.day, PeriodKind.week, PeriodKind.month, PeriodKind.quarter)


@dataclass(frozen=True)
class BoardRow:
    """One staff member's place; rank None when the value is undefined (a ratio over nothing)."""

    rank: int | None
    staff_id: int
    staff_code: str
    staff_name: str
    unit_name: str
    value: int | float | None
    numerator: int | None = None
    denominator: int | None = None


@dataclass(frozen=True)
class Board:
    """A ranked leaderboard for one metric, unit subtree and period."""

    metric: str
    period: Period
    unit_id: int | None
    unit_name: str | None
    rows: list[BoardRow]
    last_event_id: int
    updated_at: datetime | None


def default_day(session: Session, today: date) -> date:
    """today, or the last day with any counted activity when nothing happened since (a quiet or demo brand)."""
    # Primary-key order makes max(day) one index probe.
    last = session.scalar(select(func.max(LeaderboardCounter.day)))
    return min(today, last) if last is not None else today


def make_period(kind: str, day: date) -> Period:
    """The day/week/month/quarter containing day."""
    try:
        period_kind = PeriodKind(kind)
    except ValueError:
        raise Invalid(f"period: {kind!r} is not one of day, week, month, quarter") from None
    if period_kind not in PERIOD_KINDS:
        raise Invalid(f"period: {kind!r} is not one of day, week, month, quarter")
    period: Period = getattr(Period, period_kind.value)(day)
    return period


def check_metric(metric: str) -> str:
    """metric if a leaderboard can rank it, else Invalid naming the choices."""
    if metric not in METRICS:
        raise Invalid(f"metric: {metric!r} has no leaderboard; choose one of {', '.join(METRICS)}")
    return metric


def staff_in_scope(session: Session, actor: Actor, unit_id: int | None) -> tuple[Select[Any], OrgUnit | None]:
    """Subquery of the staff ids a leaderboard covers: staff of readable units, optionally within one unit's subtree."""
    # Leaderboards rank colleagues, so they follow the units one may read (a guide sees their own store).
    query = select(Staff.id).join(OrgUnit, OrgUnit.id == Staff.unit_id).where(org_repo.readable_units(actor))
    unit = None
    if unit_id is not None:
        unit = org_repo.get_unit(session, actor, unit_id)
        if unit is None:
            raise NotFound(f"org unit {unit_id} does not exist or is outside your data scope")
        query = query.where(OrgUnit.path.startswith(unit.path, autoescape=True))
    return query, unit


def counter_sums(
    session: Session,
    metrics: Sequence[str],
    period: Period,
    staff: Select[Any] | ColumnElement[bool] | None,
) -> dict[str, dict[int, int]]:
    """metric → staff id → sum of the daily counters over period (one GROUP BY)."""
    c = LeaderboardCounter
    query = (
        select(c.metric, c.staff_id, func.sum(c.value))
        .where(c.metric.in_(metrics), c.day >= period.first, c.day <= period.last)
        .group_by(c.metric, c.staff_id)
    )
    if isinstance(staff, Select):
        query = query.where(c.staff_id.in_(staff))
    elif staff is not None:
        query = query.where(staff)
    found: dict[str, dict[int, int]] = defaultdict(dict)
    for metric, staff_id, total in session.execute(query):
        found[str(metric)][int(staff_id)] = int(total or 0)
    return found


def rank(
    values: Sequence[tuple[int, int | float | None]],
) -> list[tuple[int | None, int, int | float | None]]:
    """(rank, id, value) best first; equal values share a rank (1, 1, 3); undefined values come last, unranked."""
    ordered = sorted(values, key=lambda v: (v[1] is None, -(v[1] or 0), v[0]))
    ranked: list[tuple[int | None, int, int | float | None]] = []
    previous: int | float | None = None
    current = 0
    for position, (key, value) in enumerate(ordered, start=1):
        if value is None:
            ranked.append((None, key, None))
            continue
        if previous is None or value != previous:
            current = position
        previous = value
        ranked.append((current, key, value))
    return ranked


def build_board(
    session: Session, actor: Actor, metric: str, period: Period, unit_id: int | None = None
) -> Board:
    """The leaderboard the actor may see; active staff without anything to count appear with zero."""
    check_metric(metric)
    staff_ids, unit = staff_in_scope(session, actor, unit_id)
    parts: tuple[str, ...] = RATIOS.get(metric, (metric,))
    sums = counter_sums(session, parts, period, staff_ids)
    people = session.execute(
        select(Staff.id, Staff.code, Staff.name, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
        .where(
            Staff.id.in_(staff_ids),
            or_(Staff.status == StaffStatus.active, Staff.id.in_(list(sums.get(parts[0], {})))),
        )
    ).all()
    values: dict[int, tuple[int | float | None, int | None, int | None]] = {}
    for person in people:
        staff_id = int(person[0])
        if metric in RATIOS:
            num, den = sums.get(parts[0], {}).get(staff_id, 0), sums.get(parts[1], {}).get(staff_id, 0)
            values[staff_id] = (num / den if den else None, num, den)
        else:
            values[staff_id] = (sums.get(metric, {}).get(staff_id, 0), None, None)
    info = {row[0]: row for row in people}
    rows = [
        BoardRow(r, sid, info[sid][1], info[sid][2], info[sid][3], value, values[sid][1], values[sid][2])
        for r, sid, value in rank([(sid, v[0]) for sid, v in values.items()])
    ]
    mark = session.execute(
        select(LeaderboardWatermark.last_event_id, LeaderboardWatermark.updated_at).where(
            LeaderboardWatermark.name == WATERMARK
        )
    ).first()
    return Board(
        metric,
        period,
        unit.id if unit else None,
        unit.name if unit else None,
        rows,
        int(mark[0]) if mark else 0,
        mark[1] if mark else None,
    )


__all__ = ["COUNTED", "METRICS", "Board", "BoardRow", "build_board", "counter_sums", "make_period", "rank"]
