"""/api/v1/talent/competencies: competency models per role (read, and write a new version)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Path

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.errors import Forbidden
from siyu.org.permissions import Actor
from siyu.talent import competency
from siyu.talent.access import ASSESS
from siyu.talent.competency_schemas import CompetencyModelIn, CompetencyModelOut

router = APIRouter(prefix="/talent/competencies", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["talent"]
RoleKeyPath = Annotated[str, Path(min_length=1, max_length=48, description='a role code, or "*" / "default"')]


def role_key(value: str) -> str:
    """The stored key: "default" is an alias of "*" (which is awkward in URLs)."""
    return competency.DEFAULT_KEY if value.strip() == "default" else competency.parse_role_key(value)


def _require_reader(actor: Actor) -> None:
    if not ASSESS.allows(actor):
        raise Forbidden(f"competency models: role {actor.role.value!r} may not read them")


@router.get("", response_model=list[CompetencyModelOut], tags=TAGS)
def list_models(session: SessionDep, actor: ActorDep) -> list[CompetencyModelOut]:
    """The latest version of every model: the default ("*") first, then per role."""
    _require_reader(actor)
    found = competency.latest_models(session)
    session.commit()  # the first read seeds the default model
    return [CompetencyModelOut.of(m, key) for key, m in found.items()]


@router.get("/{role}", response_model=CompetencyModelOut, tags=TAGS)
def get_model(session: SessionDep, actor: ActorDep, role: RoleKeyPath) -> CompetencyModelOut:
    """The version in force for a role: its own latest, else the default's latest (inherited = true)."""
    _require_reader(actor)
    key = role_key(role)
    model = (
        competency.versions(session, key)[0]
        if key == competency.DEFAULT_KEY
        else competency.model_for(session, key)
    )
    session.commit()  # the first read seeds the default model
    return CompetencyModelOut.of(model, key)


@router.get("/{role}/versions", response_model=list[CompetencyModelOut], tags=TAGS)
def get_versions(session: SessionDep, actor: ActorDep, role: RoleKeyPath) -> list[CompetencyModelOut]:
    """Every version of the role's own model, newest first (empty when it uses the default)."""
    _require_reader(actor)
    key = role_key(role)
    found = competency.versions(session, key)
    session.commit()
    return [CompetencyModelOut.of(m, key) for m in found]


@router.put("/{role}", response_model=CompetencyModelOut, tags=TAGS)
def put_model(
    body: CompetencyModelIn, session: SessionDep, actor: ActorDep, role: RoleKeyPath
) -> CompetencyModelOut:
    """Save a new version (admin or private-domain lead; weights summing to 100; audited)."""
    key = role_key(role)
    saved = competency.save_model(session, actor, key, [d.model_dump() for d in body.dimensions], body.note)
    session.commit()
    return CompetencyModelOut.of(saved, key)
