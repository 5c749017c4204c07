"""Shared SQL pieces of the metric families: attribution, dialect helpers, the org tree and the roll-up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Float, Integer, case, cast, func, literal_column, select
from sqlalchemy.orm import Session, aliased

from siyu.models import Customer, OrgUnit, Staff
from siyu.performance.contract import COMPANY_SUBJECT_ID, Period, SubjectKind
from siyu.performance.settings import PerformanceSettings

# One grouped row of a family query: attributed staff (or None), attributed unit (or None), field sums.
Row = tuple[int | None, int | None, Sequence[float | int | None]]


@dataclass(frozen=True, slots=True)
class Ctx:
    """Everything a family query needs: where, when and by which rules."""

    session: Session
    period: Period
    start: datetime
    end: datetime
    zone: ZoneInfo
    settings: PerformanceSettings
    as_of: datetime

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.session.get_bind().dialect.name


@dataclass(slots=True)
class Facts:
    """A family's result: field names and grouped rows (one value per field)."""

    fields: tuple[str, ...]
    rows: Sequence[Row]


def make_ctx(session: Session, period: Period, zone: ZoneInfo, settings: PerformanceSettings) -> Ctx:
    """The context of one computation."""
    start, end = period.utc_range(zone)
    return Ctx(session, period, start, end, zone, settings, settings.as_of or datetime.now(UTC))


def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END)."""
    return func.sum(case((condition, 1), else_=0))


def customer_attribution() -> tuple[Any, Any, Any]:
    """(owner alias to outer-join, staff key, unit key) attributing a customer to its owner and their unit.

    A customer without an owner counts for its home store (and the company); the caller outer-joins
    the alias on `alias.id == Customer.owner_staff_id`.
    """
    owner = aliased(Staff)
    return owner, Customer.owner_staff_id, func.coalesce(owner.unit_id, Customer.home_store_id)


def unindexed(ctx: Ctx, column: Any) -> Any:
    """column for GROUP BY, written so SQLite cannot pick its index (which would force a full ordered scan)."""
    return column + 0 if ctx.dialect == "sqlite" else column


def seconds_between(ctx: Ctx, later: Any, earlier: Any) -> ColumnElement[Any]:
    """later − earlier in seconds, in SQL (whole seconds exact, so thresholds compare exactly)."""
    if ctx.dialect == "postgresql":
        return func.extract("epoch", later - earlier)

    def parts(column: Any) -> tuple[Any, Any]:
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': whole epoch seconds plus the fraction from character 20.
        return cast(func.strftime("%s", column), Integer), cast(func.substr(column, 20), Float)

    (late_s, late_f), (early_s, early_f) = parts(later), parts(earlier)
    return (late_s - early_s) + (func.coalesce(late_f, 0.0) - func.coalesce(early_f, 0.0))


def plus_seconds(ctx: Ctx, column: Any, seconds: int) -> ColumnElement[Any]:
    """column + seconds, exactly, in SQL."""
    if ctx.dialect == "postgresql":
        return column + literal_column(f"INTERVAL '{int(seconds)} seconds'")
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' text; strftime drops the fraction, so append it again.
    whole = func.strftime("%Y-%m-%d %H:%M:%S", column, f"{int(seconds):+d} seconds")
    return whole.op("||")(func.substr(column, 20))


def plus_days(ctx: Ctx, column: Any, days: int) -> ColumnElement[Any]:
    """column + days × 24 hours, exactly, in SQL."""
    return plus_seconds(ctx, column, int(days) * 86400)


def _offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(UTC instant from which, UTC offset in seconds) of the zone over [start, end], scanned hourly."""
    moment = start - timedelta(days=1)
    current = int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
    out = [(moment, current)]
    while moment <= end + timedelta(days=1):
        moment += timedelta(hours=1)
        offset = int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
        if offset != current:
            out.append((moment, offset))
            current = offset
    return out


def local_second_of_day(ctx: Ctx, column: Any) -> ColumnElement[Any]:
    """Brand-local seconds since midnight of a UTC timestamp column, in SQL."""
    if ctx.dialect == "postgresql":
        local = func.timezone(ctx.zone.key, column)
        return func.extract("epoch", local - func.date_trunc("day", local))
    epoch = cast(func.strftime("%s", column), Integer)
    # SQLite has no zone data: add the zone's offset, which only changes at DST transitions.
    segments = _offsets(ctx.zone, ctx.start, ctx.end + timedelta(hours=ctx.settings.reply_window_hours))
    if len(segments) == 1:
        offset: Any = segments[0][1]
    else:
        whens = [(column < at, prev) for (_, prev), (at, _) in pairwise(segments)]
        offset = case(*whens, else_=segments[-1][1])
    return (epoch + offset) % 86400


@dataclass(frozen=True, slots=True)
class OrgTree:
    """Units with their ancestors (self included) and every staff member's unit."""

    ancestors: dict[int, tuple[int, ...]]
    staff_unit: dict[int, int]


def load_org(session: Session) -> OrgTree:
    """The whole org tree and staff → unit map (two queries)."""
    ancestors: dict[int, tuple[int, ...]] = {}
    for unit_id, path in session.execute(select(OrgUnit.id, OrgUnit.path)):
        ancestors[int(unit_id)] = tuple(int(p) for p in str(path).strip("/").split("/") if p)
    staff_unit = {int(s): int(u) for s, u in session.execute(select(Staff.id, Staff.unit_id))}
    return OrgTree(ancestors, staff_unit)


def roll_up(facts: Facts, kind: SubjectKind, org: OrgTree) -> dict[str, dict[int, float | int]]:
    """Sum a family's grouped rows per subject: staff as attributed, unit over its subtree, company all."""
    out: dict[str, dict[int, float | int]] = {name: {} for name in facts.fields}
    for staff_id, unit_id, values in facts.rows:
        if kind is SubjectKind.staff:
            if staff_id is None:
                continue
            targets: Iterable[int] = (int(staff_id),)
        elif kind is SubjectKind.unit:
            if unit_id is None:
                continue
            targets = org.ancestors.get(int(unit_id), ())
        else:
            targets = (COMPANY_SUBJECT_ID,)
        for name, value in zip(facts.fields, values, strict=True):
            if value is None:
                continue
            bucket = out[name]
            for subject in targets:
                bucket[subject] = bucket.get(subject, 0) + value
    return out
