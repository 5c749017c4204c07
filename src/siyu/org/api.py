"""JSON routes for org units and staff under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from siyu.api.deps import ActorDep, SessionDep, WriterDep
from siyu.api.schemas import (
    DOCUMENT_BEARER,
    ERROR_RESPONSES,
    CursorQuery,
    IdPath,
    LimitQuery,
    Page,
    RevealQuery,
)
from siyu.models import OrgUnitKind, StaffStatus
from siyu.org import service
from siyu.org.schemas import StaffDetail, StaffOut, UnitCreate, UnitDetail, UnitOut

router = APIRouter(responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)


@router.get("/org/units", response_model=Page[UnitOut], tags=["org"])
def list_units(
    session: SessionDep,
    actor: ActorDep,
    under: Annotated[str | None, Query(max_length=64, description="only this unit's subtree (code)")] = None,
    kind: OrgUnitKind | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[UnitOut]:
    """Org units the caller may see, by id."""
    return service.list_units_page(session, actor, under=under, kind=kind, cursor=cursor, limit=limit)


@router.get("/org/units/{unit_id}", response_model=UnitDetail, tags=["org"])
def get_unit(unit_id: IdPath, session: SessionDep, actor: ActorDep) -> UnitDetail:
    """One org unit with its parent chain, children and head counts."""
    return service.unit_detail(session, actor, unit_id)


@router.post("/org/units", response_model=UnitDetail, status_code=201, tags=["org"])
def create_unit(data: UnitCreate, session: SessionDep, actor: WriterDep) -> UnitDetail:
    """Add an org unit under a unit the caller may see."""
    unit = service.create_unit_as(session, actor, data)
    session.commit()
    return service.unit_detail(session, actor, unit.id)


@router.get("/staff", response_model=Page[StaffOut], tags=["org"])
def list_staff(
    session: SessionDep,
    actor: ActorDep,
    unit: Annotated[str | None, Query(max_length=64, description="unit code; its whole subtree")] = None,
    role: Annotated[str | None, Query(max_length=48, description="role code, e.g. guide")] = None,
    status: StaffStatus | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[StaffOut]:
    """Staff the caller may see, by id."""
    return service.list_staff_page(
        session, actor, unit=unit, role=role, status=status, cursor=cursor, limit=limit
    )


@router.get("/staff/{staff_id}", response_model=StaffDetail, tags=["org"])
def get_staff(
    staff_id: IdPath, session: SessionDep, actor: ActorDep, reveal: RevealQuery = False
) -> StaffDetail:
    """One staff member with roles; ?reveal=true shows the phone (audited)."""
    detail = service.staff_detail(session, actor, staff_id, reveal=reveal)
    session.commit()  # a reveal wrote an audit row
    return detail
