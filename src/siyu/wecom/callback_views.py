"""Console page /wecom/callbacks: the callback inbox (status counts, recent events, errors) and a retry button."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.models.wecom import CallbackStatus, WecomCallbackEvent
from siyu.org.permissions import Actor, PermissionRole
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import render
from siyu.wecom.callback_service import inbox_counts
from siyu.wecom.views import SECTIONS

INBOX_ACCESS = access_for((PermissionRole.admin, PermissionRole.private_domain_lead))
InboxViewer = Annotated[Viewer, Depends(require_access(INBOX_ACCESS))]
PAGE_SIZE = 100

router = APIRouter(include_in_schema=False)
SECTIONS.append(
    (
        "/wecom/callbacks",
        N_("WeCom callbacks"),
        N_("Events WeCom pushed: processed, ignored or failed, with errors."),
    )
)


def recent_events(
    session: Session, status: CallbackStatus | None, limit: int = PAGE_SIZE
) -> list[WecomCallbackEvent]:
    """The newest stored callbacks, optionally of one status."""
    q = select(WecomCallbackEvent).order_by(WecomCallbackEvent.id.desc()).limit(limit)
    if status is not None:
        q = q.where(WecomCallbackEvent.status == status)
    return list(session.scalars(q))


def retry_failed(session: Session, actor: Actor) -> int:
    """Put every failed callback back to pending with fresh attempts (after fixing the cause); audited."""
    result = session.execute(
        update(WecomCallbackEvent)
        .where(WecomCallbackEvent.status == CallbackStatus.failed)
        .values(status=CallbackStatus.pending, attempts=0)
        .execution_options(synchronize_session=False)
    )
    n = int(getattr(result, "rowcount", 0) or 0)
    audit(session, actor, "wecom.callbacks.retry_failed", "wecom_callback_event", None, {"events": n})
    return n


@router.get("/wecom/callbacks", response_class=HTMLResponse)
def inbox_page(
    request: Request, session: SessionDep, viewer: InboxViewer, status: str | None = None
) -> HTMLResponse:
    """Counts by status and the newest 100 callbacks (of one status when filtered)."""
    chosen = CallbackStatus(status) if status is not None and status in CallbackStatus.__members__ else None
    context = {"counts": inbox_counts(session), "events": recent_events(session, chosen), "status": status}
    return render(request, "wecom/wecom/callbacks.html", context)


@router.post("/wecom/callbacks/retry-failed")
def retry_failed_route(session: SessionDep, viewer: InboxViewer) -> RedirectResponse:
    """Queue failed callbacks again; the worker picks them up within a minute."""
    retry_failed(session, viewer.actor)
    session.commit()
    return RedirectResponse("/wecom/callbacks", status_code=303)
