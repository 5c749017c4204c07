"""JSON routes under /api/v1/journeys: list, templates, copy, create, get, new version, status, enrol, stats."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, IdPath
from siyu.db.types import utcnow
from siyu.errors import Forbidden
from siyu.journeys import definition_service as service
from siyu.journeys.definition_schemas import (
    EnrolResult,
    JourneyCreate,
    JourneyDetail,
    JourneyOut,
    JourneySaved,
    JourneyStats,
    JourneyVersionCreate,
    ManualEnrol,
    StatusChange,
    TemplateCopy,
    TemplateOut,
)
from siyu.org.permissions import Actor

router = APIRouter(
    prefix="/journeys", tags=["journeys"], responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER
)


def _viewer(actor: ActorDep) -> Actor:
    if actor.role not in service.VIEW_ROLES:
        raise Forbidden(f"role {actor.role.value!r} may not read journeys")
    return actor


ViewerDep = Annotated[Actor, Depends(_viewer)]


@router.get("", response_model=list[JourneyOut])
def list_journeys(
    session: SessionDep,
    actor: ViewerDep,
    archived: Annotated[bool, Query(description="include archived")] = False,
) -> list[JourneyOut]:
    """Journeys with version, trigger kind and enrolment counts by status."""
    return service.list_journeys(session, archived=archived)


@router.post("", response_model=JourneySaved, status_code=201)
def create_journey(data: JourneyCreate, session: SessionDep, actor: ActorDep) -> JourneySaved:
    """Create a draft journey; 422 names the path of a bad node (e.g. steps[2].actions[0].script_id)."""
    journey, problems = service.create_journey(session, actor, data)
    session.commit()
    return JourneySaved(journey=service.journey_out(session, journey), problems=problems)


@router.get("/templates", response_model=list[TemplateOut])
def list_templates(session: SessionDep, actor: ViewerDep) -> list[TemplateOut]:
    """The article templates and the library script each would use."""
    return service.templates(session)


@router.post("/templates/copy", response_model=JourneySaved, status_code=201)
def copy_template(data: TemplateCopy, session: SessionDep, actor: ActorDep) -> JourneySaved:
    """Copy a template into a draft journey; missing_scripts lists the refs still to pick."""
    journey, missing = service.copy_template(session, actor, data)
    session.commit()
    return JourneySaved(journey=service.journey_out(session, journey), missing_scripts=missing)


@router.get("/{journey_id}", response_model=JourneyDetail)
def get_journey(journey_id: IdPath, session: SessionDep, actor: ViewerDep) -> JourneyDetail:
    """A journey: versions, counts, per-step funnel, recent enrolments in the caller's scope."""
    return service.journey_detail(session, actor, journey_id)


@router.post("/{journey_id}/versions", response_model=JourneySaved, status_code=201)
def new_version(
    journey_id: IdPath, data: JourneyVersionCreate, session: SessionDep, actor: ActorDep
) -> JourneySaved:
    """Store a definition as the next version (versions are never edited)."""
    journey, problems = service.new_version(session, actor, journey_id, data)
    session.commit()
    return JourneySaved(journey=service.journey_out(session, journey), problems=problems)


@router.post("/{journey_id}/status", response_model=JourneyOut)
def change_status(journey_id: IdPath, data: StatusChange, session: SessionDep, actor: ActorDep) -> JourneyOut:
    """Activate, pause, resume or archive; activation answers 422 naming what blocks it."""
    journey = service.change_status(session, actor, journey_id, data.status)
    session.commit()
    return service.journey_out(session, journey)


@router.post("/{journey_id}/enrol", response_model=EnrolResult)
def enrol(journey_id: IdPath, data: ManualEnrol, session: SessionDep, actor: ActorDep) -> EnrolResult:
    """Enrol customers by hand into an active journey (idempotent per entry key)."""
    counts = service.enrol_manually(session, actor, journey_id, data)
    session.commit()
    return EnrolResult(counts=counts)


@router.get("/{journey_id}/stats", response_model=JourneyStats)
def stats(journey_id: IdPath, session: SessionDep, actor: ViewerDep) -> JourneyStats:
    """Enrolment counts, exit reasons and the per-step funnel, counted from the raw rows now."""
    now = utcnow()
    detail = service.journey_detail(session, actor, journey_id, now)
    return JourneyStats(
        counts=detail.journey.counts,
        exit_reasons=detail.exit_reasons,
        funnel=detail.funnel,
        as_of=now,
    )
