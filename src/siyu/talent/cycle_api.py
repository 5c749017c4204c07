"""JSON routes of assessment cycles: /api/v1/talent/cycles and /api/v1/talent/assessments (same service as the pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, IdPath
from siyu.errors import Forbidden, NotFound
from siyu.models.talent import AssessmentOutcome, AssessmentStatus
from siyu.org.permissions import Actor
from siyu.talent import cycle_repository as repo
from siyu.talent import cycle_service as service
from siyu.talent.access import ASSESS
from siyu.talent.cycle_schemas import AssessmentOut, CycleCreate, CycleOut, ScoreOut, ScoresIn

router = APIRouter(prefix="/talent", tags=["talent"], responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)


def require_assess(actor: ActorDep) -> Actor:
    """Assessments are for the administrator, the lead and managers (their own subtree)."""
    if not ASSESS.allows(actor):
        raise Forbidden(f"role {actor.role.value!r} may not read or write assessments")
    return actor


AssessorDep = Annotated[Actor, Depends(require_assess)]


def _scores(session: SessionDep, ids: list[int]) -> dict[int, list[ScoreOut]]:
    saved = repo.scores_of(session, ids)
    return {
        i: [ScoreOut(dimension=s.dimension_code, score=s.score, comment=s.comment) for s in rows.values()]
        for i, rows in saved.items()
    }


@router.get("/cycles", response_model=list[CycleOut])
def list_cycles(session: SessionDep, actor: AssessorDep) -> list[CycleOut]:
    """Every cycle with its progress counted over the assessments the caller may read."""
    cycles = repo.list_cycles(session)
    progress = repo.cycle_progress(session, actor, [c.id for c in cycles])
    return [CycleOut.of(c, progress[c.id]) for c in cycles]


@router.post("/cycles", response_model=CycleOut, status_code=201)
def create_cycle(data: CycleCreate, session: SessionDep, actor: AssessorDep) -> CycleOut:
    """Open a cycle (administrator or lead): one draft per active staff member holding a role."""
    thresholds = data.thresholds.model_dump() if data.thresholds else None
    cycle = service.open_cycle(session, actor, data.name, data.first_day, data.last_day, thresholds)
    session.commit()
    return CycleOut.of(cycle, repo.cycle_progress(session, actor, [cycle.id])[cycle.id])


@router.get("/cycles/{cycle_id}/assessments", response_model=list[AssessmentOut])
def cycle_assessments(
    cycle_id: IdPath,
    session: SessionDep,
    actor: AssessorDep,
    status: Annotated[AssessmentStatus | None, Query()] = None,
    outcome: Annotated[AssessmentOutcome | None, Query()] = None,
    role: Annotated[str | None, Query(max_length=48)] = None,
) -> list[AssessmentOut]:
    """The assessments of a cycle the caller may read, with their scores."""
    if repo.get_cycle(session, cycle_id) is None:
        raise NotFound(f"assessment cycle {cycle_id} does not exist")
    rows = repo.cycle_rows(
        session, actor, cycle_id, repo.RowFilter(role_code=role, status=status, outcome=outcome)
    )
    scores = _scores(session, [r.assessment.id for r in rows])
    return [AssessmentOut.of_row(r, scores[r.assessment.id]) for r in rows]


@router.get("/assessments/{assessment_id}", response_model=AssessmentOut)
def get_assessment(assessment_id: IdPath, session: SessionDep, actor: AssessorDep) -> AssessmentOut:
    """One readable assessment with its scores and evidence."""
    a = service.get_assessment(session, actor, assessment_id)
    return AssessmentOut.of(a, _scores(session, [a.id])[a.id], evidence=True)


@router.put("/assessments/{assessment_id}/scores", response_model=AssessmentOut)
def put_scores(
    assessment_id: IdPath, data: ScoresIn, session: SessionDep, actor: AssessorDep
) -> AssessmentOut:
    """Save a draft's scores (the assessor must have the person in scope and not be them)."""
    scores = {code: (s.score, s.comment) for code, s in data.scores.items()}
    a = service.save_scores(session, actor, assessment_id, scores)
    session.commit()
    return AssessmentOut.of(a, _scores(session, [a.id])[a.id])


@router.post("/assessments/{assessment_id}/submit", response_model=AssessmentOut)
def submit(assessment_id: IdPath, session: SessionDep, actor: AssessorDep) -> AssessmentOut:
    """Submit a fully scored draft: weighted score, outcome (进/留/转/退) and explanation."""
    a = service.submit(session, actor, assessment_id)
    session.commit()
    return AssessmentOut.of(a, _scores(session, [a.id])[a.id], evidence=True)
