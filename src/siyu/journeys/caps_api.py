"""JSON routes for frequency caps under /api/v1/mass-sends/caps."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.api.deps import ActorDep, SessionDep, WriterDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, IdPath
from siyu.journeys import caps_service
from siyu.journeys.caps_schemas import CapIn, CapOut, PlatformIn

router = APIRouter(
    prefix="/mass-sends/caps", tags=["journeys"], responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER
)


@router.get("", response_model=list[CapOut])
def list_caps(session: SessionDep, actor: ActorDep) -> list[CapOut]:
    """The platform rule and the brand caps, with today's allowance of each."""
    return caps_service.list_caps(session)


@router.put("/platform", response_model=list[CapOut])
def set_platform(data: PlatformIn, session: SessionDep, actor: WriterDep) -> list[CapOut]:
    """Mirror the WeCom 群发 rule: month (as many as the month has days), week (7) or day (1)."""
    caps_service.set_platform_mode(session, actor, data)
    session.commit()
    return caps_service.list_caps(session)


@router.post("", response_model=list[CapOut], status_code=201)
def add_cap(data: CapIn, session: SessionDep, actor: WriterDep) -> list[CapOut]:
    """Add a brand cap (per customer, per brand-local period, optionally one channel)."""
    caps_service.add_cap(session, actor, data)
    session.commit()
    return caps_service.list_caps(session)


@router.post("/{cap_id}/enable", response_model=list[CapOut])
def enable(cap_id: IdPath, session: SessionDep, actor: WriterDep) -> list[CapOut]:
    """Switch a brand cap on."""
    caps_service.set_enabled(session, actor, cap_id, True)
    session.commit()
    return caps_service.list_caps(session)


@router.post("/{cap_id}/disable", response_model=list[CapOut])
def disable(cap_id: IdPath, session: SessionDep, actor: WriterDep) -> list[CapOut]:
    """Switch a brand cap off."""
    caps_service.set_enabled(session, actor, cap_id, False)
    session.commit()
    return caps_service.list_caps(session)
