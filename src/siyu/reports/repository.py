"""Overview aggregates: every figure is one GROUP BY in SQL over the viewer's customers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal_column, null, or_, select, true, union_all
from sqlalchemy.orm import Session

from siyu.customers.repository import readable
from siyu.models import ChannelMembership, Customer, Order, OrgUnit, OrgUnitKind
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, DataScope

M = ChannelMembership
Bucket = Literal["day", "month"]
NET_FEN = Order.amount_fen - Order.refund_fen


def population(actor: Actor, unit_path: str | None) -> ColumnElement[bool]:
    """Filter on Customer: readable by the actor, not merged away, and (optionally) in an org subtree."""
    clauses = [readable(actor), Customer.merged_into_id.is_(None)]
    if unit_path is not None:
        # The org filter attributes customers exactly as a subtree data scope does (home store or owner).
        unit_scope = Actor(None, "org-filter", actor.role, DataScope.subtree, scope_unit_path=unit_path)
        clauses.append(readable(unit_scope))
    return and_(*clauses)


def _offset_segments(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(UTC instant from which, offset seconds) for the zone across [start, end], scanned hourly."""
    moment = start - timedelta(days=1)
    current = int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
    segments = [(moment, current)]
    while moment <= end + timedelta(days=1):
        moment += timedelta(hours=1)
        offset = int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
        if offset != current:
            segments.append((moment, offset))
            current = offset
    return segments


def bucket_text(value: Any, bucket: Bucket) -> str:
    """The 'YYYY-MM-DD' or 'YYYY-MM' text of a bucket value read back from local_bucket."""
    return str(value)[: 10 if bucket == "day" else 7]


def local_bucket(
    session: Session, column: Any, bucket: Bucket, zone: ZoneInfo, start: datetime, end: datetime
) -> ColumnElement[Any]:
    """The local day or month of a UTC timestamp column in the brand's zone, computed in SQL (see bucket_text())."""
    if session.get_bind().dialect.name == "postgresql":
        # date_trunc is much cheaper per row than to_char; bucket_text() turns the value into text.
        return func.date_trunc(bucket, func.timezone(zone.key, column))
    # SQLite has no zone data: shift by the zone's offset, which changes only at DST transitions.
    segments = _offset_segments(zone, start, end)
    modifier: Any
    if len(segments) == 1:
        modifier = f"{segments[0][1]:+d} seconds"
    else:
        whens = [(column < at, f"{previous:+d} seconds") for (_, previous), (at, _) in pairwise(segments)]
        modifier = case(*whens, else_=f"{segments[-1][1]:+d} seconds")
    return func.strftime("%Y-%m-%d" if bucket == "day" else "%Y-%m", column, modifier)


