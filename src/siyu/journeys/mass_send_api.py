"""JSON routes for mass sends under /api/v1/mass-sends: list, create, preview, detail, cancel, retry, run due."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.api.deps import ActorDep, SessionDep, WriterDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, IdPath
from siyu.db.types import utcnow
from siyu.journeys import mass_send_run, mass_send_service
from siyu.journeys.mass_send_schemas import MassPreview, MassSendCreate, MassSendOut

router = APIRouter(
    prefix="/mass-sends", tags=["mass-sends"], responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER
)


@router.get("", response_model=list[MassSendOut])
def list_mass_sends(session: SessionDep, actor: ActorDep) -> list[MassSendOut]:
    """The latest mass sends with live result counts (queued, sent, confirmed, capped, opted_out, failed)."""
    return mass_send_service.list_mass_sends(session)


@router.post("/preview", response_model=MassPreview)
def preview(data: MassSendCreate, session: SessionDep, actor: WriterDep) -> MassPreview:
    """What sending now would do: audience in your scope, opted out, capped, would send, a sample."""
    return mass_send_run.preview(session, actor, data)


@router.post("", response_model=MassSendOut, status_code=201)
def create(data: MassSendCreate, session: SessionDep, actor: WriterDep) -> MassSendOut:
    """Schedule a mass send (scheduled_at omitted: due at once; the worker job journeys.run_mass_sends sends it)."""
    row = mass_send_service.create_mass_send(session, actor, data, utcnow())
    session.commit()
    return mass_send_service.mass_send_detail(session, row.id)


@router.get("/{mass_send_id}", response_model=MassSendOut)
def detail(mass_send_id: IdPath, session: SessionDep, actor: ActorDep) -> MassSendOut:
    """One mass send with live result counts."""
    return mass_send_service.mass_send_detail(session, mass_send_id)


@router.post("/{mass_send_id}/retry", response_model=MassSendOut)
def retry(mass_send_id: IdPath, session: SessionDep, actor: WriterDep) -> MassSendOut:
    """Schedule a failed mass send again, due now (409 unless it failed)."""
    mass_send_service.retry_mass_send(session, actor, mass_send_id, utcnow())
    session.commit()
    return mass_send_service.mass_send_detail(session, mass_send_id)


@router.post("/{mass_send_id}/cancel", response_model=MassSendOut)
def cancel(mass_send_id: IdPath, session: SessionDep, actor: WriterDep) -> MassSendOut:
    """Cancel a mass send that has not run yet (409 once it ran)."""
    mass_send_service.cancel_mass_send(session, actor, mass_send_id)
    session.commit()
    return mass_send_service.mass_send_detail(session, mass_send_id)
