"""The 群发 console: list with result counts, a new-send form with a live HTMX preview, detail with a chart."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import FormData

from siyu.channels.contract import adapter_names
from siyu.db.types import utcnow
from siyu.errors import Forbidden, Invalid
from siyu.journeys import mass_send_run, mass_send_service
from siyu.journeys.mass_send_schemas import RESULT_STATUSES, MassSendCreate, MassSendOut
from siyu.models import ChatGroup, Experiment, Script, ScriptApproval, Segment
from siyu.org.permissions import PermissionRole
from siyu.timeutil import brand_zone
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import register_nav, render

MASS_ACCESS = access_for(
    (
        PermissionRole.admin,
        PermissionRole.private_domain_lead,
        PermissionRole.manager,
        PermissionRole.operator,
    )
)
MassViewer = Annotated[Viewer, Depends(require_access(MASS_ACCESS))]
FORM = "journeys/journeys/mass_send_form.html"
STATUS_LABELS = {
    "queued": N_("Queued (waiting for the guide)"),
    "sent": N_("Sent"),
    "confirmed": N_("Confirmed"),
    "capped": N_("Capped"),
    "opted_out": N_("Opted out"),
    "failed": N_("Failed"),
}
STATE_LABELS = {
    "draft": N_("Draft"),
    "scheduled": N_("Scheduled"),
    "running": N_("Running"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
    "failed": N_("Failed"),
}
AUDIENCE_LABELS = {"segment": N_("Segment"), "groups": N_("Chat groups"), "customers": N_("Customer list")}
FIELDS = (
    "name",
    "script_id",
    "channel",
    "audience_kind",
    "segment_id",
    "customer_ids",
    "experiment_id",
    "scheduled_at",
)

router = APIRouter(include_in_schema=False)
register_nav("mass_sends", N_("Mass sends"), "/mass-sends", order=45, access=MASS_ACCESS)


def _require_write(viewer: Viewer) -> None:
    if not viewer.actor.may_write:
        raise Forbidden(N_("Your role may not create or change mass sends."))


def _chart(m: MassSendOut) -> Markup:
    counts = m.results.model_dump()
    option: dict[str, Any] = {
        "tooltip": {},
        "grid": {"left": 100, "right": 20, "top": 10, "bottom": 30},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": list(RESULT_STATUSES), "inverse": True},
        "series": [{"type": "bar", "data": [counts[s] for s in RESULT_STATUSES]}],
    }
    text = json.dumps(option, ensure_ascii=False)
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def _ids(raw: str) -> list[int]:
    return [int(v) for v in re.split(r"[\s,，;]+", raw) if v.isdigit()]


def _data(form: FormData) -> MassSendCreate:
    """The form as a MassSendCreate (ValidationError / Invalid name the bad field)."""
    value = {k: str(form.get(k) or "").strip() for k in FIELDS}
    when = None
    if value["scheduled_at"]:
        try:
            when = datetime.fromisoformat(value["scheduled_at"]).replace(tzinfo=brand_zone())
        except ValueError:
            raise Invalid(f"scheduled_at: {value['scheduled_at']!r} is not a date and time") from None
    return MassSendCreate(
        name=value["name"] or "—",
        script_id=int(value["script_id"]) if value["script_id"].isdigit() else 0,
        channel=value["channel"] or "staff_task",
        audience_kind=value["audience_kind"] or "segment",
        segment_id=int(value["segment_id"]) if value["segment_id"].isdigit() else None,
        group_ids=[int(str(g)) for g in form.getlist("group_ids") if str(g).isdigit()],
        customer_ids=_ids(value["customer_ids"]),
        experiment_id=int(value["experiment_id"]) if value["experiment_id"].isdigit() else None,
        scheduled_at=when,
    )


def _choices(session: SessionDep) -> dict[str, Any]:
    return {
        "scripts": session.execute(
            select(Script.id, Script.title)
            .where(Script.approval == ScriptApproval.approved)
            .order_by(Script.title)
        ).all(),
        "segments": session.execute(
            select(Segment.id, Segment.name).where(Segment.archived_at.is_(None)).order_by(Segment.name)
        ).all(),
        "groups": session.execute(
            select(ChatGroup.id, ChatGroup.name)
            .where(ChatGroup.dismissed_at.is_(None))
            .order_by(ChatGroup.name)
            .limit(500)
        ).all(),
        "experiments": session.execute(
            select(Experiment.id, Experiment.name).order_by(Experiment.id.desc())
        ).all(),
        "channels": adapter_names(),
        "AUDIENCE_LABELS": AUDIENCE_LABELS,
        "STATUS_LABELS": STATUS_LABELS,
    }


@router.get("/mass-sends", response_class=HTMLResponse)
def mass_send_list(request: Request, session: SessionDep, viewer: MassViewer) -> HTMLResponse:
    """Mass sends, newest first, with live result counts."""
    context = {
        "sends": mass_send_service.list_mass_sends(session),
        "may_write": viewer.actor.may_write,
        "STATE_LABELS": STATE_LABELS,
        "AUDIENCE_LABELS": AUDIENCE_LABELS,
    }
    return render(request, "journeys/journeys/mass_send_list.html", context)


@router.get("/mass-sends/new", response_class=HTMLResponse)
def new_mass_send(request: Request, session: SessionDep, viewer: MassViewer) -> HTMLResponse:
    """The form; the preview panel refreshes on every change."""
    _require_write(viewer)
    return render(request, FORM, _choices(session) | {"values": {}, "error": None, "preview": None})


@router.post("/mass-sends/preview", response_class=HTMLResponse)
async def preview(request: Request, session: SessionDep, viewer: MassViewer) -> HTMLResponse:
    """The preview fragment: audience in the viewer's scope after consent and caps, with a sample."""
    _require_write(viewer)
    form = await request.form()
    context: dict[str, Any] = {"preview": None, "error": None, "STATUS_LABELS": STATUS_LABELS}
    try:
        context["preview"] = mass_send_run.preview(session, viewer.actor, _data(form))
    except (ValidationError, Invalid) as exc:
        context["error"] = exc.message if isinstance(exc, Invalid) else str(exc.errors()[0]["msg"])
    return render(request, FORM, context, fragment="preview")


