"""The demo's 人才盘点: a closed last-quarter cycle fully submitted from evidence, and an open current cycle."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.demo.talent import last_full_quarter, quarter_of
from siyu.models import Account, Staff, StaffRole, StaffStatus
from siyu.models.talent import Assessment, AssessmentCycle, AssessmentScore, AssessmentStatus, CycleStatus
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.talent import cycle_repository as repo
from siyu.talent import cycle_service as service
from siyu.talent.assessment_logic import calibrate, parse_thresholds, score
from siyu.talent.cycle_views import calibration_rows
from tests.demo.conftest import Built, built, db  # noqa: F401  (fixtures)


def test_quarters() -> None:
    assert quarter_of(date(2026, 11, 1)) == (date(2026, 10, 1), date(2026, 12, 31))
    assert last_full_quarter(date(2026, 11, 1)) == (date(2026, 7, 1), date(2026, 9, 30))
    assert last_full_quarter(date(2026, 9, 30)) == (date(2026, 7, 1), date(2026, 9, 30))
    assert last_full_quarter(date(2026, 1, 15)) == (date(2025, 10, 1), date(2025, 12, 31))


def test_demo_cycles(db: Session, built: Built) -> None:  # noqa: F811
    as_of = built.result.params.as_of
    cycles = {c.status: c for c in db.scalars(select(AssessmentCycle))}
    closed, current = cycles[CycleStatus.closed], cycles[CycleStatus.open]
    assert (closed.first_day, closed.last_day) == last_full_quarter(as_of)
    assert current.first_day == quarter_of(as_of)[0]
    active = set(
        db.scalars(
            select(Staff.id)
            .join(StaffRole, StaffRole.staff_id == Staff.id)
            .where(Staff.status == StaffStatus.active)
        )
    )
    rows = db.scalars(select(Assessment).where(Assessment.cycle_id == closed.id)).all()
    assert {a.staff_id for a in rows} == active
    assert all(a.status is AssessmentStatus.submitted and a.evidence for a in rows)
    # Every stored outcome is score() of the stored scores.
    scores = repo.scores_of(db, [a.id for a in rows])
    cuts = parse_thresholds(closed.thresholds)
    for a in rows:
        dims = service.dimensions_for(db, a)
        expected = score(dims, {k: v.score for k, v in scores[a.id].items()}, cuts)
        assert (a.weighted_score, a.outcome) == (expected.weighted_score, expected.outcome)
    outcomes = Counter(a.outcome for a in rows)
    assert len(outcomes) >= 3  # a spread, not everyone in one band
    # Assessor: the manager whose scope holds the person where one exists, never the person themselves.
    accounts = {a.id: a for a in db.scalars(select(Account))}
    heads = {a.id for a in accounts.values() if a.username in ("lead", "admin")}
    for a in rows:
        assessor = accounts[a.assessor_account_id]
        assert assessor.staff_id != a.staff_id
        assert assessor.id in heads or assessor.permission_role == "manager"
    assert any(accounts[a.assessor_account_id].permission_role == "manager" for a in rows)
    calibration = calibrate(calibration_rows(repo.cycle_rows(db, SYSTEM_ACTOR, closed.id, repo.RowFilter())))
    assert 1 <= len(calibration.outliers) <= len(rows) // 4
    drafts = db.scalars(select(Assessment).where(Assessment.cycle_id == current.id)).all()
    assert {a.staff_id for a in drafts} == active and all(a.status is AssessmentStatus.draft for a in drafts)
    started = set(db.scalars(select(AssessmentScore.assessment_id).where(
        AssessmentScore.assessment_id.in_([a.id for a in drafts]))))  # fmt: skip
    assert 1 <= len(started) <= 8
