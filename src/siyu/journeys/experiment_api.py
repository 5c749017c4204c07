"""JSON routes for experiments under /api/v1/experiments: list, create, get, start, stop, report, assign."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from siyu.api.deps import ActorDep, SessionDep, WriterDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, IdPath
from siyu.journeys import experiment_service as service
from siyu.journeys.experiment_report import experiment_report
from siyu.journeys.experiment_schemas import ExperimentCreate, ExperimentOut, ExperimentReport

router = APIRouter(
    prefix="/experiments", tags=["experiments"], responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER
)


class AssignIn(BaseModel):
    """Customers to assign (sticky; existing assignments are returned unchanged)."""

    customer_ids: list[int] = Field(min_length=1, max_length=10_000)


class AssignmentOut(BaseModel):
    """A customer's arm and the script it sends."""

    customer_id: int
    arm_id: int
    script_id: int


@router.get("", response_model=list[ExperimentOut])
def list_experiments(session: SessionDep, actor: ActorDep) -> list[ExperimentOut]:
    """Every experiment with its arms, assigned customers and planned sample per arm."""
    return service.list_experiments(session, actor)


@router.post("", response_model=ExperimentOut, status_code=201)
def create_experiment(data: ExperimentCreate, session: SessionDep, actor: WriterDep) -> ExperimentOut:
    """Create a draft experiment; arms must be approved scripts; the planned sample is computed once."""
    experiment = service.create_experiment(session, actor, data)
    session.commit()
    return service.experiment_detail(session, actor, experiment.id)


@router.get("/{experiment_id}", response_model=ExperimentOut)
def get_experiment(experiment_id: IdPath, session: SessionDep, actor: ActorDep) -> ExperimentOut:
    """One experiment with its arms."""
    return service.experiment_detail(session, actor, experiment_id)


@router.post("/{experiment_id}/start", response_model=ExperimentOut)
def start_experiment(experiment_id: IdPath, session: SessionDep, actor: WriterDep) -> ExperimentOut:
    """draft -> running (audited)."""
    service.start_experiment(session, actor, experiment_id)
    session.commit()
    return service.experiment_detail(session, actor, experiment_id)


@router.post("/{experiment_id}/stop", response_model=ExperimentOut)
def stop_experiment(experiment_id: IdPath, session: SessionDep, actor: WriterDep) -> ExperimentOut:
    """running -> stopped (audited)."""
    service.stop_experiment(session, actor, experiment_id)
    session.commit()
    return service.experiment_detail(session, actor, experiment_id)


@router.get("/{experiment_id}/report", response_model=ExperimentReport)
def report(
    experiment_id: IdPath,
    session: SessionDep,
    actor: ActorDep,
    as_of: Annotated[datetime | None, Query(description="evaluate as of this moment (default now)")] = None,
) -> ExperimentReport:
    """Per-arm figures within the caller's scope and the verdict ("collecting" before the planned sample)."""
    return experiment_report(session, actor, experiment_id, as_of)


@router.post("/{experiment_id}/assign", response_model=list[AssignmentOut])
def assign(
    experiment_id: IdPath, data: AssignIn, session: SessionDep, actor: WriterDep
) -> list[AssignmentOut]:
    """Assign customers to arms (sticky); unassigned customers get the control while not running."""
    got = service.assign_arms(session, experiment_id, data.customer_ids)
    session.commit()
    return [AssignmentOut(customer_id=c, arm_id=a, script_id=s) for c, (a, s) in sorted(got.items())]
