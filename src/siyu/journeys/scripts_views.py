"""Console pages of the script library: /scripts (search), /scripts/new, /scripts/{id} (preview, variants, review)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from siyu.errors import Invalid, SiyuError
from siyu.journeys import scripts_repository as repo
from siyu.journeys import scripts_service as service
from siyu.journeys.content_pack_service import PACK_WRITE
from siyu.journeys.render import VARIABLES, check_body, variables_in
from siyu.journeys.scripts_schemas import APPROVAL_LABELS, CATEGORIES, ReviewIn
from siyu.models import Script, ScriptApproval
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, register_nav, render

router = APIRouter(include_in_schema=False)
ReadViewer = Annotated[Viewer, Depends(require_access(service.SCRIPT_READ))]
WriteViewer = Annotated[Viewer, Depends(require_access(service.SCRIPT_WRITE))]
register_nav("scripts", N_("Scripts"), "/scripts", order=47, access=service.SCRIPT_READ)
PAGE_SIZE = 50
FORM = "journeys/journeys/scripts_form.html"


def _labels() -> dict[str, Any]:
    return {"CATEGORIES": CATEGORIES, "APPROVAL_LABELS": APPROVAL_LABELS, "VARIABLES": VARIABLES}


@router.get("/scripts", response_class=HTMLResponse)
def list_page(
    request: Request,
    session: SessionDep,
    viewer: ReadViewer,
    q: Annotated[str, Query(max_length=200)] = "",
    category: Annotated[str, Query(max_length=48)] = "",
    approval: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """Search by every term (繁體 finds 简体), filter by category and approval; usage counts per script."""
    drafts = service.may_see_drafts(viewer.actor)
    state = ScriptApproval(approval) if approval in ScriptApproval.__members__ and drafts else None
    filters = repo.ScriptFilters(
        query=q,
        category=category if category in CATEGORIES else None,
        approval=state,
        approved_only=not drafts,
    )
    total, rows = repo.search(session, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    context = {
        **_labels(),
        "scripts": rows,
        "total": total,
        "q": q,
        "category": category,
        "approval": approval,
        "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "variant_counts": repo.variant_counts(session, [s.id for s in rows if s.parent_id is None]),
        "may_write": service.SCRIPT_WRITE.allows(viewer.actor),
        "may_pack": PACK_WRITE.allows(viewer.actor),
        "may_see_drafts": drafts,
        "counts": repo.approval_counts(session) if drafts else {},
    }
    return render(request, "journeys/journeys/scripts_list.html", context)


def _attachments_text(script: Script | None) -> str:
    if script is None or not script.attachments:
        return ""
    return "\n".join(
        " | ".join(str(a.get(k) or "") for k in ("kind", "ref", "title")) for a in script.attachments
    )


def _values(script: Script | None, parent: Script | None) -> dict[str, Any]:
    if script is None:
        return {
            "title": f"{parent.title}（B）" if parent else "",
            "category": parent.category if parent else "welcome",
            "scenario": parent.scenario or "" if parent else "",
            "body": parent.body if parent else "",
            "attachments": _attachments_text(parent),
            "parent_id": str(parent.id) if parent else "",
            "variant_label": "",
        }
    return {
        "title": script.title,
        "category": script.category,
        "scenario": script.scenario or "",
        "body": script.body,
        "attachments": _attachments_text(script),
        "parent_id": str(script.parent_id or ""),
        "variant_label": script.variant_label or "",
    }


def _raw(form: FormData) -> dict[str, Any]:
    """The form as the service's ScriptIn fields; attachments are 'kind | ref | title' lines."""
    attachments = []
    for n, line in enumerate(str(form.get("attachments", "")).splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2:
            raise Invalid(
                f"attachments line {n}: write 'kind | ref | title' (kind: image, link, miniprogram)"
            )
        attachments.append({"kind": parts[0], "ref": parts[1], "title": parts[2] if len(parts) > 2 else None})
    parent = str(form.get("parent_id", "")).strip()
    if parent and not parent.isdigit():
        raise Invalid(f"parent_id: {parent!r} is not a script id")
    return {
        "title": str(form.get("title", "")),
        "category": str(form.get("category", "")),
        "scenario": str(form.get("scenario", "")),
        "body": str(form.get("body", "")),
        "attachments": attachments,
        "parent_id": int(parent) if parent else None,
        "variant_label": str(form.get("variant_label", "")) or None,
        "submit": form.get("submit") == "1",
    }


def _form_page(
    request: Request, script: Script | None, values: dict[str, Any], error: str | None, status: int = 200
) -> HTMLResponse:
    context = {
        **_labels(),
        "script": script,
        "values": values,
        "form_error": error,
        "preview": service.preview(values["body"]) if values["body"] else "",
    }
    return render(request, FORM, context, status_code=status)


@router.get("/scripts/new", response_class=HTMLResponse)
def new_page(
    request: Request,
    session: SessionDep,
    viewer: WriteViewer,
    variant_of: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """The form for a new script, or a variant of variant_of (prefilled from it)."""
    parent = service.get_script(session, viewer.actor, variant_of) if variant_of else None
    if parent is not None and parent.parent_id is not None:
        parent = service.get_script(session, viewer.actor, parent.parent_id)
    return _form_page(request, None, _values(None, parent), None)


@router.post("/scripts/new")
async def new_submit(request: Request, session: SessionDep, viewer: WriteViewer) -> Response:
    """Create the script (audited); errors come back above the form with what was typed."""
    form = await request.form()
    typed = {k: str(form.get(k, "")) for k in _values(None, None)}
    try:
        data = service.parse_script(_raw(form), "form")
        script = service.create_script(session, viewer.actor, data)
    except SiyuError as exc:
        session.rollback()
        return _form_page(request, None, typed, gettext_for(request)(exc.message), exc.status_code)
    session.commit()
    return RedirectResponse(f"/scripts/{script.id}", status_code=303)


@router.post("/scripts/preview", response_class=HTMLResponse)
async def preview_fragment(request: Request, viewer: ReadViewer) -> HTMLResponse:
    """HTMX: the body filled with the sample values, or the variable error."""
    form = await request.form()
    body = str(form.get("body", ""))
    try:
        check_body(body)
        error = None
    except Invalid as exc:
        error = exc.message
    context = {"preview": service.preview(body), "preview_error": error, "used": variables_in(body)}
    return render(request, "journeys/journeys/scripts_preview.html", context, fragment=None)


@router.get("/scripts/{script_id:int}", response_class=HTMLResponse)
def detail_page(request: Request, session: SessionDep, viewer: ReadViewer, script_id: int) -> HTMLResponse:
    """One script: preview with sample values, attachments, its variants, the review state and actions."""
    script = service.get_script(session, viewer.actor, script_id)
    drafts = service.may_see_drafts(viewer.actor)
    family = [
        s
        for s in repo.family(session, script.parent_id or script.id)
        if drafts or s.approval == ScriptApproval.approved
    ]
    context = {
        **_labels(),
        "script": script,
        "preview": service.preview(script.body),
        "used": variables_in(script.body),
        "family": family if len(family) > 1 else [],
        "may_write": service.SCRIPT_WRITE.allows(viewer.actor),
        "may_approve": service.SCRIPT_APPROVE.allows(viewer.actor),
        "own": script.owner_account_id is not None and script.owner_account_id == viewer.actor.account_id,
    }
    return render(request, "journeys/journeys/scripts_detail.html", context)


@router.get("/scripts/{script_id:int}/edit", response_class=HTMLResponse)
def edit_page(request: Request, session: SessionDep, viewer: WriteViewer, script_id: int) -> HTMLResponse:
    """The edit form; saving an approved script sends it back to review."""
    script = service.get_script(session, viewer.actor, script_id)
    return _form_page(request, script, _values(script, None), None)


@router.post("/scripts/{script_id:int}/edit")
async def edit_submit(request: Request, session: SessionDep, viewer: WriteViewer, script_id: int) -> Response:
    """Save the edit (audited)."""
    script = service.get_script(session, viewer.actor, script_id)
    form = await request.form()
    typed = {k: str(form.get(k, "")) for k in _values(None, None)}
    try:
        data = service.parse_script(_raw(form), "form")
        service.update_script(session, viewer.actor, script_id, data)
    except SiyuError as exc:
        session.rollback()
        return _form_page(request, script, typed, gettext_for(request)(exc.message), exc.status_code)
    session.commit()
    return RedirectResponse(f"/scripts/{script_id}", status_code=303)


@router.post("/scripts/{script_id:int}/{action}")
async def script_action(
    request: Request, session: SessionDep, viewer: ReadViewer, script_id: int, action: str
) -> Response:
    """submit | approve | reject | retire (each checks its own role; audited), then back to the script."""
    form = await request.form()
    note = str(form.get("note", ""))
    actor = viewer.actor
    if action == "submit":
        service.submit_script(session, actor, script_id)
    elif action in ("approve", "reject"):
        service.review_script(session, actor, script_id, ReviewIn(decision=action, note=note or None))
    elif action == "retire":
        service.retire_script(session, actor, script_id)
    else:
        return Response(status_code=404)
    session.commit()
    return RedirectResponse(f"/scripts/{script_id}", status_code=303)
