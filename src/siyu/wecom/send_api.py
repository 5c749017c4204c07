"""/api/v1/wecom/mass-sends and /api/v1/wecom/moments: platform templates (confirm, results, remind, cancel), moments."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from siyu.api.deps import ActorDep, SessionDep, WriterDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.wecom import groupmsg_queries as queries
from siyu.wecom import groupmsg_service as service
from siyu.wecom import moments_service as moments

router = APIRouter(prefix="/wecom", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["wecom"]


# The read side's row is the answer as it is.
MassSendOut = queries.MassSendRow


class RecipientOut(BaseModel):
    """One recipient's outbound row: customer or group id, name, status and reason."""

    id: int
    name: str | None
    status: str
    reason: str | None
    sent_at: datetime | None


class MassSendDetailOut(BaseModel):
    """One template, its outbound rows by status, and the first 500 recipients in scope."""

    mass_send: MassSendOut
    by_status: dict[str, int]
    recipients: list[RecipientOut]
    more: int


class TrackOut(BaseModel):
    """What one tracking or polling pass did."""

    counts: dict[str, int]
    errors: list[str]
    skipped: str | None


class MomentIn(BaseModel):
    """A moments task: a text or a script, the staff who publish it, customer tags who see it (all when empty)."""

    model_config = ConfigDict(extra="forbid")

    staff_ids: list[int] = Field(min_length=1)
    text: str | None = Field(default=None, max_length=2000)
    script_id: int | None = None
    tag_ids: list[int] = Field(default_factory=list)


class MomentStaffOut(BaseModel):
    """One member's part: published or not, and their task's status."""

    staff_id: int
    name: str
    published: bool
    published_at: datetime | None
    task_status: str | None


class MomentOut(BaseModel):
    """One moments task and its members in scope."""

    id: int
    jobid: str
    moment_id: str | None
    status: str
    error: str | None
    text: str
    tag_ids: list[int] | None
    created_at: datetime
    members: int
    published: int
    staff: list[MomentStaffOut] = Field(default_factory=list)


def _summary(s: service.TrackSummary | moments.MomentsSummary) -> TrackOut:
    counts = {k: v for k, v in vars(s).items() if isinstance(v, int)}
    return TrackOut(counts=counts, errors=s.errors, skipped=s.skipped)


@router.get("/mass-sends", response_model=list[MassSendOut], tags=TAGS)
def list_mass_sends(session: SessionDep, actor: ActorDep) -> list[MassSendOut]:
    """The latest 100 platform templates whose sender is in the caller's scope."""
    return [r for r in queries.list_mass_sends(session, actor)]


@router.post("/mass-sends/track", response_model=TrackOut, tags=TAGS)
def track(session: SessionDep, actor: WriterDep) -> TrackOut:
    """Poll WeCom now for open templates (the worker does this every few minutes)."""
    out = service.track_group_messages(session)
    session.commit()
    return _summary(out)


@router.get("/mass-sends/{message_id}", response_model=MassSendDetailOut, tags=TAGS)
def get_mass_send(session: SessionDep, actor: ActorDep, message_id: int) -> MassSendDetailOut:
    """One template with its outbound rows counted by status and the first recipients."""
    d = queries.mass_send_detail(session, actor, message_id)
    return MassSendDetailOut(
        mass_send=d.row,
        by_status=d.by_status,
        recipients=[RecipientOut.model_validate(r) for r in d.recipients],
        more=d.more,
    )


@router.post("/mass-sends/{message_id}/remind", response_model=MassSendOut, tags=TAGS)
def remind(session: SessionDep, actor: WriterDep, message_id: int) -> MassSendOut:
    """Remind the sender in WeCom (at most 3 per 24 h: 409 naming the next allowed time)."""
    service.remind(session, actor, message_id)
    session.commit()
    return queries.mass_send_detail(session, actor, message_id).row


@router.post("/mass-sends/{message_id}/cancel", response_model=MassSendOut, tags=TAGS)
def cancel(session: SessionDep, actor: WriterDep, message_id: int) -> MassSendOut:
    """Cancel a template the sender has not confirmed: its task is cancelled and its queued rows fail."""
    service.cancel(session, actor, message_id)
    session.commit()
    return queries.mass_send_detail(session, actor, message_id).row


def _moment_out(session: SessionDep, actor: ActorDep, moment_id: int) -> MomentOut:
    m, staff = moments.moment_detail(session, actor, moment_id)
    rows = [MomentStaffOut.model_validate(s) for s in staff]
    return MomentOut(
        id=m.id, jobid=m.jobid, moment_id=m.moment_id, status=m.status, error=m.error, text=m.text,
        tag_ids=m.tag_ids, created_at=m.created_at, members=len(rows),
        published=sum(1 for r in rows if r.published), staff=rows,
    )  # fmt: skip


@router.get("/moments", response_model=list[MomentOut], tags=TAGS)
def list_moments(session: SessionDep, actor: ActorDep) -> list[MomentOut]:
    """The latest 50 moments tasks with member counts (members in the caller's scope)."""
    return [
        MomentOut(
            id=x.moment.id,
            jobid=x.moment.jobid,
            moment_id=x.moment.moment_id,
            status=x.moment.status,
            error=x.moment.error,
            text=x.moment.text,
            tag_ids=x.moment.tag_ids,
            created_at=x.moment.created_at,
            members=x.members,
            published=x.published,
        )
        for x in moments.list_moments(session, actor)
    ]


@router.post("/moments", response_model=MomentOut, status_code=201, tags=TAGS)
def create_moment(session: SessionDep, actor: WriterDep, body: MomentIn) -> MomentOut:
    """Create a moments task on WeCom and a publish task for each staff member."""
    m = moments.create_moment(
        session,
        actor,
        staff_ids=body.staff_ids,
        text=body.text,
        script_id=body.script_id,
        tag_ids=body.tag_ids,
    )
    session.commit()
    return _moment_out(session, actor, m.id)


@router.post("/moments/poll", response_model=TrackOut, tags=TAGS)
def poll(session: SessionDep, actor: WriterDep) -> TrackOut:
    """Poll WeCom now for moment job results and per-member publish status."""
    out = moments.poll_moments(session)
    session.commit()
    return _summary(out)


@router.get("/moments/{moment_id}", response_model=MomentOut, tags=TAGS)
def get_moment(session: SessionDep, actor: ActorDep, moment_id: int) -> MomentOut:
    """One moments task with each member's publish status."""
    return _moment_out(session, actor, moment_id)
