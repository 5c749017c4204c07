"""Presence rollups: day-end present customers as daily deltas plus month-end snapshots."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, delete, false, func, insert, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from siyu.models import Customer, RollupPresence, RollupPresenceMonth
from siyu.reports.repository import month_of
from siyu.reports.rollup_sql import (
    BOTH,
    MAX_LISTED_IDS,
    Cutter,
    DayRuns,
    M,
    as_date,
    in_runs,
    insert_from,
    insert_whole,
    joined_in_runs,
    month_last,
    rollup_days,
    utc_in_runs,
)


def presence_deltas(session: Session, cut: Cutter, runs: DayRuns | None) -> Any:
    """(whole=false, day, channel or NULL for anyone, owner, home, delta) of the customers present at day end.

    A membership is present at the end of local days [day(joined_at), day(left_at)); per customer and
    channel (and per customer alone, for the total) the running count of open spans says whether the
    person is present after each boundary day, and the change of that 0/1 flag is the delta.
    """
    jd, ld = cut.day(M.joined_at), cut.day(M.left_at)
    spans = (
        select(M.customer_id, M.channel, jd.label("jd"), ld.label("ld"))
        .join(Customer, Customer.id == M.customer_id)
        .where(Customer.merged_into_id.is_(None))
    )
    if runs is not None:
        # Only customers with a boundary on a dirty day, but with their whole history. The ids are
        # fetched first: as a subquery SQLite would cut the days of every membership before filtering.
        touched = select(M.customer_id).where(
            or_(joined_in_runs(runs, cut.zone), utc_in_runs(M.left_at, runs, cut.zone))
        )
        ids = sorted(set(session.scalars(touched)))
        spans = spans.where(
            M.customer_id.in_(ids) if len(ids) <= MAX_LISTED_IDS else M.customer_id.in_(touched)
        )
    s = spans.subquery("spans")
    opens = or_(s.c.ld.is_(None), s.c.ld > s.c.jd)
    steps = union_all(
        select(s.c.customer_id, s.c.channel, s.c.jd.label("day"), literal(1).label("dk")).where(opens),
        select(s.c.customer_id, s.c.channel, s.c.ld.label("day"), literal(-1).label("dk")).where(
            s.c.ld.is_not(None), s.c.ld > s.c.jd
        ),
    ).subquery("steps")
    parts = []
    for per_channel in (True, False):
        keys = [steps.c.customer_id, steps.c.channel] if per_channel else [steps.c.customer_id]
        by_day = (
            select(*keys, steps.c.day, func.sum(steps.c.dk).label("dk"))
            .group_by(*keys, steps.c.day)
            .subquery()
        )
        part_keys = [by_day.c.customer_id, *([by_day.c.channel] if per_channel else [])]
        running = func.sum(by_day.c.dk).over(partition_by=part_keys, order_by=by_day.c.day, rows=(None, 0))
        flags = select(*part_keys, by_day.c.day, case((running > 0, 1), else_=0).label("p")).subquery()
        flag_keys = [flags.c.customer_id, *([flags.c.channel] if per_channel else [])]
        previous = func.lag(flags.c.p, 1, 0).over(partition_by=flag_keys, order_by=flags.c.day)
        changes = select(
            flags.c.customer_id,
            (flags.c.channel if per_channel else null()).label("channel"),
            flags.c.day,
            (flags.c.p - previous).label("dp"),
        ).subquery()
        parts.append(
            select(changes.c.day, changes.c.channel, changes.c.customer_id, changes.c.dp).where(
                changes.c.dp != 0
            )
        )
    d = union_all(*parts).subquery("changes")
    cut_keys = (d.c.day, d.c.channel, Customer.owner_staff_id, Customer.home_store_id)
    query = (
        select(false(), *cut_keys, func.sum(d.c.dp))
        .join(Customer, Customer.id == d.c.customer_id)
        .group_by(*cut_keys)
        .having(func.sum(d.c.dp) != 0)
    )
    if runs is not None:
        query = query.where(in_runs(d.c.day, runs))
    return query


def write_presence(session: Session, cut: Cutter, runs: DayRuns | None) -> tuple[int, date | None]:
    """Rewrite the presence deltas of the days; returns rows written and the first day that changed."""
    P = RollupPresence
    if runs is None:
        session.execute(delete(P))
        columns = ["whole", "day", "channel", "owner_staff_id", "home_store_id", "delta"]
        written = insert_from(session, P, columns, presence_deltas(session, cut, None))
        return written + insert_whole(session, P, None), None
    Key = tuple[bool, date, str | None, int | None, int | None]
    fresh: dict[Key, int] = defaultdict(int)
    for _, day, channel, owner, home, delta in session.execute(presence_deltas(session, cut, runs)):
        name = None if channel is None else str(channel)
        fresh[(False, as_date(day), name, owner, home)] += int(delta)
        fresh[(True, as_date(day), name, None, None)] += int(delta)
    fresh = defaultdict(int, {k: v for k, v in fresh.items() if v})
    old_query = select(P.whole, P.day, P.channel, P.owner_staff_id, P.home_store_id, P.delta).where(
        rollup_days(P, runs)
    )
    old = {(bool(r[0]), r[1], r[2], r[3], r[4]): int(r[5]) for r in session.execute(old_query)}
    changed = [k[1] for k in set(old) | set(fresh) if old.get(k) != fresh.get(k)]
    if not changed:
        return 0, None
    session.execute(delete(P).where(rollup_days(P, runs)))
    rows = [
        {
            "whole": k[0],
            "day": k[1],
            "channel": k[2],
            "owner_staff_id": k[3],
            "home_store_id": k[4],
            "delta": v,
        }
        for k, v in fresh.items()
    ]
    if rows:
        # Core executemany: batched multi-row INSERTs (the ORM's bulk path sends one per row on psycopg).
        session.connection().execute(insert(P), sorted(rows, key=lambda r: (r["whole"], r["day"])))
    return len(rows), min(changed)


def write_presence_months(session: Session, since: date | None) -> int:
    """Rewrite the month-end snapshots from the month of since (None: all) by running sums of the deltas."""
    P, S = RollupPresence, RollupPresenceMonth
    first_day, last_day = session.execute(select(func.min(P.day), func.max(P.day))).one()
    start = since or (first_day and as_date(first_day)) or None
    if start is None or last_day is None:
        session.execute(delete(S))
        return 0
    start = start.replace(day=1)
    end = as_date(last_day).replace(day=1)
    written_to = session.scalar(select(func.max(S.month)).where(S.whole.in_(BOTH)))
    if since is not None and written_to is not None and as_date(written_to) < start:
        # Snapshots stopped at the last month with a change: fill the quiet months up to start too.
        start = month_last(as_date(written_to)) + timedelta(days=1)
    Key = tuple[bool, str | None, int | None, int | None]
    current: dict[Key, int] = defaultdict(int)
    if since is not None:
        # The running sums before start, from the deltas themselves: a month whose counts all fell
        # to zero has no snapshot row, so the latest snapshot row is no safe base.
        cut_keys = (P.whole, P.channel, P.owner_staff_id, P.home_store_id)
        before = select(*cut_keys, func.sum(P.delta)).where(P.day < start).group_by(*cut_keys)
        for whole, channel, owner, home, present in session.execute(before):
            current[(bool(whole), channel, owner, home)] = int(present)
    month = month_of(session, P.day)
    by_month: dict[date, list[tuple[Key, int]]] = defaultdict(list)
    keys = (P.whole, month, P.channel, P.owner_staff_id, P.home_store_id)
    query = select(*keys, func.sum(P.delta)).where(P.whole.in_(BOTH), P.day >= start).group_by(*keys)
    for whole, m, channel, owner, home, delta in session.execute(query):
        by_month[as_date(m)].append(((bool(whole), channel, owner, home), int(delta)))
    session.execute(delete(S).where(S.whole.in_(BOTH), S.month >= start))
    rows: list[dict[str, Any]] = []
    month_day = start
    while month_day <= end:
        for key, delta in by_month.get(month_day, []):
            current[key] += delta
        rows.extend(
            {
                "whole": k[0],
                "month": month_day,
                "channel": k[1],
                "owner_staff_id": k[2],
                "home_store_id": k[3],
                "present": v,
            }
            for k, v in current.items()
            if v
        )
        month_day = month_last(month_day) + timedelta(days=1)
    if rows:
        session.connection().execute(insert(S), rows)
    return len(rows)
