"""Keep the overview's daily rollups up to date from the raw rows: full rebuild or only the dirty days."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    case,
    delete,
    false,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.events import settled_event_id
from siyu.models import (
    Customer,
    Event,
    Order,
    RollupCustomer,
    RollupJoin,
    RollupOrder,
    RollupOrderMonth,
    RollupState,
)
from siyu.reports.repository import NET_FEN, month_of, plus_days
from siyu.reports.rollup_presence import write_presence, write_presence_months
from siyu.reports.rollup_sql import (
    BOTH,
    Cutter,
    DayRuns,
    M,
    day_runs,
    insert_from,
    insert_whole,
    joined_in_runs,
    month_last,
    rollup_days,
    utc_in_runs,
)
from siyu.reports.schemas import RETENTION_DAYS
from siyu.timeutil import brand_zone

STATE = "overview"
# Beyond these, an incremental pass would touch most days anyway: rebuild everything instead.
MAX_DIRTY_CUSTOMERS = 5_000
MAX_DIRTY_RUNS = 300
_CHUNK = 900
# Event kinds that never change a membership, an order or a cut attribute: a tag import touching
# every customer must not force a rebuild. Unknown kinds count, so a new writer is never missed.
IGNORED_KINDS = ("tagged", "untagged", "task_done", "referred", "store_visit")


@dataclass
class RefreshStats:
    """What a refresh did: mode, events taken in, customers and days recomputed, rows written, time."""

    mode: str
    events: int = 0
    last_event_id: int = 0
    dirty_customers: int = 0
    dirty_days: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _insert_joins(session: Session, cut: Cutter, runs: DayRuns | None) -> int:
    day = cut.day(M.joined_at)
    kept = [
        func.sum(
            case((or_(M.left_at.is_(None), M.left_at >= plus_days(session, M.joined_at, n)), 1), else_=0)
        )
        for n in RETENTION_DAYS
    ]
    query = (
        select(
            false(),
            day,
            M.channel,
            Customer.source,
            Customer.owner_staff_id,
            Customer.home_store_id,
            func.count(),
            *kept,
        )
        .join(Customer, Customer.id == M.customer_id)
        .where(Customer.merged_into_id.is_(None))
        .group_by(day, M.channel, Customer.source, Customer.owner_staff_id, Customer.home_store_id)
    )
    if runs is not None:
        query = query.where(joined_in_runs(runs, cut.zone))
    columns = [
        "whole",
        "day",
        "channel",
        "source",
        "owner_staff_id",
        "home_store_id",
        "joined",
        "kept_7",
        "kept_30",
        "kept_90",
    ]
    return insert_from(session, RollupJoin, columns, query)


def _private_at_payment() -> ColumnElement[bool]:
    return (
        select(M.id)
        .where(
            M.customer_id == Order.customer_id,
            M.joined_at <= Order.paid_at,
            or_(M.left_at.is_(None), M.left_at > Order.paid_at),
        )
        .exists()
    )


def _insert_orders(session: Session, cut: Cutter, runs: DayRuns | None) -> int:
    day = cut.day(Order.paid_at)
    keys = (day, Order.channel, Order.store_id, Customer.owner_staff_id, Customer.home_store_id)
    query = (
        select(
            false(),
            *keys,
            func.count(),
            func.coalesce(func.sum(NET_FEN), 0),
            func.coalesce(func.sum(case((_private_at_payment(), NET_FEN), else_=0)), 0),
        )
        .join(Customer, Customer.id == Order.customer_id)
        .where(Customer.merged_into_id.is_(None))
        .group_by(*keys)
    )
    if runs is not None:
        query = query.where(utc_in_runs(Order.paid_at, runs, cut.zone))
    columns = [
        "whole",
        "day",
        "channel",
        "store_id",
        "owner_staff_id",
        "home_store_id",
        "orders",
        "net_fen",
        "private_fen",
    ]
    return insert_from(session, RollupOrder, columns, query)


def _insert_order_months(session: Session, months: Sequence[date] | None) -> int:
    month = month_of(session, RollupOrder.day)
    keys = (
        RollupOrder.whole,
        month,
        RollupOrder.channel,
        RollupOrder.store_id,
        RollupOrder.owner_staff_id,
        RollupOrder.home_store_id,
    )
    query = select(
        *keys, func.sum(RollupOrder.orders), func.sum(RollupOrder.net_fen), func.sum(RollupOrder.private_fen)
    ).group_by(*keys)
    if months is not None:
        query = query.where(rollup_days(RollupOrder, [(m, month_last(m)) for m in months]))
    columns = [
        "whole",
        "month",
        "channel",
        "store_id",
        "owner_staff_id",
        "home_store_id",
        "orders",
        "net_fen",
        "private_fen",
    ]
    return insert_from(session, RollupOrderMonth, columns, query)


def _fingerprint(session: Session, customer_ids: Sequence[int] | None) -> int:
    R = RollupCustomer
    query = select(
        Customer.id,
        Customer.source,
        Customer.owner_staff_id,
        Customer.home_store_id,
        Customer.merged_into_id.is_not(None),
    )
    columns = ["customer_id", "source", "owner_staff_id", "home_store_id", "merged"]
    if customer_ids is None:
        session.execute(delete(R))
        return insert_from(session, R, columns, query)
    written = 0
    for i in range(0, len(customer_ids), _CHUNK):
        chunk = customer_ids[i : i + _CHUNK]
        session.execute(delete(R).where(R.customer_id.in_(chunk)))
        written += insert_from(session, R, columns, query.where(Customer.id.in_(chunk)))
    return written


def _dirty_customers(session: Session, after_event: int) -> set[int]:
    """Customers named by events after the watermark, or whose cut attributes changed since the last refresh."""
    found: set[int] = set()
    events = select(Event.customer_id, Event.subject_type, Event.subject_id).where(
        Event.id > after_event, Event.kind.not_in(IGNORED_KINDS)
    )
    for customer_id, subject_type, subject_id in session.execute(events):
        if customer_id is not None:
            found.add(int(customer_id))
        if subject_type == "customer" and subject_id is not None:
            found.add(int(subject_id))
    R = RollupCustomer
    drift = (
        select(Customer.id)
        .outerjoin(R, R.customer_id == Customer.id)
        .where(
            or_(
                R.customer_id.is_(None),
                R.source != Customer.source,
                R.merged != Customer.merged_into_id.is_not(None),
                tuple_(func.coalesce(R.owner_staff_id, 0), func.coalesce(R.home_store_id, 0))
                != tuple_(
                    func.coalesce(Customer.owner_staff_id, 0), func.coalesce(Customer.home_store_id, 0)
                ),
            )
        )
    )
    found.update(int(i) for i in session.scalars(drift))
    return found


def _dirty_days(session: Session, customers: Sequence[int], zone: ZoneInfo) -> set[date]:
    """Every local day on which one of the customers joined, left or paid (their old and new contributions)."""
    days: set[date] = set()
    for i in range(0, len(customers), _CHUNK):
        chunk = customers[i : i + _CHUNK]
        for joined, left in session.execute(select(M.joined_at, M.left_at).where(M.customer_id.in_(chunk))):
            days.add(joined.astimezone(zone).date())
            if left is not None:
                days.add(left.astimezone(zone).date())
        for (paid,) in session.execute(select(Order.paid_at).where(Order.customer_id.in_(chunk))):
            days.add(paid.astimezone(zone).date())
    return days


def refresh_rollups(
    session: Session, *, full: bool = False, zone: ZoneInfo | None = None, now: datetime | None = None
) -> RefreshStats:
    """Bring the overview rollups up to date with the raw rows (the caller commits); idempotent.

    Incremental: customers named by new events or whose source/owner/home store/merge changed are
    dirty, and every day they joined, left or paid on is recomputed from the raw rows of all
    customers. full=True (or no earlier refresh, another zone, too many dirty customers) rebuilds.
    now: the "as of" time recorded (default the clock; the demo passes its history's end).
    """
    started = time.perf_counter()
    zone = zone or brand_zone()
    state = session.scalar(select(RollupState).where(RollupState.name == STATE).with_for_update())
    # The mark moves only to a settled id (see siyu.events). With another writer in flight (an import
    # running beside this one, which refreshes inside its own transaction) it stops before the first id
    # that writer may still fill: events after it are folded in now and again next time (recomputing a
    # day from raw rows is idempotent), and none committed later below the mark is lost. Never waits.
    last_event = settled_event_id(session, state.last_event_id if state is not None else 0)
    stats = RefreshStats(mode="full" if full or state is None or state.zone != zone.key else "incremental")
    stats.last_event_id = last_event
    cut = Cutter(session, zone)
    if stats.mode == "incremental" and state is not None:
        stats.events = last_event - state.last_event_id
        dirty = sorted(_dirty_customers(session, state.last_event_id))
        stats.dirty_customers = len(dirty)
        runs = day_runs(_dirty_days(session, dirty, zone)) if len(dirty) <= MAX_DIRTY_CUSTOMERS else None
        if runs is None or len(runs) > MAX_DIRTY_RUNS:
            stats.mode = "full"
        else:
            stats.dirty_days = sum((b - a).days + 1 for a, b in runs)
            _recompute(session, cut, runs, stats)
            _fingerprint(session, dirty)
    if stats.mode == "full":
        stats.events = last_event - (state.last_event_id if state is not None else 0)
        _recompute(session, cut, None, stats)
        stats.rows["customers"] = _fingerprint(session, None)
    if state is None:
        state = RollupState(name=STATE)
        session.add(state)
    state.last_event_id, state.zone, state.refreshed_at = last_event, zone.key, now or utcnow()
    session.flush()
    stats.seconds = round(time.perf_counter() - started, 3)
    return stats


def _recompute(session: Session, cut: Cutter, runs: DayRuns | None, stats: RefreshStats) -> None:
    """Delete and rewrite the rollups of the days in runs (None: every day)."""
    if runs is not None and not runs:
        return
    for model in (RollupJoin, RollupOrder):
        # A DELETE without WHERE lets SQLite truncate instead of deleting row by row.
        everything = delete(model)
        session.execute(everything.where(rollup_days(model, runs)) if runs else everything)
    stats.rows["joins"] = _insert_joins(session, cut, runs) + insert_whole(session, RollupJoin, runs)
    stats.rows["orders"] = _insert_orders(session, cut, runs) + insert_whole(session, RollupOrder, runs)
    months = None if runs is None else sorted(_months_between(runs))
    OM = RollupOrderMonth
    session.execute(
        delete(OM).where(OM.whole.in_(BOTH), OM.month.in_(months)) if months is not None else delete(OM)
    )
    stats.rows["order_months"] = _insert_order_months(session, months)
    stats.rows["presence"], since = write_presence(session, cut, runs)
    if runs is None or since is not None:
        stats.rows["presence_months"] = write_presence_months(session, since if runs is not None else None)


def _months_between(runs: DayRuns) -> set[date]:
    months: set[date] = set()
    for a, b in runs:
        month = a.replace(day=1)
        while month <= b:
            months.add(month)
            month = month_last(month) + timedelta(days=1)
    return months


def rollup_state(session: Session) -> RollupState | None:
    """The overview rollups' watermark, if they were ever built."""
    return session.scalar(select(RollupState).where(RollupState.name == STATE))


def events_after(session: Session, last_event_id: int) -> bool:
    """Whether events were recorded after the watermark (the rollups are behind)."""
    return bool(session.scalar(select(Event.id).where(Event.id > last_event_id).limit(1)))
