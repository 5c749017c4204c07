"""Churn risk and warnings: who is warned and why, once per lapse; recall within the window, expiry; scoped list."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from itertools import count

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Invalid
from siyu.insights.churn import apply_churn, risk_mask, warning_list
from siyu.insights.contract import ChurnSettings
from siyu.insights.recall import track_recalls
from siyu.models import Customer, Order, OrderChannel, OrgUnit, Staff
from siyu.models.insights import ChurnWarning, CustomerInsight
from siyu.org.permissions import Actor, DataScope, PermissionRole
from siyu.org.service import create_staff, create_unit
from siyu.timeutil import brand_zone, day_start_utc
from tests.insights.lifecycle_world import AS_OF, add_customer, new_run, set_insight

RULES = ChurnSettings()  # p_alive < 0.3, overdue factor 1.5, ≥ 2 purchase days, 30-day window
_numbers = count(1)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware moment at a brand-local wall-clock time."""
    return datetime.combine(day, time(hour, minute), tzinfo=brand_zone())


def buy(session: Session, customer_id: int, when: datetime, amount: int = 10_000, refund: int = 0) -> int:
    """A paid order."""
    order = Order(
        source="t", external_no=f"o{next(_numbers)}", customer_id=customer_id, channel=OrderChannel.store,
        amount_fen=amount, refund_fen=refund, paid_at=when,
    )  # fmt: skip
    session.add(order)
    session.flush()
    return order.id


def warnings(session: Session) -> dict[int, ChurnWarning]:
    """Warnings by customer (tests open at most one per customer unless they say otherwise)."""
    session.expire_all()
    return {w.customer_id: w for w in session.scalars(select(ChurnWarning))}


def test_risk_reasons_and_thresholds(session: Session) -> None:
    run = new_run(session)

    def person(days: int, last: int, **kw: object) -> int:
        cid = add_customer(session, owner_staff_id=None)
        set_insight(session, run, cid, purchase_days=days, last_days_ago=last, **kw)  # type: ignore[arg-type]
        return cid

    by_alive = person(3, 10, p_alive=0.2, overdue_days=0, clv_fen=900)
    by_overdue = person(3, 40, p_alive=0.9, overdue_days=5)
    by_both = person(3, 40, p_alive=0.1, overdue_days=2)
    one_day = person(1, 10, p_alive=0.1)  # below min_purchase_days
    at_line = person(3, 10, p_alive=0.3, overdue_days=0)  # p_alive is not below 0.3
    filled = person(3, 20, expected_gap_days=10.0)  # 20 − 1.5 × 10 = 5 → overdue_days 5
    edge = person(3, 16, expected_gap_days=10.0)  # 16 − 15 = 1 → overdue 1
    short = person(3, 16, expected_gap_days=10.4)  # 16 − 15.6 = 0.4 → 0, not overdue
    no_gap = person(3, 400)  # nothing known: not at risk
    merged = person(3, 10, p_alive=0.05)
    session.get_one(Customer, merged).merged_into_id = by_alive
    session.flush()

    figures = apply_churn(session, run, AS_OF, RULES)
    session.expire_all()
    risk = {ci.customer_id: ci.churn_risk for ci in session.scalars(select(CustomerInsight))}
    at_risk = {by_alive, by_overdue, by_both, filled, edge, merged}
    assert {c for c, r in risk.items() if r} == at_risk
    overdue = {ci.customer_id: ci.overdue_days for ci in session.scalars(select(CustomerInsight))}
    assert (overdue[filled], overdue[edge], overdue[short], overdue[no_gap]) == (5, 1, 0, None)
    assert overdue[by_overdue] == 5  # a value written by the refresh is kept
    opened = warnings(session)
    assert set(opened) == at_risk - {merged}  # merged-away customers are never warned
    assert {c: w.reason for c, w in opened.items()} == {
        by_alive: "p_alive", by_overdue: "overdue", by_both: "both", filled: "overdue", edge: "overdue"
    }  # fmt: skip
    w = opened[by_alive]
    assert (w.status, w.warned_on, w.window_ends_on, w.run_id) == (
        "open",
        AS_OF,
        AS_OF + timedelta(days=30),
        run,
    )
    assert (w.p_alive, w.overdue_days, w.clv_fen) == (0.2, 0, 900)
    assert figures == {"at_risk": 6, "warnings_opened": 5, "overdue_filled": 3}
    # The NumPy rule the refresh can use at write time agrees with the SQL (NaN / −1 = unknown).
    rows = session.scalars(select(CustomerInsight).order_by(CustomerInsight.customer_id)).all()
    mask = risk_mask(
        np.array([r.purchase_days for r in rows]),
        np.array([np.nan if r.p_alive is None else r.p_alive for r in rows]),
        np.array([-1 if r.overdue_days is None else r.overdue_days for r in rows]),
        RULES,
    )
    assert mask.tolist() == [r.churn_risk for r in rows] and mask.sum() == 6
    del one_day, at_line


