"""/api/v1/scripts: search the library, create/edit, submit, review, retire, variants and live preview."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.errors import Invalid
from siyu.journeys import scripts_repository as repo
from siyu.journeys import scripts_service as service
from siyu.journeys.render import check_body, variables_in
from siyu.journeys.scripts_schemas import ReviewIn, ScriptIn, ScriptOut, ScriptPage
from siyu.models import ScriptApproval

router = APIRouter(prefix="/scripts", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["scripts"]


class PreviewIn(BaseModel):
    """A body to check and fill with the sample values."""

    body: str = Field(min_length=1, max_length=4000)


class PreviewOut(BaseModel):
    """The body filled with the sample values, and the variables it uses."""

    preview: str
    variables: list[str]


@router.get("", response_model=ScriptPage, tags=TAGS)
def list_scripts(
    session: SessionDep,
    actor: ActorDep,
    q: Annotated[str, Query(max_length=200, description="all terms must occur; 繁體 finds 简体")] = "",
    category: Annotated[str | None, Query(max_length=48)] = None,
    approval: Annotated[ScriptApproval | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ScriptPage:
    """Scripts matching every query term (title hits first, then most used); readers see approved only."""
    filters = repo.ScriptFilters(
        query=q, category=category, approval=approval, approved_only=not service.may_see_drafts(actor)
    )
    total, rows = repo.search(session, filters, limit, offset)
    return ScriptPage(total=total, items=[service.to_out(s) for s in rows])


@router.post("", response_model=ScriptOut, status_code=201, tags=TAGS)
def create(session: SessionDep, actor: ActorDep, body: ScriptIn) -> ScriptOut:
    """A new draft (submit=true: pending review) script or variant (audited)."""
    script = service.create_script(session, actor, body)
    out = service.to_out(script)
    session.commit()
    return out


@router.post("/preview", response_model=PreviewOut, tags=TAGS)
def preview(actor: ActorDep, body: PreviewIn) -> PreviewOut:
    """Check a body's variables and fill it with the sample values."""
    check_body(body.body)
    return PreviewOut(preview=service.preview(body.body), variables=variables_in(body.body))


@router.get("/{script_id}", response_model=ScriptOut, tags=TAGS)
def get_one(session: SessionDep, actor: ActorDep, script_id: int) -> ScriptOut:
    """One script."""
    return service.to_out(service.get_script(session, actor, script_id))


@router.get("/{script_id}/variants", response_model=list[ScriptOut], tags=TAGS)
def variants(session: SessionDep, actor: ActorDep, script_id: int) -> list[ScriptOut]:
    """The script's family: its root first, then every variant (the arms an experiment can use)."""
    script = service.get_script(session, actor, script_id)
    rows = repo.family(session, script.parent_id or script.id)
    return [
        service.to_out(s)
        for s in rows
        if service.may_see_drafts(actor) or s.approval == ScriptApproval.approved
    ]


@router.put("/{script_id}", response_model=ScriptOut, tags=TAGS)
def update(session: SessionDep, actor: ActorDep, script_id: int, body: ScriptIn) -> ScriptOut:
    """Edit a script; an approved one goes back to pending review (audited)."""
    out = service.to_out(service.update_script(session, actor, script_id, body))
    session.commit()
    return out


@router.post("/{script_id}/{action}", response_model=ScriptOut, tags=TAGS)
def act(
    session: SessionDep, actor: ActorDep, script_id: int, action: str, body: ReviewIn | None = None
) -> ScriptOut:
    """submit | review (body: decision approve/reject, note) | retire (audited)."""
    if action == "submit":
        script = service.submit_script(session, actor, script_id)
    elif action == "review":
        if body is None:
            raise Invalid("review: send {'decision': 'approve'|'reject', 'note': …}")
        script = service.review_script(session, actor, script_id, body)
    elif action == "retire":
        script = service.retire_script(session, actor, script_id)
    else:
        raise Invalid(f"action {action!r} is not one of submit, review, retire")
    out = service.to_out(script)
    session.commit()
    return out
