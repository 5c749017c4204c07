"""Cycle service: opening (one draft per active staff member with a role), validation, scope, submit, close."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models import AuditLog
from siyu.models.talent import Assessment, AssessmentStatus, CycleStatus
from siyu.talent import cycle_repository as repo
from siyu.talent import cycle_service as service
from siyu.talent.assessment_logic import parse_thresholds, score
from tests.talent.cycle_world import ASSESSED, FIRST, LAST, R1_SUBTREE, ST1_UNIT, World, actor, build


@pytest.fixture()
def world(engine: Engine) -> World:
    return build(engine)


def _open(session: Session, who: str = "lead", name: str = "2026 Q3") -> int:
    cycle = service.open_cycle(session, actor(session, who), name, FIRST, LAST, {"promote_min": 4.0})
    session.flush()
    return cycle.id


def _by_staff(session: Session, cycle_id: int) -> dict[int, Assessment]:
    rows = session.scalars(select(Assessment).where(Assessment.cycle_id == cycle_id))
    return {a.staff_id: a for a in rows}


def test_open_creates_one_draft_per_active_staff_with_a_role(session: Session, world: World) -> None:
    cycle_id = _open(session)
    rows = _by_staff(session, cycle_id)
    assert set(rows) == {world.staff[c] for c in ASSESSED}
    u1 = rows[world.staff["U1"]]
    assert u1.role_code == "member_ops"  # the first role code by name
    assert u1.unit_id == world.units["PD"]
    assert all(a.status is AssessmentStatus.draft and a.evidence is not None for a in rows.values())
    # Every dimension of the person's model has an evidence entry (possibly empty).
    dims = service.dimensions_for(session, u1)
    assert set(u1.evidence or {}) == {d.code for d in dims}
    audit = session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "talent.cycle.open")
    )
    assert audit == 1


@pytest.mark.parametrize(
    ("name", "first", "last", "cuts", "error"),
    [
        ("", FIRST, LAST, None, Invalid),
        ("x", LAST, FIRST, None, Invalid),
        ("x", FIRST.replace(year=2024), LAST, None, Invalid),
        ("x", FIRST, LAST, {"promote_min": 3.0, "keep_min": 3.4}, Invalid),
        ("x", FIRST, LAST, {"promote_min": "abc"}, Invalid),
    ],
)
def test_open_validates(session: Session, world: World, name, first, last, cuts, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        service.open_cycle(session, actor(session, "lead"), name, first, last, cuts)


def test_only_heads_open_and_names_are_unique(session: Session, world: World) -> None:
    with pytest.raises(Forbidden):
        service.open_cycle(session, actor(session, "region"), "x", FIRST, LAST)
    _open(session)
    with pytest.raises(Conflict):
        _open(session)


def _all_fours(session: Session, a: Assessment) -> dict[str, tuple[int, str]]:
    return {d.code: (4, "ok") for d in service.dimensions_for(session, a)}


def test_scope_of_reading_and_scoring(session: Session, world: World) -> None:
    cycle_id = _open(session)
    rows = _by_staff(session, cycle_id)
    region, store, guide = (actor(session, u) for u in ("region", "store", "guide"))
    seen = {r.assessment.staff_id for r in repo.cycle_rows(session, region, cycle_id, repo.RowFilter())}
    assert seen == {world.staff[c] for c in R1_SUBTREE}
    seen = {r.assessment.staff_id for r in repo.cycle_rows(session, store, cycle_id, repo.RowFilter())}
    assert seen == {world.staff[c] for c in ST1_UNIT}
    # A guide sees only their own, and only once submitted.
    assert repo.cycle_rows(session, guide, cycle_id, repo.RowFilter()) == []
    other_store = rows[world.staff["G3"]].id
    with pytest.raises(NotFound):
        service.save_scores(session, store, other_store, {})
    own = rows[world.staff["SM1"]]
    with pytest.raises(Forbidden, match="own assessment"):
        service.save_scores(session, store, own.id, _all_fours(session, own))
    with pytest.raises(Forbidden):
        service.save_scores(session, guide, rows[world.staff["G1"]].id, {})
    # The region manager scores the store manager: allowed.
    service.save_scores(session, region, own.id, _all_fours(session, own))


def test_submit_equals_score_and_guide_then_sees_it(session: Session, world: World) -> None:
    cycle_id = _open(session)
    a = _by_staff(session, cycle_id)[world.staff["G1"]]
    store = actor(session, "store")
    dims = service.dimensions_for(session, a)
    given = {d.code: (1 + i % 5, f"c{i}") for i, d in enumerate(dims)}
    first = dims[0].code
    service.save_scores(session, store, a.id, {first: given[first]})
    with pytest.raises(Invalid, match="not scored yet"):
        service.submit(session, store, a.id)
    with pytest.raises(Invalid, match="whole number"):
        service.save_scores(session, store, a.id, {first: (6, "")})
    with pytest.raises(Invalid, match="not a dimension"):
        service.save_scores(session, store, a.id, {"nope": (3, "")})
    service.save_scores(session, store, a.id, given)
    service.submit(session, store, a.id)
    expected = score(dims, {k: v for k, (v, _c) in given.items()}, parse_thresholds({"promote_min": 4.0}))
    assert (a.weighted_score, a.outcome) == (expected.weighted_score, expected.outcome)
    assert a.explanation and a.explanation["zh"] == expected.explanation_zh
    with pytest.raises(Invalid, match="already submitted"):
        service.save_scores(session, store, a.id, given)
    guide = actor(session, "guide")
    assert [r.assessment.id for r in repo.cycle_rows(session, guide, cycle_id, repo.RowFilter())] == [a.id]
    with pytest.raises(Forbidden):
        service.reopen(session, store, a.id)
    service.reopen(session, actor(session, "lead"), a.id)
    assert a.status is AssessmentStatus.draft and a.outcome is None


def test_closed_cycle_rejects_edits(session: Session, world: World) -> None:
    cycle_id = _open(session)
    a = _by_staff(session, cycle_id)[world.staff["G1"]]
    lead = actor(session, "lead")
    with pytest.raises(Forbidden):
        service.close_cycle(session, actor(session, "region"), cycle_id)
    cycle = service.close_cycle(session, lead, cycle_id)
    assert cycle.status is CycleStatus.closed and cycle.closed_at is not None
    for call in (
        lambda: service.save_scores(session, lead, a.id, _all_fours(session, a)),
        lambda: service.submit(session, lead, a.id),
        lambda: service.refresh_evidence(session, lead, cycle_id),
        lambda: service.close_cycle(session, lead, cycle_id),
    ):
        with pytest.raises(Invalid, match="closed"):
            call()


def test_refresh_evidence_touches_drafts_only(session: Session, world: World) -> None:
    cycle_id = _open(session)
    rows = _by_staff(session, cycle_id)
    lead = actor(session, "lead")
    done = rows[world.staff["G2"]]
    service.save_scores(session, lead, done.id, _all_fours(session, done))
    service.submit(session, lead, done.id)
    done.evidence = {"frozen": []}
    session.flush()
    assert service.refresh_evidence(session, lead, cycle_id) == len(ASSESSED) - 1
    session.expire_all()
    assert session.get(Assessment, done.id).evidence == {"frozen": []}  # type: ignore[union-attr]
