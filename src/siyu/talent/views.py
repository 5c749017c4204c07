"""The 团队 console entry: the nav item, the shared tab bar, and /talent sending each viewer to a tab they may open."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from siyu.errors import Forbidden
from siyu.talent.access import TABS
from siyu.web.access import PageAccess
from siyu.web.auth import Viewer, ViewerDep
from siyu.web.i18n import N_
from siyu.web.render import register_nav

router = APIRouter(include_in_schema=False)
# The nav shows the entry to whoever may open at least one tab; today that is everyone (the role map).
register_nav("talent", N_("Team & talent"), "/talent", order=60, access=PageAccess())


def tabs(viewer: Viewer) -> list[tuple[str, str, str]]:
    """(key, label msgid, path) of the talent tabs this viewer may open."""
    return [(key, label, path) for key, label, path, access in TABS if access.allows(viewer.actor)]


@router.get("/talent")
def talent_home(viewer: ViewerDep) -> RedirectResponse:
    """Send the viewer to the first talent tab they may open."""
    allowed = tabs(viewer)
    if not allowed:
        raise Forbidden(N_("Your role may not open this page."))
    return RedirectResponse(allowed[0][2], status_code=303)
