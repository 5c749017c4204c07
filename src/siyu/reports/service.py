"""The 概览 overview: filters checked against the viewer's scope, SQL aggregates shaped for the page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.errors import Invalid, NotFound
from siyu.models import AcquisitionSource, Channel, OrderChannel
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor
from siyu.reports import repository as repo
from siyu.reports.rollups import events_after, rollup_state
from siyu.reports.schemas import (
    RETENTION_DAYS,
    GmvRow,
    Overview,
    OverviewFilters,
    RetentionRow,
    StoreRow,
)
from siyu.timeutil import brand_zone, day_start_utc

MAX_DAYS = 731
WEEKLY_UP_TO_DAYS = 92
STORES_SHOWN = 10


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """First days of the local months touching first..last."""
    months, month = [], _month_start(first)
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


def period_points(first: date, last: date) -> tuple[str, list[tuple[str, date]]]:
    """Weekly (ranges up to 92 days) or monthly snapshot days, each the last local day of its period."""
    if (last - first).days < WEEKLY_UP_TO_DAYS:
        days = []
        day = last
        while day >= first:
            days.append(day)
            day -= timedelta(days=7)
        return "week", [(d.isoformat(), d) for d in reversed(days)]
    points = []
    for month in months_between(first, last):
        end = min(_next_month(month) - timedelta(days=1), last)
        points.append((month.strftime("%Y-%m"), end))
    return "month", points


def check_filters(filters: OverviewFilters) -> None:
    """Reject an empty or overlong date range with what and why."""
    if filters.first > filters.last:
        raise Invalid(f"date range: first day {filters.first} is after last day {filters.last}")
    if (filters.last - filters.first).days >= MAX_DAYS:
        raise Invalid(f"date range: at most {MAX_DAYS} days may be shown at once")


def build_overview(
    session: Session,
    actor: Actor,
    filters: OverviewFilters,
    *,
    zone: ZoneInfo | None = None,
    now: datetime | None = None,
    use_rollups: bool = True,
) -> Overview:
    """Every figure of the overview for the actor's scope, the date range and the org filter.

    Read from the daily rollups when they exist for this zone and scope (the page then says "as
    of" their refresh time); otherwise, and with use_rollups=False, from the raw rows.
    """
    check_filters(filters)
    zone = zone or brand_zone()
    now = now or utcnow()
    unit_path = unit_name = None
    if filters.unit_id is not None:
        unit = org_repo.get_unit(session, actor, filters.unit_id)
        if unit is None:
            raise NotFound(f"org unit {filters.unit_id} does not exist")
        unit_path, unit_name = unit.path, unit.name
    pop = repo.population(actor, unit_path)
    state = rollup_state(session) if use_rollups else None
    where = repo.rollup_population(actor, unit_path) if state is not None and state.zone == zone.key else None
    start = day_start_utc(filters.first, zone)
    end = day_start_utc(filters.last + timedelta(days=1), zone)
    channels = [c.value for c in Channel]

    period, points = period_points(filters.first, filters.last)
    instants = [day_start_utc(day + timedelta(days=1), zone) for _, day in points]
    if where is not None:
        by_channel = repo.presence_rollups(session, where, [day for _, day in points])
    else:
        by_channel = repo.presence(session, pop, instants)
    total = by_channel[None]
    series = {c: by_channel.get(c, [0] * len(instants)) for c in channels}

    days = [
        (filters.first + timedelta(days=i)).isoformat()
        for i in range((filters.last - filters.first).days + 1)
    ]
    sources = [s.value for s in AcquisitionSource]
    new_by_day = {d: dict.fromkeys(sources, 0) for d in days}
    if where is not None:
        new_rows = repo.new_contacts_rollups(session, where, filters.first, filters.last)
        cohort_rows = repo.cohorts_rollups(session, where, filters.first, filters.last)
    else:
        new_rows, cohort_rows = _split_joins(repo.joins(session, pop, zone, start, end, RETENTION_DAYS))
    for day, source, count in new_rows:
        new_by_day[day][source] += count
    new_by_source = {s: sum(new_by_day[d][s] for d in days) for s in sources}

    retention = _retention(cohort_rows, zone, filters, min(end, now))
    if where is not None:
        gmv_rows, private_gmv = repo.gmv_rollups(session, where, filters.first, filters.last)
    else:
        gmv_rows = repo.gmv_by_channel_month(session, pop, zone, start, end)
        private_gmv = repo.private_gmv_by_month(session, pop, zone, start, end)
    gmv_months, order_channels, by_store = _gmv(gmv_rows, private_gmv, filters)
    stores = [
        StoreRow(i, code, name, *by_store.get(i, (0, 0)))
        for i, code, name in repo.stores(session, actor, unit_path)
    ]
    ranked = sorted(stores, key=lambda s: (-s.gmv_fen, s.code))
    return Overview(
        filters=filters,
        unit_name=unit_name,
        channels=channels,
        sources=sources,
        present_total=total[-1],
        present_by_channel={c: series[c][-1] for c in channels},
        period=period,
        period_labels=[label for label, _ in points],
        present_series=series,
        total_series=total,
        days=days,
        new_by_day=new_by_day,
        new_by_source=new_by_source,
        retention=retention,
        gmv_months=gmv_months,
        order_channels=order_channels,
        gmv_total_fen=sum(row.total_fen for row in gmv_months),
        gmv_private_fen=sum(row.private_fen for row in gmv_months),
        top_stores=ranked[:STORES_SHOWN],
        bottom_stores=list(reversed(ranked[-STORES_SHOWN:])),
        as_of=state.refreshed_at if state is not None and where is not None else None,
        behind=where is not None and state is not None and events_after(session, state.last_event_id),
    )


def _split_joins(
    joined: list[tuple[str, str, str, int, list[int]]],
) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int, list[int]]]]:
    """Raw join rows → (day, source, count) for new contacts and (channel, month, size, kept) cohorts."""
    new_rows = [(day, source, count) for day, _channel, source, count, _kept in joined]
    cohort_rows = [(channel, day[:7], count, kept) for day, channel, _source, count, kept in joined]
    return new_rows, cohort_rows


def _retention(
    joined: list[tuple[str, str, int, list[int]]],
    zone: ZoneInfo,
    filters: OverviewFilters,
    as_of: datetime,
) -> list[RetentionRow]:
    # A cohort is measurable after N days only when its last possible join + N days has passed.
    cohort_end = {
        m.strftime("%Y-%m"): day_start_utc(
            min(_next_month(m) - timedelta(days=1), filters.last) + timedelta(days=1), zone
        )
        for m in months_between(filters.first, filters.last)
    }
    cohorts: dict[tuple[str, str], tuple[int, list[int]]] = {}
    for channel, month, count, kept in joined:
        size, sums = cohorts.get((channel, month), (0, [0] * len(RETENTION_DAYS)))
        cohorts[(channel, month)] = (size + count, [a + b for a, b in zip(sums, kept, strict=True)])
    rows = []
    for (channel, month), (size, kept) in cohorts.items():
        measured = {
            n: (k if cohort_end[month] + timedelta(days=n) <= as_of else None)
            for n, k in zip(RETENTION_DAYS, kept, strict=True)
        }
        rows.append(RetentionRow(channel, month, size, measured))
    order = {c.value: i for i, c in enumerate(Channel)}
    return sorted(rows, key=lambda r: (order.get(r.channel, 99), r.month))


def _gmv(
    gmv_rows: list[tuple[str, str, int | None, int, int]],
    private_gmv: dict[str, int],
    filters: OverviewFilters,
) -> tuple[list[GmvRow], list[str], dict[int, tuple[int, int]]]:
    order_channels = [c.value for c in OrderChannel]
    months = [m.strftime("%Y-%m") for m in months_between(filters.first, filters.last)]
    cells: dict[str, dict[str, int]] = {m: dict.fromkeys(order_channels, 0) for m in months}
    orders = dict.fromkeys(months, 0)
    private = dict.fromkeys(months, 0)
    by_store: dict[int, tuple[int, int]] = {}
    for channel, month, store_id, count, gmv in gmv_rows:
        cells[month][channel] += gmv
        orders[month] += count
        if store_id is not None:
            n, g = by_store.get(store_id, (0, 0))
            by_store[store_id] = (n + count, g + gmv)
    for month, fen in private_gmv.items():
        private[month] += fen
    rows = [GmvRow(m, cells[m], orders[m], sum(cells[m].values()), private[m]) for m in months]
    return rows, order_channels, by_store
