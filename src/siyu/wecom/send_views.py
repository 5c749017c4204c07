"""Console pages /wecom/mass-sends (platform templates, per-staff and per-recipient) and /wecom/moments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import SiyuError
from siyu.models import Script, Staff, Tag
from siyu.models.journeys import ScriptApproval
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, PermissionRole
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import render
from siyu.wecom import groupmsg_queries as queries
from siyu.wecom import groupmsg_service as service
from siyu.wecom import moments_service as moments

SEND_ACCESS = access_for(
    (
        PermissionRole.admin,
        PermissionRole.private_domain_lead,
        PermissionRole.manager,
        PermissionRole.operator,
    )
)
SendViewer = Annotated[Viewer, Depends(require_access(SEND_ACCESS))]
STAFF_STATUS_LABELS = {
    "pending": N_("Waiting for the sender"),
    "sent": N_("Sent"),
    "cancelled": N_("Cancelled"),
}
MOMENT_STATUS_LABELS = {
    "creating": N_("Creating"),
    "published": N_("Created on WeCom"),
    "failed": N_("Failed"),
}

router = APIRouter(include_in_schema=False)


@router.get("/wecom/mass-sends", response_class=HTMLResponse)
def mass_sends_page(request: Request, session: SessionDep, viewer: SendViewer) -> HTMLResponse:
    """Platform templates: sender, confirmation, recipients sent / not a friend / over the limit, reminders."""
    rows = queries.list_mass_sends(session, viewer.actor)
    return render(
        request, "wecom/wecom/mass_sends.html", {"rows": rows, "STAFF_STATUS_LABELS": STAFF_STATUS_LABELS}
    )


def _detail(
    request: Request, session: Session, viewer: Viewer, message_id: int, error: str | None = None
) -> HTMLResponse:
    detail = queries.mass_send_detail(session, viewer.actor, message_id)
    context = {
        "d": detail,
        "may_edit": viewer.actor.may_write,
        "error": error,
        "STAFF_STATUS_LABELS": STAFF_STATUS_LABELS,
    }
    return render(request, "wecom/wecom/mass_send_detail.html", context, status_code=409 if error else 200)


@router.get("/wecom/mass-sends/{message_id}", response_class=HTMLResponse)
def mass_send_page(
    request: Request, session: SessionDep, viewer: SendViewer, message_id: int
) -> HTMLResponse:
    """One template: outbound rows by status (reconciled with WeCom's counts) and the recipients."""
    return _detail(request, session, viewer, message_id)


@router.post("/wecom/mass-sends/{message_id}/{action}", response_model=None)
def mass_send_action(
    request: Request, session: SessionDep, viewer: SendViewer, message_id: int, action: str
) -> Response:
    """Remind the sender or cancel the template; a refusal re-renders the page with WeCom's rule."""
    try:
        if action == "remind":
            service.remind(session, viewer.actor, message_id)
        elif action == "cancel":
            service.cancel(session, viewer.actor, message_id)
        else:
            raise SiyuError(f"action: {action!r} is not remind or cancel")
    except SiyuError as exc:
        session.rollback()
        return _detail(request, session, viewer, message_id, exc.message)
    session.commit()
    return RedirectResponse(f"/wecom/mass-sends/{message_id}", status_code=303)


def _form_options(session: Session, actor: Actor) -> dict[str, object]:
    staff = session.execute(
        select(Staff.id, Staff.name)
        .where(Staff.wecom_userid.is_not(None), org_repo.readable_staff(actor))
        .order_by(Staff.name, Staff.id)
        .limit(500)
    ).all()
    tags = session.execute(
        select(Tag.id, Tag.name).where(Tag.wecom_tag_id.is_not(None)).order_by(Tag.name, Tag.id).limit(500)
    ).all()
    scripts = session.execute(
        select(Script.id, Script.title)
        .where(Script.approval == ScriptApproval.approved)
        .order_by(Script.title, Script.id)
        .limit(500)
    ).all()
    return {"staff_options": staff, "tag_options": tags, "script_options": scripts}


def _moments_page(
    request: Request, session: Session, viewer: Viewer, error: str | None = None
) -> HTMLResponse:
    context: dict[str, object] = {
        "rows": moments.list_moments(session, viewer.actor),
        "may_edit": viewer.actor.may_write,
        "error": error,
        "MOMENT_STATUS_LABELS": MOMENT_STATUS_LABELS,
        **_form_options(session, viewer.actor),
    }
    return render(request, "wecom/wecom/moments.html", context, status_code=422 if error else 200)


@router.get("/wecom/moments", response_class=HTMLResponse)
def moments_page(request: Request, session: SessionDep, viewer: SendViewer) -> HTMLResponse:
    """Moments tasks with published / members, and the form to create one."""
    return _moments_page(request, session, viewer)


@router.post("/wecom/moments", response_model=None)
async def create_moment(request: Request, session: SessionDep, viewer: SendViewer) -> Response:
    """Create a moments task from the form; errors re-render the page with the message."""
    form = await request.form()
    try:
        staff_ids = [int(str(v)) for v in form.getlist("staff_ids")]
        tag_ids = [int(str(v)) for v in form.getlist("tag_ids")]
        raw_script = str(form.get("script_id") or "")
        moment = moments.create_moment(
            session,
            viewer.actor,
            staff_ids=staff_ids,
            text=str(form.get("text") or "") or None,
            script_id=int(raw_script) if raw_script.isdigit() else None,
            tag_ids=tag_ids,
        )
    except ValueError:
        session.rollback()
        return _moments_page(request, session, viewer, "staff_ids / tag_ids: expected numeric ids")
    except SiyuError as exc:
        session.rollback()
        return _moments_page(request, session, viewer, exc.message)
    session.commit()
    return RedirectResponse(f"/wecom/moments/{moment.id}", status_code=303)


@router.get("/wecom/moments/{moment_id}", response_class=HTMLResponse)
def moment_page(request: Request, session: SessionDep, viewer: SendViewer, moment_id: int) -> HTMLResponse:
    """One moments task with each member's publish status."""
    moment, staff = moments.moment_detail(session, viewer.actor, moment_id)
    return render(
        request,
        "wecom/wecom/moment_detail.html",
        {"m": moment, "staff": staff, "MOMENT_STATUS_LABELS": MOMENT_STATUS_LABELS},
    )