def test_owner_and_store_are_copied_and_warnings_open_once(session: Session) -> None:
    create_unit(session, code="hq", name="HQ", kind="company")
    create_unit(session, code="s1", name="S1", kind="store", parent_code="hq")
    guide = create_staff(session, code="g1", name="G1", unit_code="s1")
    session.flush()
    store = session.scalars(select(OrgUnit.id).where(OrgUnit.code == "s1")).one()
    run = new_run(session)
    cid = add_customer(session, owner_staff_id=guide.id, home_store_id=store)
    set_insight(session, run, cid, purchase_days=4, last_days_ago=50, p_alive=0.1)
    assert apply_churn(session, run, AS_OF, RULES)["warnings_opened"] == 1
    w = warnings(session)[cid]
    assert (w.owner_staff_id, w.home_store_id) == (guide.id, store)
    # Same day, next day, and after expiry without a new purchase: no second warning (one per lapse).
    assert apply_churn(session, run, AS_OF, RULES)["warnings_opened"] == 0
    assert apply_churn(session, run, AS_OF + timedelta(days=1), RULES)["warnings_opened"] == 0
    assert track_recalls(session, AS_OF + timedelta(days=30), RULES) == {"recalled": 0, "expired": 1}
    assert apply_churn(session, run, AS_OF + timedelta(days=31), RULES)["warnings_opened"] == 0
    # Bought again after the warning and lapsed again: a new warning.
    later = AS_OF + timedelta(days=200)
    set_insight(session, run, cid, purchase_days=5, last_days_ago=60, p_alive=0.1, as_of=later)
    assert apply_churn(session, run, later, RULES)["warnings_opened"] == 1
    assert len(session.scalars(select(ChurnWarning)).all()) == 2


def test_recall_within_window_after_window_and_expiry(session: Session) -> None:
    run = new_run(session)
    w_day = AS_OF
    people = {}
    for name in (
        "inside",
        "same_day",
        "refunded_then_edge",
        "after_midnight",
        "after",
        "late_import",
        "never",
    ):
        cid = add_customer(session)
        set_insight(session, run, cid, purchase_days=3, last_days_ago=60, p_alive=0.1)
        people[name] = cid
    apply_churn(session, run, w_day, RULES)
    end = w_day + timedelta(days=30)
    inside = buy(session, people["inside"], local(w_day + timedelta(days=5), 12))
    buy(session, people["inside"], local(w_day + timedelta(days=9), 12))  # a second order changes nothing
    buy(session, people["same_day"], local(w_day, 22))  # known when the warning was issued: no recall
    buy(session, people["refunded_then_edge"], local(w_day + timedelta(days=3), 12), amount=500, refund=500)
    edge = buy(session, people["refunded_then_edge"], local(end, 23, 50))  # last local minute of the window
    buy(session, people["after_midnight"], local(end + timedelta(days=1), 0, 10))  # UTC date is still `end`
    buy(session, people["after"], local(end + timedelta(days=3), 12))

    assert track_recalls(session, w_day + timedelta(days=6), RULES) == {"recalled": 1, "expired": 0}
    assert track_recalls(session, w_day + timedelta(days=6), RULES) == {"recalled": 0, "expired": 0}
    assert track_recalls(session, end, RULES) == {"recalled": 1, "expired": 5}
    got = warnings(session)
    assert (got[people["inside"]].status, got[people["inside"]].recalled_order_id) == ("recalled", inside)
    assert got[people["inside"]].recalled_on == w_day + timedelta(days=5)
    assert (got[people["refunded_then_edge"]].recalled_order_id, got[people["refunded_then_edge"]].recalled_on) == (edge, end)  # fmt: skip
    for name in ("same_day", "after_midnight", "after", "late_import", "never"):
        assert got[people[name]].status == "expired" and got[people[name]].recalled_on is None, name
    # An order inside the window imported after the expiry still counts (within LATE_DAYS)…
    late = buy(session, people["late_import"], local(w_day + timedelta(days=20), 9))
    assert track_recalls(session, end + timedelta(days=3), RULES) == {"recalled": 1, "expired": 0}
    assert warnings(session)[people["late_import"]].recalled_order_id == late
    # …but orders after the window never do.
    assert warnings(session)[people["after"]].status == "expired"


