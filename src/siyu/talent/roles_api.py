"""/api/v1/talent/roles: the role map, one role with holders and JD, edits (same service as the console)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.db.types import utcnow
from siyu.org.permissions import Actor
from siyu.performance import kpi_service
from siyu.talent import roles_service
from siyu.talent.roles_catalog import catalog, role_entry
from siyu.talent.roles_schemas import (
    HolderOut,
    KpiWeightOut,
    RoleCreateIn,
    RoleDetailOut,
    RoleEditIn,
    RoleOut,
)
from siyu.timeutil import local_date

router = APIRouter(prefix="/talent/roles", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["talent"]
CodePath = Annotated[str, Path(min_length=1, max_length=48)]


def detail(session: Session, actor: Actor, code: str, locale: str = "zh") -> RoleDetailOut:
    """One role with its holders in the actor's scope, today's KPI set and the JD draft."""
    entry = role_entry(session, code)
    today = local_date(utcnow())
    stage = kpi_service.stage_on(session, today)
    kpi_set = kpi_service.kpi_set_for(session, code, today, stage)
    held = roles_service.holders(session, actor, [code])[code]
    out = RoleOut.of(entry, len(held))
    return RoleDetailOut(
        **out.model_dump(),
        holders=[HolderOut.of(h) for h in held],
        stage=stage.value,
        kpi_set=[
            KpiWeightOut(metric_code=i.metric_code, weight=i.weight)
            for i in (kpi_set.items if kpi_set else [])
        ],
        job_description=roles_service.job_description(entry, kpi_set, locale),
    )


@router.get("", response_model=list[RoleOut], tags=TAGS)
def list_roles(
    session: SessionDep, actor: ActorDep, include_inactive: Annotated[bool, Query()] = False
) -> list[RoleOut]:
    """The role catalog in force, in map order, with holder counts in the caller's scope."""
    entries = catalog(session, include_inactive=include_inactive)
    counts = roles_service.holder_counts(session, actor, [e.code for e in entries])
    return [RoleOut.of(e, counts[e.code]) for e in entries]


@router.get("/{code}", response_model=RoleDetailOut, tags=TAGS)
def get_role(
    code: CodePath,
    session: SessionDep,
    actor: ActorDep,
    locale: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> RoleDetailOut:
    """One role: its entry, holders in the caller's scope, the KPI set in force today and a JD draft."""
    return detail(session, actor, code, locale)


@router.put("/{code}", response_model=RoleDetailOut, tags=TAGS)
def put_role(code: CodePath, body: RoleEditIn, session: SessionDep, actor: ActorDep) -> RoleDetailOut:
    """Edit a role (admin or private-domain lead; audited); `active` deactivates or reactivates it."""
    fields = body.fields()
    if fields or body.active is None:
        roles_service.edit_role(session, actor, code, fields)
    if body.active is not None:
        roles_service.set_active(session, actor, code, body.active)
    session.commit()
    return detail(session, actor, code)


@router.post("", response_model=RoleDetailOut, status_code=201, tags=TAGS)
def post_role(body: RoleCreateIn, session: SessionDep, actor: ActorDep) -> RoleDetailOut:
    """Add a custom role (admin or private-domain lead; audited)."""
    fields = body.model_dump(exclude={"code"})
    roles_service.create_role(session, actor, body.code, fields)
    session.commit()
    return detail(session, actor, body.code.strip())


@router.post("/{code}/reset", response_model=RoleDetailOut, tags=TAGS)
def reset_role(code: CodePath, session: SessionDep, actor: ActorDep) -> RoleDetailOut:
    """Put a shipped role back to its shipped version (admin or private-domain lead; audited)."""
    roles_service.reset_role(session, actor, code)
    session.commit()
    return detail(session, actor, code)
