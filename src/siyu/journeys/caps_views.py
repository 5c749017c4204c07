"""The frequency-cap settings page (/mass-sends/caps): the WeCom platform mode and the brand's caps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from siyu.channels.contract import adapter_names
from siyu.errors import Invalid
from siyu.journeys import caps_service
from siyu.journeys.caps_schemas import CapIn, PlatformIn
from siyu.org.permissions import PermissionRole
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import render

CAPS_ACCESS = access_for(
    (
        PermissionRole.admin,
        PermissionRole.private_domain_lead,
        PermissionRole.manager,
        PermissionRole.operator,
    )
)
CapsViewer = Annotated[Viewer, Depends(require_access(CAPS_ACCESS))]
PAGE = "journeys/journeys/caps.html"
PERIOD_LABELS = {"day": N_("per day"), "week": N_("per week"), "month": N_("per month")}
PLATFORM_LABELS = {
    "month": N_("As many per month as the month has days (WeCom default)"),
    "week": N_("7 per week"),
    "day": N_("1 per day"),
}

router = APIRouter(include_in_schema=False)


def _page(request: Request, session: SessionDep, viewer: Viewer, error: str | None = None) -> HTMLResponse:
    caps = caps_service.list_caps(session)
    context = {
        "caps": caps,
        "platform": next(c for c in caps if c.is_platform),
        "may_edit": viewer.actor.role in caps_service.CAP_ROLES,
        "channels": adapter_names(),
        "error": error,
        "PERIOD_LABELS": PERIOD_LABELS,
        "PLATFORM_LABELS": PLATFORM_LABELS,
    }
    return render(request, PAGE, context, status_code=422 if error else 200)


@router.get("/mass-sends/caps", response_class=HTMLResponse)
def caps_page(request: Request, session: SessionDep, viewer: CapsViewer) -> HTMLResponse:
    """The platform rule, the brand caps with today's allowance, and the forms to change them."""
    return _page(request, session, viewer)


@router.post("/mass-sends/caps/platform", response_model=None)
async def set_platform(request: Request, session: SessionDep, viewer: CapsViewer) -> Response:
    """Mirror the mode set in WeCom's 群发助手."""
    form = await request.form()
    try:
        caps_service.set_platform_mode(
            session, viewer.actor, PlatformIn(period=str(form.get("period") or ""))
        )
    except (ValidationError, Invalid) as exc:
        return _page(request, session, viewer, exc.message if isinstance(exc, Invalid) else str(exc))
    session.commit()
    return RedirectResponse("/mass-sends/caps", status_code=303)


@router.post("/mass-sends/caps", response_model=None)
async def add_cap(request: Request, session: SessionDep, viewer: CapsViewer) -> Response:
    """Add a brand cap from the form; errors re-render the page with the message."""
    form = await request.form()
    raw_max = str(form.get("max_touches") or "")
    try:
        data = CapIn(
            code=str(form.get("code") or "").strip(),
            name=str(form.get("name") or "").strip(),
            period=str(form.get("period") or ""),
            max_touches=int(raw_max) if raw_max.isdigit() else -1,
            channel=str(form.get("channel") or "") or None,
        )
        caps_service.add_cap(session, viewer.actor, data)
    except (ValidationError, Invalid) as exc:
        return _page(request, session, viewer, exc.message if isinstance(exc, Invalid) else str(exc))
    session.commit()
    return RedirectResponse("/mass-sends/caps", status_code=303)


@router.post("/mass-sends/caps/{cap_id}/{action}", response_model=None)
def toggle(request: Request, session: SessionDep, viewer: CapsViewer, cap_id: int, action: str) -> Response:
    """Switch a brand cap on (action "enable") or off ("disable")."""
    if action not in ("enable", "disable"):
        raise Invalid(f"action: {action!r} is not enable or disable")
    caps_service.set_enabled(session, viewer.actor, cap_id, action == "enable")
    session.commit()
    return RedirectResponse("/mass-sends/caps", status_code=303)