def brute_recall(warned: date, window_end: date, as_of: date, orders: list[tuple[datetime, int, bool]]) -> tuple[str, int | None]:  # fmt: skip
    """(status, recalled order) of a warning from its customer's orders (paid_at, id, counted) as of as_of."""
    zone = brand_zone()
    hits = sorted(
        (paid, oid)
        for paid, oid, counted in orders
        if counted and warned < paid.astimezone(zone).date() <= min(window_end, as_of)
    )
    if hits:
        return "recalled", hits[0][1]
    return ("expired" if window_end <= as_of else "open"), None


def test_random_recalls_match_brute_force(session: Session) -> None:
    rng = random.Random(3)
    run = new_run(session)
    rules = ChurnSettings(recall_window_days=10)
    orders: dict[int, list[tuple[datetime, int, bool]]] = {}
    for _ in range(30):
        cid = add_customer(session)
        set_insight(session, run, cid, purchase_days=2, last_days_ago=40, p_alive=0.05)
        orders[cid] = []
    apply_churn(session, run, AS_OF, rules)
    for cid in orders:
        for _ in range(rng.randrange(0, 4)):
            day = AS_OF + timedelta(days=rng.randrange(-1, 14))
            paid = day_start_utc(day) + timedelta(minutes=rng.choice([0, 1, 600, 1439]))
            refunded = rng.random() < 0.3
            oid = buy(session, cid, paid, amount=1000, refund=1000 if refunded else 0)
            orders[cid].append((paid, oid, not refunded))
    for offset in (1, 4, 10, 12):
        day = AS_OF + timedelta(days=offset)
        track_recalls(session, day, rules)
        got = warnings(session)
        for cid, w in got.items():
            assert (w.status, w.recalled_order_id) == brute_recall(AS_OF, w.window_ends_on, day, orders[cid]), (cid, day)  # fmt: skip
    statuses = {w.status for w in warnings(session).values()}
    assert statuses == {"recalled", "expired"}


def test_warning_list_respects_scope_and_filters(session: Session) -> None:
    create_unit(session, code="hq", name="HQ", kind="company")
    for code in ("s1", "s2"):
        create_unit(session, code=code, name=code, kind="store", parent_code="hq")
    g1 = create_staff(session, code="g1", name="G1", unit_code="s1")
    g2 = create_staff(session, code="g2", name="G2", unit_code="s2")
    session.flush()
    units = {u.code: u for u in session.scalars(select(OrgUnit))}
    run = new_run(session)
    mine: list[int] = []
    theirs: list[int] = []
    unowned: list[int] = []
    for i in range(5):
        for owner, bucket, store in ((g1, mine, None), (g2, theirs, None), (None, unowned, units["s1"].id)):
            cid = add_customer(session, owner_staff_id=owner.id if owner else None, home_store_id=store)
            set_insight(session, run, cid, purchase_days=3, last_days_ago=50, p_alive=0.1, clv_fen=100 * i)
            bucket.append(cid)
    apply_churn(session, run, AS_OF, RULES)
    every = Actor(None, "boss", PermissionRole.admin, DataScope.all)
    rows, total = warning_list(session, every, AS_OF, limit=4)
    assert total == 15 and len(rows) == 4
    assert [r.clv_fen for r in rows] == [400, 400, 400, 300]  # highest CLV first
    s1 = units["s1"]
    manager = Actor(
        None, "m1", PermissionRole.manager, DataScope.unit, scope_unit_id=s1.id, scope_unit_path=s1.path
    )
    rows, total = warning_list(session, manager, AS_OF, limit=50)
    assert total == 10 and {r.customer_id for r in rows} == set(mine) | set(unowned)
    guide = Actor(None, "g2", PermissionRole.guide, DataScope.self_, staff_id=g2.id)
    rows, total = warning_list(session, guide, None, limit=50)
    assert total == 5 and {r.customer_id for r in rows} == set(theirs)
    assert warning_list(session, every, AS_OF, owner_staff_id=g1.id)[1] == 5
    assert warning_list(session, every, AS_OF + timedelta(days=1))[1] == 0
    assert warning_list(session, every, None, status="recalled")[1] == 0
    page2, total = warning_list(session, every, None, limit=10, offset=10)
    assert total == 15 and len(page2) == 5
    nobody = Actor(
        None, "x", PermissionRole.guide, DataScope.self_
    )  # a self scope without staff sees nothing
    assert warning_list(session, nobody, None)[1] == 0
    with pytest.raises(Invalid, match="status"):
        warning_list(session, every, None, status="gone")
    assert session.get(Staff, g1.id) is not None
