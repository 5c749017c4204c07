"""/api/v1/wecom/channel-codes: channel codes (渠道活码) with their funnel; writes reach WeCom's contact way."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query

from siyu.api.deps import ActorDep, SessionDep, WriterDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.wecom import channel_code_service as service
from siyu.wecom.channel_code_schemas import ChannelCodeIn, ChannelCodeOut, ChannelCodeUpdate

router = APIRouter(prefix="/wecom/channel-codes", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["wecom"]


def _one(session: SessionDep, actor: ActorDep, code_id: int) -> ChannelCodeOut:
    row = service.get_code(session, code_id)
    stats = service.code_stats(session, actor, [row.code]).get(row.code, (0, 0, 0))
    return service.to_out(row, stats)


@router.get("", response_model=list[ChannelCodeOut], tags=TAGS)
def list_codes(
    session: SessionDep, actor: ActorDep, active_only: Annotated[bool, Query()] = False
) -> list[ChannelCodeOut]:
    """Every code with adds, still following and ordered since adding (customers in the caller's scope)."""
    return service.list_codes(session, actor, include_inactive=not active_only)


@router.post("", response_model=ChannelCodeOut, status_code=201, tags=TAGS)
def create_code(session: SessionDep, actor: WriterDep, body: ChannelCodeIn) -> ChannelCodeOut:
    """Create a code; with WeCom configured also its contact way (state = code), returning config_id and QR."""
    row = service.create_code(session, actor, body)
    session.commit()
    return _one(session, actor, row.id)


@router.get("/{code_id}", response_model=ChannelCodeOut, tags=TAGS)
def get_code(session: SessionDep, actor: ActorDep, code_id: int) -> ChannelCodeOut:
    """One code with its funnel."""
    return _one(session, actor, code_id)


@router.patch("/{code_id}", response_model=ChannelCodeOut, tags=TAGS)
def update_code(
    session: SessionDep, actor: WriterDep, code_id: int, body: ChannelCodeUpdate
) -> ChannelCodeOut:
    """Change a code (the code string itself is fixed: it is printed on QR codes)."""
    service.update_code(session, actor, code_id, body)
    session.commit()
    return _one(session, actor, code_id)


@router.post("/{code_id}/deactivate", response_model=ChannelCodeOut, tags=TAGS)
def deactivate_code(session: SessionDep, actor: WriterDep, code_id: int) -> ChannelCodeOut:
    """Switch a code off and delete its WeCom contact way."""
    service.deactivate_code(session, actor, code_id)
    session.commit()
    return _one(session, actor, code_id)
