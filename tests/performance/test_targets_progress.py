"""Targets: tiers at the boundaries, pace, actual == catalog == brute force, bulk assignment, roll-up, scope, score."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.errors import Conflict, Invalid, NotFound
from siyu.models import AuditLog, Customer, Order, PaceCurve, Staff, Target, TargetSubject
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.performance import target_progress
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import Direction, Period, SubjectKind
from siyu.performance.kpi_service import ItemIn, save_kpi_set, set_stage
from siyu.performance.target_progress import (
    SCORE_CAP_PERCENT,
    Tier,
    achievement_percent,
    expected_by,
    progress_many,
    staff_score,
    tier_of,
)
from siyu.performance.target_repository import TargetFilter, get_target, list_targets
from siyu.performance.targets_service import (
    TargetTerms,
    assign_to_unit_staff,
    create_target,
    rollup,
    update_target,
)
from siyu.timeutil import local_date
from tests.performance.test_leaderboard_world import DAY, ZONE, World, build

MAY = Period.month(DAY)  # DAY is 2026-05-20


@pytest.fixture()
def world(session: Session) -> World:
    w = build(session)
    session.commit()
    return w


def terms(metric: str = "gmv", value: float = 100_000, period: Period = MAY, **kw: object) -> TargetTerms:
    return TargetTerms(metric, period, value, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("actual", "tier"),
    [(99.9, Tier.below), (100, Tier.achieved), (119.9, Tier.achieved), (120, Tier.exceeded), (0, Tier.below)],
)
def test_tier_boundaries_higher_is_better(actual: float, tier: Tier) -> None:
    assert tier_of(actual, 100, 120, Direction.higher) is tier
    assert achievement_percent(actual, 100, Direction.higher) == pytest.approx(actual)


@pytest.mark.parametrize(
    ("actual", "percent", "tier"),
    [(100.1, 99.9, Tier.below), (100, 100, Tier.achieved), (80.1, 119.9, Tier.achieved), (80, 120, Tier.exceeded),
     (0, 200, Tier.exceeded), (250, 0, Tier.below)],
)  # fmt: skip
def test_tier_boundaries_lower_is_better(actual: float, percent: float, tier: Tier) -> None:
    assert tier_of(actual, 100, 120, Direction.lower) is tier
    assert achievement_percent(actual, 100, Direction.lower) == pytest.approx(percent)


def test_tier_threshold_is_configurable_and_exact_in_fen() -> None:
    # 150 % threshold; fen values whose float division would round (1/3 of a fen never appears).
    assert tier_of(149_999, 100_000, 150, Direction.higher) is Tier.achieved
    assert tier_of(150_000, 100_000, 150, Direction.higher) is Tier.exceeded
    assert tier_of(3 * 33_333, 99_999, 120, Direction.higher) is Tier.achieved


def test_pace_linear_seasonal_and_levels(session: Session, world: World) -> None:
    linear = create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], terms(value=3100))
    assert expected_by(linear, MAY, date(2026, 5, 10)) == pytest.approx(1000)
    assert expected_by(linear, MAY, date(2026, 4, 30)) == 0
    assert expected_by(linear, MAY, date(2026, 6, 3)) == pytest.approx(3100)
    weights = [2.0] * 10 + [1.0] * 21
    seasonal = create_target(
        session, SYSTEM_ACTOR, "staff", world.staff["B"],
        terms(value=4100, pace_curve=PaceCurve.seasonal, day_weights=weights),
    )  # fmt: skip
    assert expected_by(seasonal, MAY, date(2026, 5, 10)) == pytest.approx(4100 * 20 / 41)
    rate = create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], terms("conversion_rate", 0.3))
    assert expected_by(rate, MAY, date(2026, 5, 2)) == pytest.approx(0.3)  # a rate is expected at its level
    # Seasonal without weights: weekends count double. 2026-05-01 is a Friday; by the 3rd: Fri 1 + Sat 2 + Sun 2.
    weekend = create_target(
        session, SYSTEM_ACTOR, "staff", world.staff["D"], terms(value=4100, pace_curve=PaceCurve.seasonal)
    )
    assert weekend.day_weights is not None and len(weekend.day_weights) == 31
    total = sum(2 if date(2026, 5, d).weekday() >= 5 else 1 for d in range(1, 32))
    assert expected_by(weekend, MAY, date(2026, 5, 3)) == pytest.approx(4100 * 5 / total)
    with pytest.raises(Invalid, match="one weight per day \\(31 for 2026-05\\), got 3"):
        create_target(
            session, SYSTEM_ACTOR, "staff", world.staff["C"],
            terms(pace_curve=PaceCurve.seasonal, day_weights=[1, 2, 3]),
        )  # fmt: skip


def brute_gmv(session: Session) -> tuple[dict[int, int], dict[int, int]]:
    """May GMV per staff and per unit (own unit and every ancestor), from raw order rows in Python."""
    staff_unit = {s.id: s.unit_id for s in session.scalars(select(Staff))}
    customers = {c.id: c for c in session.scalars(select(Customer))}
    from siyu.models import OrgUnit

    paths = {u.id: u.path for u in session.scalars(select(OrgUnit))}
    by_staff: dict[int, int] = defaultdict(int)
    by_unit: dict[int, int] = defaultdict(int)
    for o in session.scalars(select(Order)):
        if not MAY.first <= local_date(o.paid_at, ZONE) <= MAY.last:
            continue
        seller = o.staff_id if o.staff_id is not None else customers[o.customer_id].owner_staff_id
        unit = (
            staff_unit[seller]
            if seller is not None
            else (o.store_id or customers[o.customer_id].home_store_id)
        )
        amount = o.amount_fen - o.refund_fen
        if seller is not None:
            by_staff[seller] += amount
        for uid, path in paths.items():
            if unit is not None and paths[unit].startswith(path):
                by_unit[uid] += amount
    return by_staff, by_unit


def test_actual_equals_catalog_and_brute_force_with_one_compute_per_batch(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for code in ("A", "B", "C", "D"):
        create_target(session, SYSTEM_ACTOR, "staff", world.staff[code], terms(value=200_000))
        create_target(session, SYSTEM_ACTOR, "staff", world.staff[code], terms("tasks_done", 10))
    for code in ("ST1", "R1", "C"):
        create_target(session, SYSTEM_ACTOR, "unit", world.units[code], terms(value=500_000))
    calls: list[tuple[str, int]] = []
    real = target_progress.compute_metrics

    def counting(*args: object, **kw: object) -> object:
        calls.append((str(args[3]), len(kw["subject_ids"])))  # type: ignore[arg-type]
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(target_progress, "compute_metrics", counting)
    targets = list_targets(session, SYSTEM_ACTOR, TargetFilter(MAY.first, MAY.last))
    rows = progress_many(session, targets, DAY, zone=ZONE)
    assert len(rows) == 11
    assert sorted(calls) == [("staff", 4), ("unit", 3)]  # one call per (period, subject kind), not per target
    staff_table = compute_metrics(session, ["gmv", "tasks_done"], MAY, SubjectKind.staff, zone=ZONE)
    unit_table = compute_metrics(session, ["gmv"], MAY, SubjectKind.unit, zone=ZONE)
    by_staff, by_unit = brute_gmv(session)
    for p in rows:
        t = p.target
        table = staff_table if t.subject_kind is TargetSubject.staff else unit_table
        value = table.get(t.metric_code, t.subject_id)
        assert p.actual == (value.value if value else 0)
        if t.metric_code == "gmv":
            brute = (by_staff if t.subject_kind is TargetSubject.staff else by_unit).get(t.subject_id, 0)
            assert p.actual == brute, (t.subject_kind, t.subject_id)
            assert p.percent == pytest.approx(100 * brute / t.target_value)
    assert any(p.actual for p in rows if p.target.metric_code == "gmv")  # the data is not all zero


def test_bulk_assignment_skips_leavers_and_existing(session: Session, world: World) -> None:
    result = assign_to_unit_staff(session, SYSTEM_ACTOR, world.units["ST1"], terms(value=150_000))
    assert result.created == 2 and result.skipped == []  # A and B; E has left
    subjects = session.scalars(select(Target.subject_id).order_by(Target.subject_id)).all()
    assert subjects == sorted([world.staff["A"], world.staff["B"]])
    assert session.scalar(select(func.count()).where(AuditLog.action == "target.bulk_create")) == 2
    again = assign_to_unit_staff(session, SYSTEM_ACTOR, world.units["ST1"], terms(value=150_000))
    assert again.created == 0 and again.skipped == ["A", "B"]
    with pytest.raises(Invalid, match="has no active staff"):
        assign_to_unit_staff(session, SYSTEM_ACTOR, world.units["R2"], terms())


def test_bulk_assignment_role_filter(session: Session, world: World) -> None:
    with pytest.raises(Invalid, match="with role store_manager"):
        assign_to_unit_staff(session, SYSTEM_ACTOR, world.units["ST1"], terms(), "store_manager")
    assert assign_to_unit_staff(session, SYSTEM_ACTOR, world.units["ST1"], terms(), "guide").created == 2


def test_rollup_sums_staff_targets_of_the_subtree(session: Session, world: World) -> None:
    create_target(session, SYSTEM_ACTOR, "unit", world.units["ST1"], terms(value=500_000))
    create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], terms(value=200_000))
    create_target(session, SYSTEM_ACTOR, "staff", world.staff["B"], terms(value=250_000))
    create_target(session, SYSTEM_ACTOR, "staff", world.staff["C"], terms(value=70_000))
    create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], terms("conversion_rate", 0.2))
    # Another period does not count.
    create_target(
        session, SYSTEM_ACTOR, "staff", world.staff["A"], terms(period=Period.month(date(2026, 6, 1)))
    )
    rows = {r.metric_code: r for r in rollup(session, SYSTEM_ACTOR, world.units["ST1"], MAY)}
    assert (rows["gmv"].unit_target, rows["gmv"].staff_sum, rows["gmv"].staff_count) == (500_000, 450_000, 2)
    assert rows["gmv"].gap == -50_000
    assert rows["conversion_rate"].additive is False and rows["conversion_rate"].gap is None
    region = {r.metric_code: r for r in rollup(session, SYSTEM_ACTOR, world.units["R1"], MAY)}
    assert region["gmv"].staff_sum == 520_000 and region["gmv"].unit_target is None
    brute = sum(t.target_value for t in session.scalars(select(Target)) if t.subject_kind is TargetSubject.staff
                and t.metric_code == "gmv" and t.first_day == MAY.first)  # fmt: skip
    assert region["gmv"].staff_sum == brute


def test_scope_and_forged_ids(session: Session, world: World) -> None:
    a = create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], terms())
    c = create_target(session, SYSTEM_ACTOR, "staff", world.staff["C"], terms())
    st2 = Actor(None, "m2", PermissionRole.manager, DataScope.unit, scope_unit_id=world.units["ST2"])
    guide_a = Actor(None, "ga", PermissionRole.guide, DataScope.self_, staff_id=world.staff["A"])
    assert [t.id for t in list_targets(session, st2, TargetFilter())] == [c.id]
    # The unit filter takes the unit's subtree: R1 holds ST1 (A) and ST2 (C); R2 holds neither.
    assert {t.id for t in list_targets(session, SYSTEM_ACTOR, TargetFilter(unit_id=world.units["R1"]))} == {
        a.id,
        c.id,
    }
    assert list_targets(session, SYSTEM_ACTOR, TargetFilter(unit_id=world.units["R2"])) == []
    assert list_targets(session, SYSTEM_ACTOR, TargetFilter(first=date(2026, 6, 1))) == []
    assert [t.id for t in list_targets(session, guide_a, TargetFilter())] == [a.id]
    assert get_target(session, st2, a.id) is None
    with pytest.raises(NotFound):
        update_target(session, st2, a.id, terms(value=1))
    with pytest.raises(NotFound):
        create_target(session, st2, "staff", world.staff["A"], terms("orders", 5))
    with pytest.raises(NotFound):
        rollup(session, st2, world.units["ST1"], MAY)


def test_validation_and_conflicts(session: Session, world: World) -> None:
    create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], terms())
    with pytest.raises(Conflict, match="already has a gmv target for 2026-05"):
        create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], terms(value=5))
    with pytest.raises(Invalid, match="not in the metric catalog"):
        create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], terms("nope"))
    with pytest.raises(Invalid, match=r"a rate's target is 0\.\.1"):
        create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], terms("conversion_rate", 30))
    with pytest.raises(Invalid, match="exceed threshold 100%"):
        create_target(
            session, SYSTEM_ACTOR, "staff", world.staff["A"], terms("orders", 5, exceed_percent=100)
        )
    with pytest.raises(NotFound, match="staff 999999"):
        create_target(session, SYSTEM_ACTOR, "staff", 999_999, terms("orders", 5))


def test_new_business_turns_the_penalty_off(session: Session, world: World) -> None:
    plain = create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], terms(value=10**12))
    fresh = create_target(
        session, SYSTEM_ACTOR, "staff", world.staff["B"], terms(value=10**12, new_business=True)
    )
    p_plain, p_fresh = progress_many(session, [plain, fresh], DAY, zone=ZONE)
    assert p_plain.tier is Tier.below and p_plain.penalised
    assert p_fresh.tier is Tier.below and not p_fresh.penalised


def test_score_uses_the_set_in_force_and_caps_items(session: Session, world: World) -> None:
    set_stage(session, SYSTEM_ACTOR, "growth", date(2026, 1, 1), None)
    save_kpi_set(session, SYSTEM_ACTOR, "guide", "growth", date(2026, 1, 1), [ItemIn("gmv", 100)])
    v2 = save_kpi_set(
        session, SYSTEM_ACTOR, "guide", "growth", MAY.first, [ItemIn("gmv", 60), ItemIn("tasks_done", 40)]
    )
    staff = world.staff["A"]
    gmv = create_target(session, SYSTEM_ACTOR, "staff", staff, terms(value=1))  # tiny: capped
    tasks = create_target(session, SYSTEM_ACTOR, "staff", staff, terms("tasks_done", 1000))
    score = staff_score(session, staff, MAY, DAY)
    assert score.kpi_set is not None and score.kpi_set.id == v2.id and score.role_code == "guide"
    by_code = {p.target.id: p for p in progress_many(session, [gmv, tasks], DAY)}
    g, t = by_code[gmv.id].percent, by_code[tasks.id].percent
    assert g is not None and t is not None and g > SCORE_CAP_PERCENT
    assert score.value == pytest.approx((60 * SCORE_CAP_PERCENT + 40 * t) / 100)
    # April is scored by version 1, which has only gmv; without an April target nothing is covered.
    april = staff_score(session, staff, Period.month(MAY.first - timedelta(days=1)), DAY)
    assert april.kpi_set is not None and april.kpi_set.version == 1 and april.value is None
