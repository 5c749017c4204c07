"""The notifications bell (unread count in the top bar) and the /notifications page (mark one or all read)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from siyu.compliance.notify_inbox import inbox, mark_all_read, mark_read, unread_count
from siyu.web.auth import SessionDep, ViewerDep
from siyu.web.render import is_htmx, render, wants_fragment

router = APIRouter(include_in_schema=False)
PAGE = "compliance/notifications.html"


@router.get("/notifications/bell", response_class=HTMLResponse)
def bell(request: Request, session: SessionDep, viewer: ViewerDep) -> HTMLResponse:
    """The bell with the viewer's unread count (loaded by every page's top bar)."""
    context = {"unread": unread_count(session, viewer.account_id)}
    return render(request, "compliance/bell.html", context, fragment=None)


def _page(request: Request, session: SessionDep, viewer: ViewerDep) -> HTMLResponse:
    context = {
        "notifications": inbox(session, viewer.account_id),
        "unread": unread_count(session, viewer.account_id),
    }
    return render(request, PAGE, context, fragment="inbox" if wants_fragment(request) else "content")


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, session: SessionDep, viewer: ViewerDep) -> HTMLResponse:
    """The viewer's notifications, newest first."""
    return _page(request, session, viewer)


@router.post("/notifications/{notification_id}/read", response_model=None)
def read_one(request: Request, session: SessionDep, viewer: ViewerDep, notification_id: int) -> Response:
    """Mark one notification read; a plain form post follows the notification's link."""
    found = mark_read(session, viewer.account_id, notification_id)
    link = found.link
    session.commit()
    if is_htmx(request):
        return _page(request, session, viewer)
    return RedirectResponse(
        link if link and link.startswith("/") and not link.startswith("//") else "/notifications", 303
    )


@router.post("/notifications/read-all", response_model=None)
def read_all(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """Mark every notification of the viewer read."""
    mark_all_read(session, viewer.account_id)
    session.commit()
    if is_htmx(request):
        return _page(request, session, viewer)
    return RedirectResponse("/notifications", 303)
