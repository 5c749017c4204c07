"""Leaderboard counters: incremental == rebuild == brute force over raw rows; one order moves one value; ranks."""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.events import record_events
from siyu.models import (
    Channel,
    ChannelMembership,
    Customer,
    LeaderboardCounter,
    Order,
    Staff,
    StaffTask,
    TaskStatus,
)
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.performance.contract import Period
from siyu.performance.leaderboard import apply_new_events, rebuild
from siyu.performance.leaderboard_service import build_board, rank
from siyu.timeutil import local_date
from tests.performance.test_leaderboard_world import DAY, ZONE, World, add_order, build, local, refund_event
from tests.web.conftest import MakeAccount, login, make_account  # noqa: F401  (fixture)

MONTH = Period.custom(DAY - timedelta(days=45), DAY)


def brute_force(session: Session, period: Period) -> dict[str, dict[int, int]]:
    """metric → staff → value, recomputed in Python from the raw rows (no SQL aggregation)."""
    out: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def inside(moment: object) -> bool:
        return period.first <= local_date(moment, ZONE) <= period.last  # type: ignore[arg-type]

    owner = {c.id: c.owner_staff_id for c in session.scalars(select(Customer))}
    for o in session.scalars(select(Order)):
        seller = o.staff_id if o.staff_id is not None else owner[o.customer_id]
        if seller is not None and inside(o.paid_at):
            out["gmv"][seller] += o.amount_fen - o.refund_fen
            out["orders"][seller] += 1 if o.refund_fen < o.amount_fen else 0
    for t in session.scalars(select(StaffTask)):
        if t.status is TaskStatus.done and t.done_at is not None and inside(t.done_at):
            out["tasks_done"][t.staff_id] += 1
    for m in session.scalars(select(ChannelMembership)):
        who = m.staff_id if m.staff_id is not None else owner[m.customer_id]
        if who is not None and m.channel in (Channel.wecom, Channel.wechat_personal) and inside(m.joined_at):
            out["new_contacts"][who] += 1
    return out


def board_values(
    session: Session, metric: str, period: Period = MONTH, actor: Actor = SYSTEM_ACTOR
) -> dict[int, object]:
    return {r.staff_id: r.value for r in build_board(session, actor, metric, period).rows}


def counters(session: Session) -> dict[tuple[object, int, str], int]:
    return {(c.day, c.staff_id, c.metric): c.value for c in session.scalars(select(LeaderboardCounter))}


@pytest.fixture()
def world(session: Session) -> World:
    w = build(session)
    session.commit()
    return w


def test_rebuild_matches_brute_force_for_every_metric_and_day(session: Session, world: World) -> None:
    rebuild(session, zone=ZONE)
    for period in (MONTH, Period.day(DAY - timedelta(days=3)), Period.week(DAY - timedelta(days=10))):
        expected = brute_force(session, period)
        for metric in ("gmv", "orders", "tasks_done", "new_contacts"):
            got = {k: v for k, v in board_values(session, metric, period).items() if v}
            assert got == {k: v for k, v in expected[metric].items() if v}, (metric, period)
    assert sum(expected["orders"].values()) > 0


def test_incremental_from_the_event_log_equals_rebuild(session: Session, world: World) -> None:
    result = apply_new_events(session, zone=ZONE, batch=37)  # small windows exercise the batching
    assert result.events > 0 and result.to_event_id > 0
    incremental = counters(session)
    rebuild(session, zone=ZONE)
    assert counters(session) == incremental
    assert incremental


