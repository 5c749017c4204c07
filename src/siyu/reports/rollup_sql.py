"""SQL building blocks of the overview rollups: local days, runs of dirty days, inserts from selects."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, and_, case, cast, false, func, insert, or_, select, true
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.models import Channel, ChannelMembership, Order, RollupJoin, RollupOrder, RollupPresence
from siyu.reports.repository import offset_segments
from siyu.timeutil import day_start_utc

M = ChannelMembership
MAX_LISTED_IDS = 20_000
# Both levels named, so the (whole, day) indexes serve deletes and reads of a set of days.
BOTH = (False, True)
DayRuns = list[tuple[date, date]]


def local_day(session: Session, column: Any, zone: ZoneInfo, segments: Sequence[tuple[datetime, int]]) -> Any:
    """The brand-local calendar day of a UTC timestamp column, as a SQL DATE value.

    segments: the zone's UTC offsets over the data's span (repository.offset_segments), for SQLite.
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(zone.key, column), Date)
    modifier: Any
    if len(segments) == 1:
        modifier = f"{segments[0][1]:+d} seconds"
    else:
        whens = [(column < at, f"{previous:+d} seconds") for (_, previous), (at, _) in pairwise(segments)]
        modifier = case(*whens, else_=f"{segments[-1][1]:+d} seconds")
    # SQLite keeps DATE as 'YYYY-MM-DD' text, exactly what strftime yields.
    return func.strftime("%Y-%m-%d", column, modifier, type_=Date)


def day_runs(days: Iterable[date]) -> DayRuns:
    """Consecutive days folded into inclusive (first, last) runs."""
    runs: DayRuns = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def in_runs(column: Any, runs: DayRuns) -> ColumnElement[bool]:
    """A DATE column within one of the runs."""
    return or_(false(), *[column.between(a, b) for a, b in runs])


def rollup_days(model: Any, runs: DayRuns, *, whole: bool | None = None) -> ColumnElement[bool]:
    """Rollup rows on the runs' days (whole None: both levels), one indexable range per run."""
    levels = BOTH if whole is None else (whole,)
    return or_(false(), *[and_(model.whole.in_(levels), model.day.between(a, b)) for a, b in runs])


def utc_in_runs(column: Any, runs: DayRuns, zone: ZoneInfo) -> ColumnElement[bool]:
    """A UTC timestamp column on one of the runs' local days."""
    # Half-open UTC ranges so the indexes on the timestamp columns can be used.
    return or_(
        false(),
        *[
            and_(column >= day_start_utc(a, zone), column < day_start_utc(b + timedelta(days=1), zone))
            for a, b in runs
        ],
    )


def joined_in_runs(runs: DayRuns, zone: ZoneInfo) -> ColumnElement[bool]:
    """Memberships that began on one of the runs' local days."""
    # Naming every channel lets the (channel, joined_at) index serve the time ranges.
    return and_(M.channel.in_(list(Channel)), utc_in_runs(M.joined_at, runs, zone))


def data_span(session: Session) -> tuple[datetime, datetime]:
    """Earliest and latest timestamp the rollups may have to cut (for SQLite's offset table)."""
    lo = [
        session.scalar(select(func.min(M.joined_at))),
        session.scalar(select(func.min(Order.paid_at))),
    ]
    hi = [
        session.scalar(select(func.max(M.joined_at))),
        session.scalar(select(func.max(M.left_at))),
        session.scalar(select(func.max(Order.paid_at))),
    ]
    now = utcnow()
    return min([v for v in lo if v is not None], default=now), max(
        [v for v in hi if v is not None], default=now
    )


class Cutter:
    """Day expressions for one refresh: the zone, and on SQLite its offsets over the data's span."""

    def __init__(self, session: Session, zone: ZoneInfo) -> None:
        self.session, self.zone = session, zone
        sqlite = session.get_bind().dialect.name == "sqlite"
        # Scanning the zone hour by hour is only needed where SQL has no zone data, and only once.
        self.segments = offset_segments(zone, *data_span(session)) if sqlite else []

    def day(self, column: Any) -> Any:
        """The local day of a timestamp column."""
        return local_day(self.session, column, self.zone, self.segments)


def insert_from(session: Session, model: Any, columns: Sequence[str], query: Any) -> int:
    """INSERT INTO model (columns) SELECT …; returns the rows written."""
    # Core, not the ORM's bulk path; preserve_rowcount so the driver's count of an INSERT is kept.
    statement = insert(model).from_select(list(columns), query)
    result: Any = session.connection().execute(statement.execution_options(preserve_rowcount=True))
    return max(0, int(result.rowcount or 0))


# Per fact table: its day column, the keys kept in the whole-brand rows, and the summed columns.
_SHAPES: dict[Any, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    RollupJoin: ("day", ("channel", "source"), ("joined", "kept_7", "kept_30", "kept_90")),
    RollupOrder: ("day", ("channel", "store_id"), ("orders", "net_fen", "private_fen")),
    RollupPresence: ("day", ("channel",), ("delta",)),
}


def insert_whole(session: Session, model: Any, runs: DayRuns | None) -> int:
    """Sum the per-owner/home rows of the days into the whole-brand rows (whole=True)."""
    day, keys, sums = _SHAPES[model]
    t = model.__table__
    grouped = [t.c[day], *[t.c[k] for k in keys]]
    query = (
        select(true(), *grouped, *[func.sum(t.c[name]) for name in sums])
        .group_by(*grouped)
        .having(func.sum(t.c[sums[0]]) != 0)
    )
    query = query.where(rollup_days(t.c, runs, whole=False) if runs is not None else t.c.whole == false())
    return insert_from(session, model, ["whole", day, *keys, *sums], query)


def month_last(month: date) -> date:
    """The last day of the month of month."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def as_date(value: Any) -> date:
    """A DATE read back from either database as a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
