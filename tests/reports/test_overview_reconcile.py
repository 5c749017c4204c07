"""Every overview figure equals a naive count over the raw rows (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Invalid, NotFound
from siyu.models import Channel, ChannelMembership, Customer
from siyu.org.permissions import SYSTEM_ACTOR, Actor
from siyu.reports.rollups import refresh_rollups
from siyu.reports.schemas import RETENTION_DAYS, Overview, OverviewFilters
from siyu.reports.service import build_overview, period_points
from tests.reports.dataset import FIRST, LAST, ZONE, Brand, build, region_manager
from tests.reports.naive import compute

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _check(
    session: Session, actor: Actor, scope_root: int | None, filters: OverviewFilters, zone: ZoneInfo = ZONE
) -> Overview:
    """Both ways of reading (raw rows, then rollups refreshed in zone) against the naive figures."""
    raw = _compare(session, actor, scope_root, filters, zone, use_rollups=False)
    assert raw.as_of is None
    refresh_rollups(session, zone=zone)
    rolled = _compare(session, actor, scope_root, filters, zone, use_rollups=True)
    assert rolled.as_of is not None and not rolled.behind
    return rolled


def _compare(
    session: Session,
    actor: Actor,
    scope_root: int | None,
    filters: OverviewFilters,
    zone: ZoneInfo,
    *,
    use_rollups: bool,
) -> Overview:
    overview = build_overview(session, actor, filters, zone=zone, now=NOW, use_rollups=use_rollups)
    snapshots = [day for _, day in period_points(filters.first, filters.last)[1]]
    expected = compute(
        session,
        scope_root=scope_root,
        filter_root=filters.unit_id,
        first=filters.first,
        last=filters.last,
        snapshots=snapshots,
        now=NOW,
        zone=zone,
    )
    assert overview.present_total == expected.present_total
    assert overview.present_by_channel == {c: expected.present_by_channel[c] for c in overview.channels}
    assert overview.total_series == expected.series_total
    for channel in overview.channels:
        assert overview.present_series[channel] == expected.series.get(channel, [0] * len(snapshots)), channel
    got_new = {(d, s): n for d, row in overview.new_by_day.items() for s, n in row.items() if n}
    assert got_new == dict(expected.new)
    got_retention = {(r.channel, r.month): (r.size, r.kept) for r in overview.retention}
    assert got_retention == expected.retention
    got_gmv = {(c, row.month): v for row in overview.gmv_months for c, v in row.by_channel.items() if v}
    assert got_gmv == {k: v for k, v in expected.gmv.items() if v}
    assert {r.month: r.orders for r in overview.gmv_months if r.orders} == dict(expected.orders)
    assert {r.month: r.private_fen for r in overview.gmv_months if r.private_fen} == {
        k: v for k, v in expected.private.items() if v
    }
    assert overview.gmv_total_fen == sum(expected.gmv.values())
    stores = {s.code: (s.orders, s.gmv_fen) for s in overview.top_stores + overview.bottom_stores}
    assert stores == expected.stores
    ranked = [s.gmv_fen for s in overview.top_stores]
    assert ranked == sorted(ranked, reverse=True)
    return overview


@pytest.fixture()
def brand(session: Session) -> Brand:
    return build(session)


def test_everything_for_admin(session: Session, brand: Brand) -> None:
    overview = _check(session, SYSTEM_ACTOR, None, OverviewFilters(FIRST, LAST))
    assert overview.period == "month" and len(overview.period_labels) == 6
    # The 23:30 local order on the last day is in August; the 00:10 order the next day is not.
    aug = next(r for r in overview.gmv_months if r.month == "2026-08")
    assert aug.by_channel["store"] >= 50_000
    assert overview.new_by_day[LAST.isoformat()]["ad"] >= 1
    # Cohorts of July cannot be measured at 90 days by 31 August; March cohorts can.
    assert all(r.kept[90] is None for r in overview.retention if r.month >= "2026-06")
    assert any(r.kept[90] is not None for r in overview.retention if r.month == "2026-03")


def test_region_manager_sees_only_the_region(session: Session, brand: Brand) -> None:
    actor = region_manager(brand)
    overview = _check(session, actor, brand.units["R1"].id, OverviewFilters(FIRST, LAST))
    everything = build_overview(session, SYSTEM_ACTOR, OverviewFilters(FIRST, LAST), zone=ZONE, now=NOW)
    assert overview.gmv_total_fen < everything.gmv_total_fen
    assert "ST3" not in {s.code for s in overview.top_stores}


def test_org_filter_is_a_subtree(session: Session, brand: Brand) -> None:
    _check(session, SYSTEM_ACTOR, None, OverviewFilters(FIRST, LAST, brand.units["ST1"].id))
    _check(
        session,
        region_manager(brand),
        brand.units["R1"].id,
        OverviewFilters(FIRST, LAST, brand.units["ST2"].id),
    )


def test_weekly_points_and_short_range(session: Session, brand: Brand) -> None:
    overview = _check(session, SYSTEM_ACTOR, None, OverviewFilters(date(2026, 8, 1), LAST))
    assert overview.period == "week"
    assert overview.period_labels[-1] == LAST.isoformat()


def test_a_zone_with_daylight_saving(session: Session, brand: Brand) -> None:
    # New York moves its clocks on 8 March 2026: days and months must still be cut at local midnight.
    new_york = ZoneInfo("America/New_York")
    edge = session.scalar(select(Customer).where(Customer.name == "edge"))
    assert edge is not None
    joined = datetime(2026, 3, 9, 0, 30, tzinfo=new_york)
    session.add(ChannelMembership(customer_id=edge.id, channel=Channel.wecom, joined_at=joined))
    session.flush()
    overview = build_overview(session, SYSTEM_ACTOR, OverviewFilters(FIRST, LAST), zone=new_york, now=NOW)
    assert overview.new_by_day["2026-03-09"]["ad"] >= 1
    _check(session, SYSTEM_ACTOR, None, OverviewFilters(FIRST, LAST), zone=new_york)
    _check(
        session,
        SYSTEM_ACTOR,
        None,
        OverviewFilters(date(2026, 3, 1), date(2026, 3, 20)),
        zone=ZoneInfo("America/New_York"),
    )


def test_unreadable_unit_and_bad_range_are_refused(session: Session, brand: Brand) -> None:
    with pytest.raises(NotFound):
        build_overview(session, region_manager(brand), OverviewFilters(FIRST, LAST, brand.units["ST3"].id))
    with pytest.raises(Invalid):
        build_overview(session, SYSTEM_ACTOR, OverviewFilters(LAST, FIRST))
    with pytest.raises(Invalid):
        build_overview(session, SYSTEM_ACTOR, OverviewFilters(date(2020, 1, 1), LAST))


def test_retention_days_are_the_documented_ones() -> None:
    assert RETENTION_DAYS == (7, 30, 90)
