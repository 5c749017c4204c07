"""/api/v1/tasks: my inbox (today's and overdue open tasks), mark done, and the team's figures."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.db.types import utcnow
from siyu.journeys import inbox_service as inbox
from siyu.timeutil import local_date

router = APIRouter(prefix="/tasks", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["tasks"]


class TaskOut(BaseModel):
    """One open task: what to do, the text to copy, when it is due, whether it is overdue."""

    id: int
    kind: str
    group: str
    title: str
    body: str | None
    customer_id: int | None
    script_id: int | None
    due_at: datetime
    overdue: bool


class InboxOut(BaseModel):
    """The inbox of one staff member for one brand-local day."""

    staff_id: int
    day: date
    open_today: int
    overdue: int
    done_today: int
    tasks: list[TaskOut]


class DoneIn(BaseModel):
    """Tasks to mark done and the optional proof (a message id)."""

    model_config = ConfigDict(extra="forbid")

    task_ids: list[int] = Field(min_length=1, max_length=inbox.MAX_OPEN)
    proof: str | None = Field(default=None, max_length=500)


class DoneOut(BaseModel):
    """Closed now, ignored (already closed), outbound messages confirmed."""

    done: int
    skipped: list[int]
    confirmed: int


class FiguresOut(BaseModel):
    """One person's figures (definitions of tasks_done / task_on_time_rate)."""

    staff_id: int
    name: str
    done: int
    due: int
    on_time: int
    on_time_rate: float | None
    overdue_open: int


@router.get("", response_model=InboxOut, tags=TAGS)
def my_tasks(
    session: SessionDep,
    actor: ActorDep,
    staff_id: Annotated[int | None, Query(ge=1, description="another person's inbox (team viewers)")] = None,
) -> InboxOut:
    """Open tasks due today (brand-local) and overdue ones."""
    now = utcnow()
    box = inbox.inbox(session, actor, staff_id, now)
    tasks = [
        TaskOut(
            id=t.id,
            kind=t.kind,
            group=g.key,
            title=t.title,
            body=t.body,
            customer_id=t.customer_id,
            script_id=t.script_id,
            due_at=t.due_at,
            overdue=t.due_at < now,
        )
        for g in box.groups
        for t in g.tasks
    ]
    return InboxOut(
        staff_id=box.staff_id,
        day=box.day,
        open_today=box.open_today,
        overdue=box.overdue,
        done_today=box.done_today,
        tasks=tasks,
    )


@router.post("/done", response_model=DoneOut, tags=TAGS)
def mark_done(session: SessionDep, actor: ActorDep, body: DoneIn) -> DoneOut:
    """Mark tasks done: task_done events, queued sends they carry confirmed (audited)."""
    result = inbox.mark_done(session, actor, body.task_ids, body.proof)
    session.commit()
    return DoneOut(done=result.done, skipped=result.skipped, confirmed=result.confirmed)


@router.get("/team", response_model=list[FiguresOut], tags=TAGS)
def team(
    session: SessionDep,
    actor: ActorDep,
    first: Annotated[date | None, Query()] = None,
    last: Annotated[date | None, Query()] = None,
) -> list[FiguresOut]:
    """Per person in the caller's scope: done, due, on time, rate, open overdue (default: the last 7 days)."""
    last_day = last or local_date(utcnow())
    rows = inbox.team_figures(session, actor, first or last_day - timedelta(days=6), last_day)
    return [
        FiguresOut(
            staff_id=r.staff_id,
            name=r.name,
            done=r.done,
            due=r.due,
            on_time=r.on_time,
            on_time_rate=r.on_time_rate,
            overdue_open=r.overdue_open,
        )
        for r in rows
    ]
