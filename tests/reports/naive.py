"""The overview recomputed the slow, obvious way: load every raw row and count in Python."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models import ChannelMembership, Customer, Order, OrgUnit, Staff


def _start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def subtree(units: list[OrgUnit], root_id: int) -> set[int]:
    """The unit and all its descendants, found by walking parent ids."""
    found, frontier = {root_id}, [root_id]
    while frontier:
        frontier = [u.id for u in units if u.parent_id in frontier and u.id not in found]
        found.update(frontier)
    return found


@dataclass
class Naive:
    """Expected figures."""

    present_total: int = 0
    present_by_channel: Counter[str] = field(default_factory=Counter)
    series_total: list[int] = field(default_factory=list)
    series: dict[str, list[int]] = field(default_factory=dict)
    new: Counter[tuple[str, str]] = field(default_factory=Counter)
    retention: dict[tuple[str, str], tuple[int, dict[int, int | None]]] = field(default_factory=dict)
    gmv: dict[tuple[str, str], int] = field(default_factory=dict)
    orders: Counter[str] = field(default_factory=Counter)
    private: Counter[str] = field(default_factory=Counter)
    stores: dict[str, tuple[int, int]] = field(default_factory=dict)


def compute(
    session: Session,
    *,
    scope_root: int | None,
    filter_root: int | None,
    first: date,
    last: date,
    snapshots: list[date],
    now: datetime,
    zone: ZoneInfo,
) -> Naive:
    """Every overview figure from raw rows; scope_root/filter_root None mean 'everything'."""
    units = list(session.scalars(select(OrgUnit)))
    staff_unit = {s.id: s.unit_id for s in session.scalars(select(Staff))}
    scope_units = subtree(units, scope_root) if scope_root is not None else None
    filter_units = subtree(units, filter_root) if filter_root is not None else None

    def belongs(c: Customer, allowed: set[int] | None) -> bool:
        return (
            allowed is None or c.home_store_id in allowed or staff_unit.get(c.owner_staff_id or -1) in allowed
        )

    customers = {
        c.id: c
        for c in session.scalars(select(Customer))
        if c.merged_into_id is None and belongs(c, scope_units) and belongs(c, filter_units)
    }
    members = [m for m in session.scalars(select(ChannelMembership)) if m.customer_id in customers]
    all_members = list(session.scalars(select(ChannelMembership)))
    orders = [o for o in session.scalars(select(Order)) if o.customer_id in customers]
    start, end = _start(first, zone), _start(last + timedelta(days=1), zone)
    out = Naive()

    def present(m: ChannelMembership, moment: datetime) -> bool:
        return m.joined_at < moment and (m.left_at is None or m.left_at >= moment)

    at_end = [m for m in members if present(m, end)]
    out.present_total = len({m.customer_id for m in at_end})
    for channel in {m.channel.value for m in at_end}:
        out.present_by_channel[channel] = len({m.customer_id for m in at_end if m.channel.value == channel})
    for day in snapshots:
        moment = _start(day + timedelta(days=1), zone)
        now_present = [m for m in members if present(m, moment)]
        out.series_total.append(len({m.customer_id for m in now_present}))
        for m in members:
            out.series.setdefault(m.channel.value, [])
        for channel, values in out.series.items():
            values.append(len({m.customer_id for m in now_present if m.channel.value == channel}))
    out.series = {k: v[-len(snapshots) :] for k, v in out.series.items()}

    in_range = [m for m in members if start <= m.joined_at < end]
    for m in in_range:
        out.new[(m.joined_at.astimezone(zone).date().isoformat(), customers[m.customer_id].source.value)] += 1

    as_of = min(end, now)
    cohorts: dict[tuple[str, str], list[ChannelMembership]] = defaultdict(list)
    for m in in_range:
        cohorts[(m.channel.value, m.joined_at.astimezone(zone).strftime("%Y-%m"))].append(m)
    for (channel, month), rows in cohorts.items():
        y, mo = map(int, month.split("-"))
        month_last = (date(y + mo // 12, mo % 12 + 1, 1)) - timedelta(days=1)
        cohort_end = _start(min(month_last, last) + timedelta(days=1), zone)
        kept: dict[int, int | None] = {}
        for n in (7, 30, 90):
            count = sum(1 for m in rows if m.left_at is None or m.left_at >= m.joined_at + timedelta(days=n))
            kept[n] = count if cohort_end + timedelta(days=n) <= as_of else None
        out.retention[(channel, month)] = (len(rows), kept)

    by_customer: dict[int, list[Any]] = defaultdict(list)
    for m in all_members:
        by_customer[m.customer_id].append(m)
    store_ids = {
        u.id: u.code
        for u in units
        if u.kind.value == "store"
        and (scope_units is None or u.id in scope_units)
        and (filter_units is None or u.id in filter_units)
    }
    out.stores = {code: (0, 0) for code in store_ids.values()}
    for o in orders:
        if not start <= o.paid_at < end:
            continue
        month = o.paid_at.astimezone(zone).strftime("%Y-%m")
        net = o.amount_fen - o.refund_fen
        key = (o.channel.value, month)
        out.gmv[key] = out.gmv.get(key, 0) + net
        out.orders[month] += 1
        if any(
            m.joined_at <= o.paid_at and (m.left_at is None or m.left_at > o.paid_at)
            for m in by_customer[o.customer_id]
        ):
            out.private[month] += net
        if o.store_id in store_ids:
            n, g = out.stores[store_ids[o.store_id]]
            out.stores[store_ids[o.store_id]] = (n + 1, g + net)
    return out
