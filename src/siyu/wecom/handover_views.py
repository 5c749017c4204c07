"""Console pages /wecom/handover: pick a member → their WeCom customers → transfer; batch detail with quality."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.models import Staff
from siyu.models.wecom import TransferKind
from siyu.org.permissions import Actor
from siyu.org.repository import readable_staff
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import render
from siyu.wecom import handover_report as report
from siyu.wecom import handover_service as service
from siyu.wecom.credentials import client_for

HANDOVER_ACCESS = access_for(service.HANDOVER_ROLES)
HandoverViewer = Annotated[Viewer, Depends(require_access(HANDOVER_ACCESS))]
STATUS_LABELS = {
    "requested": N_("Requested"),
    "waiting": N_("Waiting for the customer"),
    "done": N_("Transferred"),
    "refused": N_("Customer refused"),
    "takeover_full": N_("Takeover member full"),
    "failed": N_("Failed"),
    "blocked": N_("Blocked by Siyu"),
}
KIND_LABELS = {"onjob": N_("On-the-job handover"), "resigned": N_("Resigned member's customers")}

router = APIRouter(include_in_schema=False)


def wecom_staff(session: Session, actor: Actor) -> list[tuple[int, str, str, str]]:
    """(id, name, code, status) of members linked to WeCom, within the actor's scope."""
    rows = session.execute(
        select(Staff.id, Staff.name, Staff.code, Staff.status)
        .where(Staff.wecom_userid.is_not(None), readable_staff(actor))
        .order_by(Staff.name)
    ).all()
    return [(i, n, c, s.value) for i, n, c, s in rows]


def _page(
    request: Request, session: Session, viewer: Viewer, staff_id: int | None, error: str | None = None
) -> HTMLResponse:
    now = utcnow()
    candidates = service.candidates(session, viewer.actor, staff_id, now) if staff_id else []
    context = {
        "staff": wecom_staff(session, viewer.actor),
        "staff_id": staff_id,
        "candidates": candidates,
        "batches": report.summaries(session, viewer.actor, now, limit=50),
        "STATUS_LABELS": STATUS_LABELS,
        "KIND_LABELS": KIND_LABELS,
        "error": error,
    }
    return render(request, "wecom/wecom/handover.html", context, status_code=422 if error else 200)


@router.get("/wecom/handover", response_class=HTMLResponse)
def handover_page(
    request: Request, session: SessionDep, viewer: HandoverViewer, staff_id: int | None = None
) -> HTMLResponse:
    """Choose the handover member; their WeCom customers appear with checkboxes; recent batches below."""
    return _page(request, session, viewer, staff_id)


def _int(value: object, what: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise Invalid(f"handover form: {what} must be a number, got {value!r}") from None


@router.post("/wecom/handover", response_model=None)
async def start(request: Request, session: SessionDep, viewer: HandoverViewer) -> Response:
    """Transfer the ticked customers; errors re-render the form with the message."""
    form = await request.form()
    staff_id = _int(form.get("handover_staff_id"), "handover member")
    try:
        kind = TransferKind(str(form.get("kind") or "onjob"))
        with client_for(session) as client:
            batch = service.start_handover(
                session,
                viewer.actor,
                client,
                kind=kind,
                handover_staff_id=staff_id,
                takeover_staff_id=_int(form.get("takeover_staff_id"), "takeover member"),
                customer_ids=[_int(v, "customer") for v in form.getlist("customer_ids")],
                now=utcnow(),
                message=str(form.get("message") or ""),
            )
    except (Invalid, ValueError) as exc:
        session.rollback()
        return _page(request, session, viewer, staff_id, getattr(exc, "message", str(exc)))
    session.commit()
    return RedirectResponse(f"/wecom/handover/{batch.id}", status_code=303)


@router.get("/wecom/handover/{batch_id}", response_class=HTMLResponse)
def batch_page(request: Request, session: SessionDep, viewer: HandoverViewer, batch_id: int) -> HTMLResponse:
    """A batch: counts by status, customers kept after the takeover, and every customer's status."""
    summary, lines = report.batch_detail(session, viewer.actor, batch_id, utcnow())
    context = {"batch": summary, "lines": lines, "STATUS_LABELS": STATUS_LABELS, "KIND_LABELS": KIND_LABELS}
    return render(request, "wecom/wecom/handover_batch.html", context)


@router.post("/wecom/handover/poll", response_model=None)
def poll(session: SessionDep, viewer: HandoverViewer) -> Response:
    """Read WeCom's transfer results now instead of waiting for the worker."""
    with client_for(session) as client:
        service.poll_transfers(session, client, utcnow(), actor=viewer.actor)
    session.commit()
    return RedirectResponse("/wecom/handover", status_code=303)