@router.post("/mass-sends", response_model=None)
async def create(request: Request, session: SessionDep, viewer: MassViewer) -> Response:
    """Schedule the send from the form (empty time = now); errors re-render the form."""
    _require_write(viewer)
    form = await request.form()
    try:
        row = mass_send_service.create_mass_send(session, viewer.actor, _data(form), utcnow())
    except (ValidationError, Invalid) as exc:
        message = exc.message if isinstance(exc, Invalid) else str(exc)
        values = {k: str(form.get(k) or "") for k in FIELDS}
        context = _choices(session) | {"values": values, "error": message, "preview": None}
        return render(request, FORM, context, status_code=422)
    session.commit()
    return RedirectResponse(f"/mass-sends/{row.id}", status_code=303)


@router.get("/mass-sends/{mass_send_id}", response_class=HTMLResponse)
def detail(request: Request, session: SessionDep, viewer: MassViewer, mass_send_id: int) -> HTMLResponse:
    """One send: audience, schedule, result counts and their chart."""
    m = mass_send_service.mass_send_detail(session, mass_send_id)
    script = session.scalar(select(Script.title).where(Script.id == m.script_id))
    context = {
        "m": m,
        "script_title": script,
        "chart": _chart(m),
        "counts": m.results.model_dump(),
        "may_write": viewer.actor.may_write,
        "RESULT_STATUSES": RESULT_STATUSES,
        "STATUS_LABELS": STATUS_LABELS,
        "STATE_LABELS": STATE_LABELS,
        "AUDIENCE_LABELS": AUDIENCE_LABELS,
    }
    return render(request, "journeys/journeys/mass_send_detail.html", context)


@router.post("/mass-sends/{mass_send_id}/retry", response_model=None)
def retry(request: Request, session: SessionDep, viewer: MassViewer, mass_send_id: int) -> Response:
    """Schedule a failed send again and go back to it."""
    mass_send_service.retry_mass_send(session, viewer.actor, mass_send_id, utcnow())
    session.commit()
    return RedirectResponse(f"/mass-sends/{mass_send_id}", status_code=303)


@router.post("/mass-sends/{mass_send_id}/cancel", response_model=None)
def cancel(request: Request, session: SessionDep, viewer: MassViewer, mass_send_id: int) -> Response:
    """Cancel a send that has not run and go back to it."""
    mass_send_service.cancel_mass_send(session, viewer.actor, mass_send_id)
    session.commit()
    return RedirectResponse(f"/mass-sends/{mass_send_id}", status_code=303)
