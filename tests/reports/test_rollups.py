"""The daily rollups: incremental refreshes keep every figure equal to the naive count, and equal to a rebuild."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.customers.identity import merge_customers
from siyu.db.engine import session_factory
from siyu.events import NewEvent, record_events
from siyu.imports.context import ImportOptions
from siyu.imports.runner import execute_import
from siyu.models import (
    AcquisitionSource,
    Channel,
    ChannelMembership,
    Customer,
    Event,
    ImportKind,
    Order,
    OrderChannel,
    RollupCustomer,
    RollupJoin,
    RollupOrder,
    RollupOrderMonth,
    RollupPresence,
    RollupPresenceMonth,
    Staff,
)
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.reports.rollups import day_runs, refresh_rollups, rollup_state
from siyu.reports.schemas import OverviewFilters
from siyu.reports.service import build_overview
from tests.reports.dataset import FIRST, LAST, ZONE, Brand, build, local, region_manager
from tests.reports.test_overview_reconcile import NOW, _compare

TABLES = (RollupJoin, RollupPresence, RollupPresenceMonth, RollupOrder, RollupOrderMonth)


def dump(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row without its surrogate id, sorted: two refreshes agree when their dumps do."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for model in (*TABLES, RollupCustomer):
        table = model.__table__
        columns = [c for c in table.columns if c.name != "id"]
        rows = session.execute(select(*columns)).all()
        out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def _all_checks(session: Session, brand: Brand, zone: ZoneInfo = ZONE) -> None:
    manager = region_manager(brand)
    r1 = brand.units["R1"].id
    st1 = brand.units["ST1"].id
    store_manager = Actor(None, "s", PermissionRole.manager, DataScope.unit, scope_unit_id=st1)
    for actor, root, filters in (
        (SYSTEM_ACTOR, None, OverviewFilters(FIRST, LAST)),
        (SYSTEM_ACTOR, None, OverviewFilters(date(2026, 8, 1), LAST)),
        (SYSTEM_ACTOR, None, OverviewFilters(date(2026, 3, 15), date(2026, 6, 20), brand.units["ST1"].id)),
        (manager, r1, OverviewFilters(FIRST, LAST)),
        (manager, r1, OverviewFilters(date(2026, 4, 10), date(2026, 7, 3), brand.units["ST2"].id)),
        (store_manager, st1, OverviewFilters(FIRST, LAST)),
    ):
        overview = _compare(session, actor, root, filters, zone, use_rollups=True)
        assert overview.as_of is not None, "the rollups, not the raw rows, must have answered"


def _changes(session: Session, brand: Brand) -> None:
    """After a first refresh: joins, leaves, orders, a refund, a merge and an owner change without an event."""
    people = list(
        session.scalars(select(Customer).where(Customer.merged_into_id.is_(None)).order_by(Customer.id))
    )
    a, b, c, d, e = people[3], people[10], people[20], people[30], people[40]
    joined = ChannelMembership(
        customer_id=a.id, channel=Channel.group, joined_at=local(date(2026, 5, 3), 23, 50)
    )
    session.add(joined)
    open_span = session.scalar(
        select(ChannelMembership).where(ChannelMembership.left_at.is_(None)).order_by(ChannelMembership.id)
    )
    assert open_span is not None
    open_span.left_at = max(open_span.joined_at, local(date(2026, 6, 1), 0)) + timedelta(days=3)
    order = Order(
        source="t2",
        external_no="new-1",
        customer_id=b.id,
        channel=OrderChannel.live,
        store_id=brand.units["ST2"].id,
        amount_fen=123_456,
        refund_fen=0,
        paid_at=local(date(2026, 7, 31), 23, 59),
    )
    session.add(order)
    refunded = session.scalar(select(Order).where(Order.customer_id == c.id).order_by(Order.id))
    session.flush()
    events = [
        NewEvent("joined_channel", joined.joined_at, customer_id=a.id),
        NewEvent("left_channel", open_span.left_at, customer_id=open_span.customer_id),
        NewEvent("ordered", order.paid_at, customer_id=b.id),
    ]
    if refunded is not None:
        refunded.refund_fen = refunded.amount_fen // 2
        events.append(NewEvent("refunded", NOW, customer_id=c.id))
    record_events(session, events)
    merge_customers(session, [(a.id, [d.id])], occurred_at=NOW, reason="test")
    # An import rewrites owners and sources without an event: the fingerprint must notice.
    staff = session.scalars(select(Staff.id).order_by(Staff.id)).all()
    session.execute(
        update(Customer)
        .where(Customer.id.in_([c.id, e.id]))
        .values(
            owner_staff_id=staff[-1], home_store_id=brand.units["ST3"].id, source=AcquisitionSource.referral
        )
    )
    session.flush()


def test_incremental_refreshes_equal_the_naive_figures(session: Session) -> None:
    brand = build(session)
    first = refresh_rollups(session, zone=ZONE)
    assert first.mode == "full" and first.rows["joins"] > 0
    _all_checks(session, brand)
    _changes(session, brand)
    stale = build_overview(session, SYSTEM_ACTOR, OverviewFilters(FIRST, LAST), zone=ZONE, now=NOW)
    assert stale.behind
    second = refresh_rollups(session, zone=ZONE)
    assert second.mode == "incremental"
    assert 0 < second.dirty_customers < 20 and second.events >= 4
    _all_checks(session, brand)
    incremental = dump(session)
    again = refresh_rollups(session, zone=ZONE)
    assert again.mode == "incremental" and again.dirty_customers == 0 and dump(session) == incremental
    assert refresh_rollups(session, full=True, zone=ZONE).mode == "full"
    assert dump(session) == incremental


def test_a_new_customer_late_in_the_range_and_an_empty_refresh(session: Session) -> None:
    assert refresh_rollups(session, zone=ZONE).mode == "full"  # an empty database
    brand = build(session)
    assert refresh_rollups(session, zone=ZONE).mode == "incremental"
    newcomer = Customer(
        name="late", source=AcquisitionSource.ad, home_store_id=brand.units["ST1"].id, first_seen_at=NOW
    )
    session.add(newcomer)
    session.flush()
    joined = local(LAST, 12)
    session.add(ChannelMembership(customer_id=newcomer.id, channel=Channel.wecom, joined_at=joined))
    session.flush()
    # No event at all: the customer is new to the fingerprint, so the refresh still finds them.
    stats = refresh_rollups(session, zone=ZONE)
    assert stats.mode == "incremental" and stats.dirty_customers == 1 and stats.dirty_days == 1
    _all_checks(session, brand)
    incremental = dump(session)
    refresh_rollups(session, full=True, zone=ZONE)
    assert dump(session) == incremental


def test_daylight_saving_days_stay_cut_at_local_midnight(session: Session) -> None:
    new_york = ZoneInfo("America/New_York")
    brand = build(session)
    assert refresh_rollups(session, zone=new_york).mode == "full"
    state = rollup_state(session)
    assert state is not None and state.zone == "America/New_York"
    edge = session.scalar(select(Customer).where(Customer.name == "edge"))
    assert edge is not None
    # Just after the spring-forward gap, and twice in the repeated hour of the autumn fall-back.
    moments = [
        datetime(2026, 3, 8, 3, 30, tzinfo=new_york),
        datetime(2026, 3, 7, 23, 59, tzinfo=new_york),
        datetime(2025, 11, 2, 5, 30, tzinfo=UTC),
        datetime(2025, 11, 2, 6, 30, tzinfo=UTC),
    ]
    for i, moment in enumerate(moments):
        session.add(ChannelMembership(customer_id=edge.id, channel=Channel.member, joined_at=moment))
        session.add(
            Order(
                source="dst",
                external_no=f"dst-{i}",
                customer_id=edge.id,
                channel=OrderChannel.store,
                store_id=brand.units["ST1"].id,
                amount_fen=1_000 + i,
                paid_at=moment,
            )
        )
    session.flush()
    record_events(session, [NewEvent("ordered", m, customer_id=edge.id) for m in moments])
    assert refresh_rollups(session, zone=new_york).mode == "incremental"
    days = set(session.scalars(select(RollupJoin.day).where(RollupJoin.whole.is_(True))))
    assert {date(2026, 3, 8), date(2026, 3, 7)} <= days
    _all_checks(session, brand, new_york)
    _compare(
        session,
        SYSTEM_ACTOR,
        None,
        OverviewFilters(date(2026, 3, 1), date(2026, 3, 20)),
        new_york,
        use_rollups=True,
    )
    incremental = dump(session)
    refresh_rollups(session, full=True, zone=new_york)
    assert dump(session) == incremental
    # Another zone than the rollups were cut in is answered from the raw rows, never mis-cut.
    other = build_overview(session, SYSTEM_ACTOR, OverviewFilters(FIRST, LAST), zone=ZONE, now=NOW)
    assert other.as_of is None


def test_the_guide_scope_falls_back_to_raw_rows(session: Session) -> None:
    build(session)
    refresh_rollups(session, zone=ZONE)
    staff_id = session.scalars(select(Staff.id).order_by(Staff.id)).first()
    guide = Actor(None, "g", PermissionRole.manager, DataScope.self_, staff_id=staff_id)
    overview = build_overview(session, guide, OverviewFilters(FIRST, LAST), zone=ZONE, now=NOW)
    assert overview.as_of is None
    admin = build_overview(session, SYSTEM_ACTOR, OverviewFilters(FIRST, LAST), zone=ZONE, now=NOW)
    assert admin.as_of is not None


def test_day_runs_fold_consecutive_days() -> None:
    days = [date(2026, 1, 3), date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 5)]
    assert day_runs(days) == [(date(2026, 1, 1), date(2026, 1, 3)), (date(2026, 1, 5), date(2026, 1, 5))]
    assert day_runs([]) == []


def test_cli_refresh(cli_env: str, session: Session) -> None:
    from siyu.cli import app

    build(session)
    session.commit()
    runner = CliRunner()
    first = runner.invoke(app, ["reports", "refresh"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("full refresh")
    again = runner.invoke(app, ["reports", "refresh"])
    assert again.exit_code == 0 and again.output.startswith("incremental refresh: 0 new events")
    rebuilt = runner.invoke(app, ["reports", "refresh", "--full"])
    assert rebuilt.exit_code == 0 and rebuilt.output.startswith("full refresh")


def test_a_successful_import_refreshes_the_rollups(engine: Engine) -> None:
    with session_factory(engine)() as s:
        brand = build(s)
        refresh_rollups(s, zone=ZONE)
        s.commit()
    header = ["订单号", "下单时间", "手机号", "姓名", "实付金额", "渠道", "门店"]
    rows = [
        ["IMP-1", "2026-05-31 23:50:00", "13800000001", "新客", "88.00", "门店", "ST1"],
        ["IMP-2", "2026-06-01 00:10:00", "13800000001", "新客", "12.34", "小程序", "ST2"],
    ]
    data = "\n".join(",".join(r) for r in [header, *rows]).encode()
    with session_factory(engine)() as s:
        run = execute_import(s, ImportKind.orders, io.BytesIO(data), "orders.csv", ImportOptions())
    assert run.job.status == "succeeded"
    with session_factory(engine)() as s:
        state = rollup_state(s)
        assert state is not None
        assert state.last_event_id == s.scalar(select(func.max(Event.id)))
        overview = _compare(s, SYSTEM_ACTOR, None, OverviewFilters(FIRST, LAST), ZONE, use_rollups=True)
        assert overview.as_of is not None and not overview.behind
        may = next(r for r in overview.gmv_months if r.month == "2026-05")
        assert may.by_channel["store"] >= 8_800
        _compare(
            s,
            region_manager(brand),
            brand.units["R1"].id,
            OverviewFilters(FIRST, LAST),
            ZONE,
            use_rollups=True,
        )


def test_a_join_months_after_the_last_activity(session: Session) -> None:
    brand = build(session)
    refresh_rollups(session, zone=ZONE)
    edge = session.scalar(select(Customer).where(Customer.name == "edge"))
    assert edge is not None
    # Far beyond every other span: the month snapshots must also fill the quiet months between.
    joined = local(date(2028, 1, 15), 9)
    session.add(ChannelMembership(customer_id=edge.id, channel=Channel.wecom, joined_at=joined))
    session.flush()
    record_events(session, [NewEvent("joined_channel", joined, customer_id=edge.id)])
    assert refresh_rollups(session, zone=ZONE).mode == "incremental"
    later = datetime(2028, 3, 1, tzinfo=UTC)
    overview = build_overview(
        session, SYSTEM_ACTOR, OverviewFilters(date(2027, 6, 1), date(2028, 1, 31)), zone=ZONE, now=later
    )
    raw = build_overview(
        session,
        SYSTEM_ACTOR,
        OverviewFilters(date(2027, 6, 1), date(2028, 1, 31)),
        zone=ZONE,
        now=later,
        use_rollups=False,
    )
    assert overview.as_of is not None and raw.as_of is None
    assert (overview.total_series, overview.present_series) == (raw.total_series, raw.present_series)
    _compare(
        session,
        region_manager(brand),
        brand.units["R1"].id,
        OverviewFilters(FIRST, LAST),
        ZONE,
        use_rollups=True,
    )
    incremental = dump(session)
    refresh_rollups(session, full=True, zone=ZONE)
    assert dump(session) == incremental
