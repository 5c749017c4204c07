"""/api/v1/wecom/handover: candidates, start a handover, batches with status and quality, poll results."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query

from siyu.api.deps import ActorDep, SessionDep, WriterDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.db.types import utcnow
from siyu.wecom import handover_report as report
from siyu.wecom import handover_service as service
from siyu.wecom.credentials import client_for
from siyu.wecom.handover_schemas import (
    BatchDetailOut,
    BatchOut,
    CandidateOut,
    HandoverIn,
    PollOut,
    TransferOut,
)

router = APIRouter(prefix="/wecom/handover", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["wecom"]


def batch_out(s: report.BatchSummary) -> BatchOut:
    """The API shape of a batch summary."""
    return BatchOut(**asdict(s), kept_rate=s.kept_rate)


@router.get("/candidates", response_model=list[CandidateOut], tags=TAGS)
def list_candidates(
    session: SessionDep, actor: ActorDep, staff_id: Annotated[int, Query(description="The handover member")]
) -> list[CandidateOut]:
    """Customers the member follows in WeCom, with transfers in the last 90 days (two = blocked)."""
    return [
        CandidateOut(
            customer_id=c.customer_id,
            name=c.name,
            external_userid=c.external_userid,
            joined_at=c.joined_at,
            recent_transfers=c.recent_transfers,
            blocked_reason=c.blocked_reason,
        )
        for c in service.candidates(session, actor, staff_id, utcnow())
    ]


@router.post("/batches", response_model=BatchDetailOut, status_code=201, tags=TAGS)
def create_batch(session: SessionDep, actor: WriterDep, body: HandoverIn) -> BatchDetailOut:
    """Ask WeCom to transfer the customers; blocked ones are recorded and not sent. Completes within 24 h."""
    now = utcnow()
    with client_for(session) as client:
        batch = service.start_handover(
            session,
            actor,
            client,
            kind=body.kind,
            handover_staff_id=body.handover_staff_id,
            takeover_staff_id=body.takeover_staff_id,
            customer_ids=body.customer_ids,
            now=now,
            message=body.message,
        )
    session.commit()
    return get_batch(session, actor, batch.id, 14)


@router.get("/batches", response_model=list[BatchOut], tags=TAGS)
def list_batches(
    session: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    days: Annotated[int, Query(ge=1, le=180, description="kept = still following this many days later")] = 14,
) -> list[BatchOut]:
    """Recent batches, newest first, with how many customers the takeover member kept."""
    return [batch_out(s) for s in report.summaries(session, actor, utcnow(), limit=limit, days=days)]


@router.get("/batches/{batch_id}", response_model=BatchDetailOut, tags=TAGS)
def get_batch(
    session: SessionDep,
    actor: ActorDep,
    batch_id: int,
    days: Annotated[int, Query(ge=1, le=180, description="kept = still following this many days later")] = 14,
) -> BatchDetailOut:
    """One batch with each customer's status."""
    summary, lines = report.batch_detail(session, actor, batch_id, utcnow(), days=days)
    return BatchDetailOut(
        **batch_out(summary).model_dump(), transfers=[TransferOut(**asdict(line)) for line in lines]
    )


@router.post("/poll", response_model=PollOut, tags=TAGS)
def poll(session: SessionDep, actor: WriterDep) -> PollOut:
    """Read transfer results now (the worker does it every 15 minutes)."""
    service.require_handover_role(actor)
    with client_for(session) as client:
        result = service.poll_transfers(session, client, utcnow(), actor=actor)
    session.commit()
    return PollOut(
        batches=result.batches,
        api_calls=result.api_calls,
        by_status=dict(result.by_status),
        moved=result.moved,
    )
