"""The WeCom hub (/wecom): one nav entry, linking the settings, channel codes and the other WeCom pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from siyu.org.permissions import PermissionRole
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import register_nav, render
from siyu.wecom.settings_service import settings_view

WECOM_ACCESS = access_for(
    (
        PermissionRole.admin,
        PermissionRole.private_domain_lead,
        PermissionRole.manager,
        PermissionRole.operator,
    )
)
WecomViewer = Annotated[Viewer, Depends(require_access(WECOM_ACCESS))]
register_nav("wecom", N_("Enterprise WeChat"), "/wecom", order=48, access=WECOM_ACCESS)

# (path, title, what it is for): other WeCom pages add themselves by appending here on import.
SECTIONS: list[tuple[str, str, str]] = [
    (
        "/wecom/settings",
        N_("WeCom settings"),
        N_("Corp id, app secret, callback token and key; test the connection."),
    ),
    (
        "/wecom/channel-codes",
        N_("Channel codes"),
        N_("QR codes that attribute, tag, welcome and enrol every customer who adds through them."),
    ),
    (
        "/wecom/sync",
        N_("WeCom sync"),
        N_("Staff, tags, customers and groups from WeCom; progress of each run."),
    ),
    ("/wecom/mass-sends", N_("Platform mass sends"), N_("Per-staff confirmation and per-customer results.")),
    ("/wecom/moments", N_("Customer moments"), N_("Moments posts and who has published them.")),
    ("/wecom/handover", N_("Customer handover"), N_("Move customers from one member to another.")),
]

router = APIRouter(include_in_schema=False)


@router.get("/wecom", response_class=HTMLResponse)
def hub(request: Request, session: SessionDep, viewer: WecomViewer) -> HTMLResponse:
    """Whether WeCom is configured and connected, and links to each WeCom page."""
    return render(request, "wecom/wecom/hub.html", {"sections": SECTIONS, "settings": settings_view(session)})


def _include_pages() -> None:
    # The settings and channel-code pages hang off this router so app.py includes one router for them.
    from siyu.wecom.channel_code_views import router as codes_router
    from siyu.wecom.settings_views import router as settings_router

    router.include_router(settings_router)
    router.include_router(codes_router)


_include_pages()
