"""Channel-code pages (/wecom/channel-codes): the list with each code's funnel, create, edit, switch off."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from siyu.errors import SiyuError
from siyu.models import Journey, OrgUnit, Script, ScriptApproval, Staff, Tag, TagGroup
from siyu.models.enums import StaffStatus
from siyu.models.journeys import JourneyStatus
from siyu.org.permissions import PermissionRole
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.render import render
from siyu.wecom import channel_code_service as service
from siyu.wecom.channel_code_schemas import ChannelCodeIn, ChannelCodeUpdate

CODES_ACCESS = access_for(
    (
        PermissionRole.admin,
        PermissionRole.private_domain_lead,
        PermissionRole.manager,
        PermissionRole.operator,
    )
)
CodesViewer = Annotated[Viewer, Depends(require_access(CODES_ACCESS))]
LIST_PAGE = "wecom/wecom/channel_codes.html"
EDIT_PAGE = "wecom/wecom/channel_code_edit.html"
OPTION_LIMIT = 500  # the form's pick lists; a brand with more picks through the API

router = APIRouter(include_in_schema=False)


def _options(session: Session) -> dict[str, Any]:
    staff = session.execute(
        select(Staff.id, Staff.name, Staff.wecom_userid)
        .where(Staff.status == StaffStatus.active, Staff.wecom_userid.is_not(None))
        .order_by(Staff.name)
        .limit(OPTION_LIMIT)
    ).all()
    tags = session.execute(
        select(Tag.id, TagGroup.name, Tag.name, Tag.wecom_tag_id)
        .join(TagGroup, TagGroup.id == Tag.group_id)
        .order_by(TagGroup.sort_order, TagGroup.name, Tag.name)
        .limit(OPTION_LIMIT)
    ).all()
    stores = session.execute(
        select(OrgUnit.id, OrgUnit.name)
        .where(OrgUnit.kind == "store")
        .order_by(OrgUnit.name)
        .limit(OPTION_LIMIT)
    ).all()
    scripts = session.execute(
        select(Script.id, Script.title)
        .where(Script.approval == ScriptApproval.approved)
        .order_by(Script.title)
        .limit(OPTION_LIMIT)
    ).all()
    journeys = session.execute(
        select(Journey.id, Journey.name, Journey.status)
        .where(Journey.status != JourneyStatus.archived)
        .order_by(Journey.name)
        .limit(OPTION_LIMIT)
    ).all()
    return {"staff": staff, "tags": tags, "stores": stores, "scripts": scripts, "journeys": journeys}


def _ids(form: FormData, name: str) -> list[int]:
    return [int(str(v)) for v in form.getlist(name) if str(v).isdigit()]


def _opt_int(form: FormData, name: str) -> int | None:
    value = str(form.get(name) or "")
    return int(value) if value.isdigit() else None


def _fields(form: FormData) -> dict[str, Any]:
    return {
        "name": str(form.get("name") or "").strip(),
        "source_detail": str(form.get("source_detail") or "").strip() or None,
        "ad_campaign": str(form.get("ad_campaign") or "").strip() or None,
        "store_id": _opt_int(form, "store_id"),
        "staff_ids": _ids(form, "staff_ids"),
        "tag_ids": _ids(form, "tag_ids"),
        "welcome_script_id": _opt_int(form, "welcome_script_id"),
        "journey_id": _opt_int(form, "journey_id"),
        "skip_verify": form.get("skip_verify") == "on",
    }


def _message(exc: Exception) -> str:
    if isinstance(exc, SiyuError):
        return exc.message
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)


def _list(request: Request, session: Session, viewer: Viewer, error: str | None = None) -> HTMLResponse:
    codes = service.list_codes(session, viewer.actor)
    context = {
        "codes": codes,
        "options": _options(session),
        "may_edit": viewer.actor.may_write,
        "error": error,
        "code": None,
    }
    return render(request, LIST_PAGE, context, status_code=422 if error else 200)


@router.get("/wecom/channel-codes", response_class=HTMLResponse)
def codes_page(request: Request, session: SessionDep, viewer: CodesViewer) -> HTMLResponse:
    """Every code with adds, still following and ordered since adding, and the form for a new one."""
    return _list(request, session, viewer)


@router.post("/wecom/channel-codes", response_model=None)
async def create(request: Request, session: SessionDep, viewer: CodesViewer) -> Response:
    """Create a code (and its WeCom contact way); errors re-render the list with the message."""
    form = await request.form()
    try:
        data = ChannelCodeIn(code=str(form.get("code") or "").strip(), **_fields(form))
        service.create_code(session, viewer.actor, data)
    except (ValidationError, SiyuError) as exc:
        session.rollback()
        return _list(request, session, viewer, _message(exc))
    session.commit()
    return RedirectResponse("/wecom/channel-codes", status_code=303)


@router.get("/wecom/channel-codes/{code_id}", response_class=HTMLResponse)
def edit_page(request: Request, session: SessionDep, viewer: CodesViewer, code_id: int) -> HTMLResponse:
    """One code's settings, QR code and funnel."""
    row = service.get_code(session, code_id)
    stats = service.code_stats(session, viewer.actor, [row.code]).get(row.code, (0, 0, 0))
    context = {
        "code": service.to_out(row, stats),
        "options": _options(session),
        "may_edit": viewer.actor.may_write,
    }
    return render(request, EDIT_PAGE, context)


@router.post("/wecom/channel-codes/{code_id}", response_model=None)
async def update(request: Request, session: SessionDep, viewer: CodesViewer, code_id: int) -> Response:
    """Save a code's settings (the code string itself is fixed)."""
    form = await request.form()
    try:
        service.update_code(session, viewer.actor, code_id, ChannelCodeUpdate(**_fields(form)))
    except (ValidationError, SiyuError) as exc:
        session.rollback()
        row = service.get_code(session, code_id)
        context = {
            "code": service.to_out(row),
            "options": _options(session),
            "may_edit": True,
            "error": _message(exc),
        }
        return render(request, EDIT_PAGE, context, status_code=422)
    session.commit()
    return RedirectResponse(f"/wecom/channel-codes/{code_id}", status_code=303)


@router.post("/wecom/channel-codes/{code_id}/deactivate", response_model=None)
def deactivate(session: SessionDep, viewer: CodesViewer, code_id: int) -> Response:
    """Switch a code off and delete its WeCom contact way."""
    service.deactivate_code(session, viewer.actor, code_id)
    session.commit()
    return RedirectResponse("/wecom/channel-codes", status_code=303)
