"""The WeCom settings page (/wecom/settings): credentials (write-only secrets) and the connection test."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.org.permissions import PermissionRole
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.render import render
from siyu.wecom.callback_api import CALLBACK_PATH
from siyu.wecom.credentials import save_app
from siyu.wecom.settings_service import settings_view, test_connection

SETTINGS_ACCESS = access_for((PermissionRole.admin,))
SettingsViewer = Annotated[Viewer, Depends(require_access(SETTINGS_ACCESS))]
PAGE = "wecom/wecom/settings.html"

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, session: SessionDep, error: str | None = None, form: dict[str, str] | None = None
) -> HTMLResponse:
    # The URL to enter in WeCom's admin console, as this server is reached.
    callback_url = str(request.base_url).rstrip("/") + CALLBACK_PATH
    context = {
        "view": settings_view(session),
        "error": error,
        "form": form or {},
        "callback_url": callback_url,
    }
    return render(request, PAGE, context, status_code=422 if error else 200)


@router.get("/wecom/settings", response_class=HTMLResponse)
def settings_page(request: Request, session: SessionDep, viewer: SettingsViewer) -> HTMLResponse:
    """The stored settings (secrets shown only as set / not set) and the last connection test."""
    return _page(request, session)


@router.post("/wecom/settings", response_model=None)
async def save_settings(request: Request, session: SessionDep, viewer: SettingsViewer) -> Response:
    """Save the form; a blank secret or AES key keeps the stored one; errors re-render with the message."""
    form = await request.form()
    fields = {k: str(form.get(k) or "") for k in ("corp_id", "agent_id", "callback_token", "api_base_url")}
    try:
        save_app(
            session,
            viewer.actor,
            secret=str(form.get("secret") or ""),
            aes_key=str(form.get("aes_key") or ""),
            enabled=form.get("enabled") == "on",
            **fields,
        )
    except Invalid as exc:
        session.rollback()
        return _page(request, session, exc.message, fields)  # the secrets are never sent back
    session.commit()
    return RedirectResponse("/wecom/settings", status_code=303)


@router.post("/wecom/settings/test", response_model=None)
def test_settings(request: Request, session: SessionDep, viewer: SettingsViewer) -> Response:
    """Run the connection test; the result is stored and shown on the page."""
    test_connection(session, viewer.actor, utcnow())
    session.commit()
    return RedirectResponse("/wecom/settings", status_code=303)