def test_one_new_order_moves_gmv_by_its_net_amount_and_applying_twice_does_nothing(
    session: Session, world: World
) -> None:
    rebuild(session, zone=ZONE)
    before = board_values(session, "gmv")
    orders_before = board_values(session, "orders")
    order = add_order(session, world, "B", local(DAY, 23, 59), 12_345, refund=345)
    result = apply_new_events(session, zone=ZONE)
    assert result.events == 2  # ordered + refunded
    after = board_values(session, "gmv")
    b = world.staff["B"]
    assert after[b] == before[b] + order.amount_fen - order.refund_fen
    assert {k: v for k, v in after.items() if k != b} == {k: v for k, v in before.items() if k != b}
    assert board_values(session, "orders")[b] == orders_before[b] + 1
    snapshot = counters(session)
    again = apply_new_events(session, zone=ZONE)
    assert again.events == 0 and again.counters_changed == 0
    assert counters(session) == snapshot


def test_a_refund_event_lowers_gmv_on_the_paid_day(session: Session, world: World) -> None:
    order = add_order(session, world, "A", local(DAY - timedelta(days=1), 10), 50_000)
    apply_new_events(session, zone=ZONE)
    day_before = board_values(session, "gmv", Period.day(DAY - timedelta(days=1)))[world.staff["A"]]
    session.execute(
        update(Order).where(Order.id == order.id).values(refund_fen=20_000, refunded_at=local(DAY, 9))
    )
    session.refresh(order)
    record_events(session, [refund_event(order, 20_000)])
    apply_new_events(session, zone=ZONE)
    assert (
        board_values(session, "gmv", Period.day(DAY - timedelta(days=1)))[world.staff["A"]]
        == day_before - 20_000
    )
    incremental = counters(session)
    rebuild(session, zone=ZONE)
    assert counters(session) == incremental


def test_the_local_day_cut_puts_23_59_on_that_day(session: Session, world: World) -> None:
    rebuild(session, zone=ZONE)
    later = DAY + timedelta(days=3)
    add_order(session, world, "C", local(later, 23, 59), 700)
    add_order(session, world, "C", local(later + timedelta(days=1), 0, 0), 900)
    apply_new_events(session, zone=ZONE)
    assert board_values(session, "gmv", Period.day(later))[world.staff["C"]] == 700
    assert board_values(session, "gmv", Period.day(later + timedelta(days=1)))[world.staff["C"]] == 900


def test_ratio_is_derived_from_its_parts(session: Session, world: World) -> None:
    rebuild(session, zone=ZONE)
    rows = build_board(session, SYSTEM_ACTOR, "avg_order_value", MONTH).rows
    expected = brute_force(session, MONTH)
    for row in rows:
        orders = expected["orders"].get(row.staff_id, 0)
        if orders:
            assert row.value == pytest.approx(expected["gmv"][row.staff_id] / orders)
        else:
            assert row.value is None and row.rank is None


def test_ties_share_a_rank_and_undefined_values_come_last() -> None:
    ranked = rank([(1, 10), (2, 30), (3, 10), (4, None), (5, 30), (6, 5)])
    assert [(r, k) for r, k, _ in ranked] == [(1, 2), (1, 5), (3, 1), (3, 3), (5, 6), (None, 4)]


def test_board_lists_active_staff_of_readable_units_only(session: Session, world: World) -> None:
    rebuild(session, zone=ZONE)
    st1 = Actor(None, "mgr", PermissionRole.manager, DataScope.unit, scope_unit_id=world.units["ST1"])
    ids = set(board_values(session, "gmv", actor=st1))
    left_has_orders = bool(brute_force(session, MONTH)["gmv"].get(world.staff["E"]))
    assert ids == {world.staff["A"], world.staff["B"]} | ({world.staff["E"]} if left_has_orders else set())
    from siyu.errors import NotFound

    with pytest.raises(NotFound):
        build_board(session, st1, "gmv", MONTH, world.units["ST3"])


