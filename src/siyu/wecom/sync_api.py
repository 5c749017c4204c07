"""/api/v1/wecom/sync: list sync runs, read one (progress, counts), start or resume one."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, ConfigDict

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.models import WecomSyncRun
from siyu.wecom import sync_service as service

router = APIRouter(prefix="/wecom/sync", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["wecom"]


class SyncStart(BaseModel):
    """Which run to start; resume continues the latest interrupted or failed one instead."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["full", "incremental", "behaviour"] = "incremental"
    resume: bool = False


class SyncRunOut(BaseModel):
    """A sync run: where it is, how far, what it changed and how many API calls it cost."""

    id: int
    kind: str
    status: str
    stage: str
    progress_done: int
    progress_total: int
    api_calls: int
    counts: dict[str, int]
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    error: str | None


def _out(run: WecomSyncRun) -> SyncRunOut:
    return SyncRunOut(
        id=run.id,
        kind=run.kind,
        status=run.status.value,
        stage=run.stage,
        progress_done=run.progress_done,
        progress_total=run.progress_total,
        api_calls=run.api_calls,
        counts=dict(run.counts or {}),
        started_at=run.started_at,
        heartbeat_at=run.heartbeat_at,
        finished_at=run.finished_at,
        error=run.error,
    )


@router.get("/runs", response_model=list[SyncRunOut], tags=TAGS)
def list_runs_route(session: SessionDep, actor: ActorDep, limit: int = 20) -> list[SyncRunOut]:
    """The latest runs, newest first."""
    return [_out(r) for r in service.list_runs(session, max(1, min(limit, 100)))]


@router.get("/runs/{run_id}", response_model=SyncRunOut, tags=TAGS)
def get_run_route(run_id: int, session: SessionDep, actor: ActorDep) -> SyncRunOut:
    """One run (poll it for progress)."""
    return _out(service.get_run(session, run_id))


@router.post("/runs", response_model=SyncRunOut, status_code=202, tags=TAGS)
def start_run_route(
    data: SyncStart, request: Request, background: BackgroundTasks, session: SessionDep, actor: ActorDep
) -> SyncRunOut:
    """Start (or resume) a run; it proceeds after the answer (202), poll GET /runs/{id}."""
    run = service.start_from_console(session, actor, data.kind, resume=data.resume)
    session.commit()
    background.add_task(service.run_in_background, request.app.state.sessions, run.id)
    return _out(run)
