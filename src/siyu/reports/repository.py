"""Overview aggregates: one GROUP BY in SQL per figure, over the raw rows or over the daily rollups."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Date,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import replacement_traverse

from siyu.customers.repository import readable
from siyu.models import (
    ChannelMembership,
    Customer,
    Order,
    OrgUnit,
    OrgUnitKind,
    RollupJoin,
    RollupOrder,
    RollupOrderMonth,
    RollupPresence,
    RollupPresenceMonth,
)
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


def offset_segments(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(UTC instant from which, offset seconds) for the zone across [start, end]: daily steps, exact changes."""

    def offset(moment: datetime) -> int:
        return int(moment.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]

    # Whole hours, then a binary search to the second inside a day whose offset changed: exact at
    # the transition and ~1 step per day instead of 24 (a two-year refresh scanned 17,000 hours).
    moment = (start - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    current = offset(moment)
    segments = [(moment, current)]
    while moment <= end + timedelta(days=1):
        following = moment + timedelta(days=1)
        if offset(following) != current:
            low, high = 0, 86_400  # offset(moment + low) == current != offset(moment + high)
            while high - low > 1:
                middle = (low + high) // 2
                if offset(moment + timedelta(seconds=middle)) == current:
                    low = middle
                else:
                    high = middle
            current = offset(following)
            segments.append((moment + timedelta(seconds=high), current))
        moment = following
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
    segments = offset_segments(zone, start, end)
    modifier: Any
    if len(segments) == 1:
        modifier = f"{segments[0][1]:+d} seconds"
    else:
        whens = [(column < at, f"{previous:+d} seconds") for (_, previous), (at, _) in pairwise(segments)]
        modifier = case(*whens, else_=f"{segments[-1][1]:+d} seconds")
    return func.strftime("%Y-%m-%d" if bucket == "day" else "%Y-%m", column, modifier)


def plus_days(session: Session, column: Any, days: int) -> Any:
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
            case((or_(M.left_at.is_(None), M.left_at >= plus_days(session, M.joined_at, n)), 1), else_=0)
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


# --- The same figures read from the daily rollups (siyu.reports.rollups keeps them). ---

RollupFilter = Callable[[Any], ColumnElement[bool]]
_CUT_KEYS = ("owner_staff_id", "home_store_id")


def _on_rollup(clause: ColumnElement[bool], model: Any) -> ColumnElement[bool] | None:
    """clause with Customer's owner/home columns read from the rollup model; None if it needs others."""
    table = Customer.__table__
    answerable = True

    def swap(element: Any) -> Any:
        nonlocal answerable
        if isinstance(element, ColumnClause) and getattr(element, "table", None) is table:
            if element.name in _CUT_KEYS:
                return getattr(model, element.name)
            answerable = False
        return None

    adapted: ColumnElement[bool] = replacement_traverse(clause, {}, swap)  # type: ignore[call-overload]
    return adapted if answerable else None


def rollup_population(actor: Actor, unit_path: str | None) -> RollupFilter | None:
    """The population filter of population() applied to rollup rows, or None when rollups cannot answer it.

    Rollups are keyed by owner and home store only, so a scope that reads other customer facts
    (the guide's `self`: present memberships with the staff) must be answered from the raw rows.
    """
    clauses = [readable(actor)]
    if unit_path is not None:
        unit_scope = Actor(None, "org-filter", actor.role, DataScope.subtree, scope_unit_path=unit_path)
        clauses.append(readable(unit_scope))
    if actor.scope is DataScope.self_ or any(_on_rollup(c, RollupJoin) is None for c in clauses):
        return None
    everyone = actor.scope is DataScope.all and unit_path is None

    def where(model: Any) -> ColumnElement[bool]:
        if everyone:  # the whole-brand rows: the same sums without the owner/home split
            return and_(model.whole == literal(True))
        adapted = [c for c in (_on_rollup(c, model) for c in clauses) if c is not None]
        return and_(model.whole == literal(False), *adapted)

    return where


def _month_last(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def presence_rollups(
    session: Session, where: RollupFilter, days: Sequence[date]
) -> dict[str | None, list[int]]:
    """Customers present at the end of each local day (per channel; None → anyone), from month snapshots + deltas."""
    S, P = RollupPresenceMonth, RollupPresence
    lo, hi = session.execute(select(func.min(S.month), func.max(S.month))).one()
    bases: list[date | None] = []
    for day in days:
        month = (
            day.replace(day=1)
            if day == _month_last(day)
            else (day.replace(day=1) - timedelta(days=1)).replace(day=1)
        )
        if hi is not None and month > _day(hi):
            month = _day(hi)
        bases.append(month if lo is not None and month >= _day(lo) else None)
    found: dict[str | None, list[int]] = {None: [0] * len(days)}

    def add(rows: Any) -> None:
        for row in rows:
            values = found.setdefault(row[0], [0] * len(days))
            for i, v in enumerate(row[1:]):
                values[i] += int(v or 0)

    wanted = sorted({b for b in bases if b is not None})
    if wanted:
        snaps = [func.sum(case((S.month == b, S.present), else_=0)) if b else literal(0) for b in bases]
        add(
            session.execute(
                select(S.channel, *snaps).where(S.month.in_(wanted), where(S)).group_by(S.channel)
            )
        )
    # Deltas after each base month's last day up to the point itself (none for a month-end point).
    after = [_month_last(b) if b is not None else None for b in bases]
    open_points = [(a, d) for a, d in zip(after, days, strict=True) if a is None or a < d]
    if not open_points:
        return found
    sums = [
        func.sum(case((and_(P.day > a, P.day <= d) if a is not None else P.day <= d, P.delta), else_=0))
        if a is None or a < d
        else literal(0)
        for a, d in zip(after, days, strict=True)
    ]
    query = (
        select(P.channel, *sums).where(P.day <= max(d for _, d in open_points), where(P)).group_by(P.channel)
    )
    if all(a is not None for a, _ in open_points):
        query = query.where(P.day > min(a for a, _ in open_points if a is not None))
    add(session.execute(query))
    return found


def new_contacts_rollups(
    session: Session, where: RollupFilter, first: date, last: date
) -> list[tuple[str, str, int]]:
    """(local day, customer source, memberships joined) for first..last, from the daily join rollups."""
    J = RollupJoin
    query = (
        select(J.day, J.source, func.sum(J.joined))
        .where(J.day >= first, J.day <= last, where(J))
        .group_by(J.day, J.source)
    )
    return [(_day(d).isoformat(), str(source), int(n)) for d, source, n in session.execute(query)]


def cohorts_rollups(
    session: Session, where: RollupFilter, first: date, last: date
) -> list[tuple[str, str, int, list[int]]]:
    """(channel, local month, memberships joined in first..last, [still present after N days]) from the rollups."""
    J = RollupJoin
    month = month_of(session, J.day)
    kept = [func.sum(J.kept_7), func.sum(J.kept_30), func.sum(J.kept_90)]
    query = (
        select(J.channel, month, func.sum(J.joined), *kept)
        .where(J.day >= first, J.day <= last, where(J))
        .group_by(J.channel, month)
    )
    return [
        (str(r[0]), _day(r[1]).strftime("%Y-%m"), int(r[2]), [int(v or 0) for v in r[3:]])
        for r in session.execute(query)
    ]


def month_of(session: Session, day_column: Any) -> Any:
    """The first day of the month of a DATE column."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc("month", day_column), Date)
    return func.strftime("%Y-%m-01", day_column, type_=Date)


def gmv_rollups(
    session: Session, where: RollupFilter, first: date, last: date
) -> tuple[list[tuple[str, str, int | None, int, int]], dict[str, int]]:
    """Same rows as gmv_by_channel_month() and private_gmv_by_month(): whole months from the month rollups, edges by day."""
    D, MO = RollupOrder, RollupOrderMonth
    whole, parts = [], []
    month = first.replace(day=1)
    while month <= last:
        if first <= month and _month_last(month) <= last:
            whole.append(month)
        else:
            a, b = max(first, month), min(last, _month_last(month))
            first_day = literal(month, Date).label("m")
            cells = (D.channel, first_day, D.store_id, D.orders, D.net_fen, D.private_fen)
            parts.append(select(*cells).where(D.day >= a, D.day <= b, where(D)))
        month = _month_last(month) + timedelta(days=1)
    if whole:
        cells = (MO.channel, MO.month.label("m"), MO.store_id, MO.orders, MO.net_fen, MO.private_fen)
        parts.append(select(*cells).where(MO.month.in_(whole), where(MO)))
    rows: list[tuple[str, str, int | None, int, int]] = []
    private: dict[str, int] = {}
    if not parts:
        return rows, private
    u = union_all(*parts).subquery()
    query = select(
        u.c.channel,
        u.c.m,
        u.c.store_id,
        func.sum(u.c.orders),
        func.sum(u.c.net_fen),
        func.sum(u.c.private_fen),
    ).group_by(u.c.channel, u.c.m, u.c.store_id)
    for channel, m, store, n, g, p in session.execute(query):
        label = _day(m).strftime("%Y-%m")
        rows.append((str(channel), label, store, int(n), int(g)))
        private[label] = private.get(label, 0) + int(p)
    return rows, private
