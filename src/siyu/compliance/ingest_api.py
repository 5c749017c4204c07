"""POST /api/v1/compliance/messages: a batch of chat-archive records in, counts and per-record errors out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.compliance.ingest import MAX_BATCH, ingest_records
from siyu.errors import Forbidden, Invalid
from siyu.org.permissions import Actor, PermissionRole

router = APIRouter(
    prefix="/compliance", tags=["compliance"], responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER
)
# The archive feed is an integration's job (operator token) or an administrator's, not a reviewer's.
INGEST_ROLES = frozenset({PermissionRole.admin, PermissionRole.private_domain_lead, PermissionRole.operator})


def require_ingest(actor: ActorDep) -> Actor:
    """Allow only roles that may feed chat messages in."""
    if actor.role not in INGEST_ROLES:
        raise Forbidden(f"role {actor.role.value!r} may not ingest chat messages")
    return actor


class RecordErrorOut(BaseModel):
    """One rejected record: where in the batch, which field, and why."""

    index: int
    field: str
    reason: str


class IngestOut(BaseModel):
    """What one batch did."""

    accepted: int
    duplicate: int
    recalled: int
    switched: int
    rejected: int
    incidents: int
    errors: list[RecordErrorOut]


@router.post("/messages", response_model=IngestOut)
def post_messages(
    session: SessionDep,
    actor: Annotated[Actor, Depends(require_ingest)],
    records: Annotated[
        list[Any],
        Body(
            description="archive records: msgid, action, from, tolist, roomid, msgtime, msgtype, text.content"
        ),
    ],
) -> IngestOut:
    """Ingest archive records; idempotent by msgid; bad records are reported, the others stored and checked."""
    if len(records) > MAX_BATCH:
        raise Invalid(f"batch of {len(records)} records is over the limit of {MAX_BATCH}; split it")
    result = ingest_records(session, records, actor, source="api")
    session.commit()
    return IngestOut(
        accepted=result.accepted,
        duplicate=result.duplicate,
        recalled=result.recalled,
        switched=result.switched,
        rejected=result.rejected,
        incidents=result.incidents,
        errors=[RecordErrorOut(index=e.index, field=e.field, reason=e.reason) for e in result.errors],
    )