def _plus_days(session: Session, column: Any, days: int) -> Any:
    """column + days × 24 hours, exactly, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return column + literal_column(f"INTERVAL '{int(days) * 24} hours'")
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff'; keep the microseconds strftime would drop.
    shifted = func.strftime("%Y-%m-%d %H:%M:%S", column, f"+{int(days)} days")
    return shifted.op("||")(func.substr(column, 20))


def _present_at(moment: datetime) -> ColumnElement[bool]:
    """The membership span [joined_at, left_at) covers the instant just before moment."""
    return and_(M.joined_at < moment, or_(M.left_at.is_(None), M.left_at >= moment))


def presence(
    session: Session, pop: ColumnElement[bool], instants: Sequence[datetime]
) -> dict[str | None, list[int]]:
    """Distinct customers with a present membership just before each instant: per channel, and None → any."""
    flags = [
        func.max(case((_present_at(moment), 1), else_=0)).label(f"p{i}") for i, moment in enumerate(instants)
    ]
    # One scan: (channel, customer) flags, summed per channel, and folded per customer for the total.
    pairs = (
        select(M.channel, M.customer_id, *flags)
        .join(Customer, Customer.id == M.customer_id)
        .where(pop, M.joined_at < instants[-1], or_(M.left_at.is_(None), M.left_at >= instants[0]))
        .group_by(M.channel, M.customer_id)
        .cte("pairs")
    )
    names = [f"p{i}" for i in range(len(instants))]
    per_channel = select(pairs.c.channel, *[func.sum(pairs.c[n]) for n in names]).group_by(pairs.c.channel)
    people = (
        select(pairs.c.customer_id, *[func.max(pairs.c[n]).label(n) for n in names])
        .group_by(pairs.c.customer_id)
        .subquery()
    )
    anyone = select(null().label("channel"), *[func.sum(people.c[n]) for n in names])
    found: dict[str | None, list[int]] = {None: [0] * len(instants)}
    rows: Any = session.execute(union_all(per_channel, anyone))
    for row in rows:
        found[None if row[0] is None else str(row[0])] = [int(v or 0) for v in row[1:]]
    return found


def joins(
    session: Session,
    pop: ColumnElement[bool],
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    horizons: Sequence[int],
) -> list[tuple[str, str, str, int, list[int]]]:
    """(local day, channel, customer source, memberships joined, [still present after N days]) in range."""
    # One scan feeds both new contacts (day × source) and retention cohorts (channel × month of the day).
    day = local_bucket(session, M.joined_at, "day", zone, start, end).label("day")
    kept = [
        func.sum(
            case((or_(M.left_at.is_(None), M.left_at >= _plus_days(session, M.joined_at, n)), 1), else_=0)
        )
        for n in horizons
    ]
    query = (
        select(day, M.channel, Customer.source, func.count(M.id), *kept)
        .join(Customer, Customer.id == M.customer_id)
        .where(pop, M.joined_at >= start, M.joined_at < end)
        .group_by(day, M.channel, Customer.source)
    )
    return [
        (bucket_text(r[0], "day"), str(r[1]), str(r[2]), int(r[3]), [int(v or 0) for v in r[4:]])
        for r in session.execute(query)
    ]


def _private_at_payment() -> ColumnElement[bool]:
    """The order's customer had a present membership in any private-domain channel when it was paid."""
    return (
        select(M.id)
        .where(
            M.customer_id == Order.customer_id,
            M.joined_at <= Order.paid_at,
            or_(M.left_at.is_(None), M.left_at > Order.paid_at),
        )
        .exists()
    )


def gmv_by_channel_month(
    session: Session, pop: ColumnElement[bool], zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[str, str, int | None, int, int]]:
    """(order channel, local month, store id, orders, net GMV fen) for payments in [start, end)."""
    # One scan of the orders feeds both the channel × month table and the store ranking.
    month = local_bucket(session, Order.paid_at, "month", zone, start, end).label("month")
    query = (
        select(
            Order.channel, month, Order.store_id, func.count(Order.id), func.coalesce(func.sum(NET_FEN), 0)
        )
        .join(Customer, Customer.id == Order.customer_id)
        .where(pop, Order.paid_at >= start, Order.paid_at < end)
        .group_by(Order.channel, month, Order.store_id)
    )
    return [
        (str(c), bucket_text(m, "month"), st, int(n), int(g)) for c, m, st, n, g in session.execute(query)
    ]


def private_gmv_by_month(
    session: Session, pop: ColumnElement[bool], zone: ZoneInfo, start: datetime, end: datetime
) -> dict[str, int]:
    """Local month → net GMV fen of payments made while the customer was present in a private channel."""
    # EXISTS in WHERE (not inside CASE) so the planner can make it one hash semi-join, not a probe per order.
    month = local_bucket(session, Order.paid_at, "month", zone, start, end).label("month")
    query = (
        select(month, func.coalesce(func.sum(NET_FEN), 0))
        .join(Customer, Customer.id == Order.customer_id)
        .where(pop, Order.paid_at >= start, Order.paid_at < end, _private_at_payment())
        .group_by(month)
    )
    return {bucket_text(m, "month"): int(g) for m, g in session.execute(query)}


def stores(session: Session, actor: Actor, unit_path: str | None) -> list[tuple[int, str, str]]:
    """(id, code, name) of every store the actor may read, within the org filter's subtree."""
    in_filter = OrgUnit.path.startswith(unit_path, autoescape=True) if unit_path is not None else true()
    query = select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(
        OrgUnit.kind == OrgUnitKind.store, org_repo.readable_units(actor), in_filter
    )
    return [(int(i), str(c), str(n)) for i, c, n in session.execute(query)]
