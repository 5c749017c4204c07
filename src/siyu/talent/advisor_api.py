"""/api/v1/talent/advisor: run the org advisor (stored, audited) and read the runs."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, IdPath
from siyu.models.talent import AdvisorRun
from siyu.talent.advisor_schemas import AdviceOut, AdvisorIn, AdvisorRunOut, AdvisorRunsOut
from siyu.talent.advisor_service import check_read, get_run, run_advisor, runs

router = APIRouter(prefix="/talent/advisor", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["talent"]


def run_out(run: AdvisorRun, username: str | None) -> AdvisorRunOut:
    """The API shape of a stored run."""
    return AdvisorRunOut(
        id=run.id,
        created_at=run.created_at,
        created_by=username,
        note=run.note,
        answers=run.answers,
        advice=AdviceOut.model_validate(run.result),
    )


@router.post("", response_model=AdvisorRunOut, status_code=201, tags=TAGS)
def post_advisor(body: AdvisorIn, session: SessionDep, actor: ActorDep) -> AdvisorRunOut:
    """Answer the questionnaire: the advice with its reasons, stored as a run (admin and lead; audited)."""
    run = run_advisor(session, actor, body.answers, body.note)
    session.commit()
    return run_out(run, actor.username)


@router.get("/runs", response_model=AdvisorRunsOut, tags=TAGS)
def get_runs(
    session: SessionDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> AdvisorRunsOut:
    """The newest advisor runs (admin, lead and analyst)."""
    check_read(actor)
    return AdvisorRunsOut(items=[run_out(run, username) for run, username in runs(session, limit)])


@router.get("/runs/{run_id}", response_model=AdvisorRunOut, tags=TAGS)
def get_one_run(run_id: IdPath, session: SessionDep, actor: ActorDep) -> AdvisorRunOut:
    """One advisor run; 404 when unknown."""
    check_read(actor)
    return run_out(*get_run(session, run_id))