@pytest.mark.skipif(
    importlib.util.find_spec("siyu.performance.compute") is None, reason="compute_metrics not built yet"
)
def test_leaderboard_equals_the_catalog(session: Session, world: World) -> None:
    from siyu.performance.compute import compute_metrics
    from siyu.performance.contract import SubjectKind

    rebuild(session, zone=ZONE)
    staff_ids = list(world.staff.values())
    for period in (MONTH, Period.day(DAY - timedelta(days=2))):
        table = compute_metrics(
            session,
            ["gmv", "orders", "tasks_done", "new_contacts"],
            period,
            SubjectKind.staff,
            subject_ids=staff_ids,
            zone=ZONE,
        )
        for metric in ("gmv", "orders", "tasks_done", "new_contacts"):
            board = board_values(session, metric, period)
            for staff_id in staff_ids:
                value = table.get(metric, staff_id)
                assert (board.get(staff_id) or 0) == ((value.value if value else 0) or 0), (
                    metric,
                    staff_id,
                    period,
                )


def test_page_polls_every_2_seconds_and_api_agrees(
    client: TestClient,
    engine: Engine,
    make_account: MakeAccount,  # noqa: F811
    auth: dict[str, str],
) -> None:
    with session_factory(engine)() as s:
        world = build(s)
        rebuild(s, zone=ZONE)
        s.commit()
        guide_code = s.scalar(select(Staff.code).where(Staff.id == world.staff["A"]))
    make_account("ga", "guide", scope="self", staff_code=guide_code)
    assert login(client, "ga").status_code == 303
    url = f"/performance/leaderboard?metric=gmv&period=month&day={DAY.isoformat()}"
    page = client.get(url)
    assert page.status_code == 200, page.text
    assert 'hx-trigger="every 2s"' in page.text and "<script>" not in page.text
    fragment = client.get(url, headers={"HX-Request": "true"}).text.strip()
    assert fragment.startswith('<div id="board"')
    # A guide sees the colleagues of their own store only.
    assert 'data-staff="A"' in fragment and 'data-staff="B"' in fragment and 'data-staff="D"' not in fragment
    api = client.get(
        "/api/v1/leaderboard",
        params={"metric": "gmv", "period": "month", "day": DAY.isoformat()},
        headers=auth,
    )
    assert api.status_code == 200, api.text
    body = api.json()
    with session_factory(engine)() as s:
        board = build_board(s, SYSTEM_ACTOR, "gmv", Period.month(DAY))
    assert [(r["staff_id"], r["value"], r["rank"]) for r in body["rows"]] == [
        (r.staff_id, r.value, r.rank) for r in board.rows
    ]
    assert client.get("/api/v1/leaderboard", params={"metric": "nope"}, headers=auth).status_code == 422


def test_cli_apply_then_rebuild_gives_the_same_counters(cli_env: str, engine: Engine) -> None:
    from typer.testing import CliRunner

    from siyu.cli import app as cli

    with session_factory(engine)() as s:
        build(s)
        s.commit()
    applied = CliRunner().invoke(cli, ["leaderboard", "apply"])
    assert applied.exit_code == 0, applied.output
    assert "counters changed" in applied.output
    with session_factory(engine)() as s:
        incremental = counters(s)
    rebuilt = CliRunner().invoke(cli, ["leaderboard", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"{len(incremental)} daily counters" in rebuilt.output
    with session_factory(engine)() as s:
        assert counters(s) == incremental


def test_default_day_is_the_last_active_one_when_nothing_happened_since(
    session: Session,
    client: TestClient,
    make_account: MakeAccount,  # noqa: F811
) -> None:
    from siyu.performance.leaderboard_service import default_day

    assert default_day(session, DAY) == DAY  # no counters yet: today stands
    build(session)
    rebuild(session, zone=ZONE)
    session.commit()
    last = max(session.scalars(select(LeaderboardCounter.day)))
    assert default_day(session, last + timedelta(days=30)) == last
    assert default_day(session, last - timedelta(days=1)) == last - timedelta(days=1)
    make_account("boss1", "admin", scope="all")
    assert login(client, "boss1").status_code == 303
    page = client.get("/performance/leaderboard")
    assert page.status_code == 200
    assert f'value="{last.isoformat()}"' in page.text
