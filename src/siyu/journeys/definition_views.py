"""The journey console (旅程/SOP): list, form editor with a timeline preview, templates, detail with the funnel."""

from __future__ import annotations

import copy
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from siyu.customers import tags as customer_tags
from siyu.db.types import utcnow
from siyu.errors import Forbidden, Invalid
from siyu.journeys import definition_form as form_codec
from siyu.journeys import definition_service as service
from siyu.journeys.definition_check import check_definition, parse_definition, reference_problems
from siyu.journeys.definition_schemas import JourneyCreate, JourneyVersionCreate, TemplateCopy
from siyu.models import ChatGroup, Journey, Script, Segment
from siyu.models.enums import Channel
from siyu.models.journeys import JourneyStatus
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import is_htmx, register_nav, render

JOURNEY_ACCESS = access_for(service.VIEW_ROLES)
JourneyViewer = Annotated[Viewer, Depends(require_access(JOURNEY_ACCESS))]
EDITOR = "journeys/journeys/journey_edit.html"

router = APIRouter(include_in_schema=False)
register_nav("journeys", N_("Journeys / SOP"), "/journeys", order=28, access=JOURNEY_ACCESS)

TRIGGER_LABELS = {
    "joined_channel": N_("Added as a contact / joined a channel"),
    "joined_group": N_("Joined a group chat"),
    "channel_code": N_("Added through a channel code"),
    "tag_added": N_("Got a tag"),
    "entered_segment": N_("Entered a segment"),
    "first_order": N_("First order"),
    "no_order_days": N_("No order for N days"),
    "birthday": N_("Birthday (brand-local)"),
    "churn_warning": N_("Churn warning"),
    "manual": N_("Enrolled by hand"),
}
# What "day N" counts from, in the timeline preview.
ENTRY_LABELS = {
    "joined_channel": N_("after adding"),
    "joined_group": N_("after joining the group"),
    "channel_code": N_("after adding"),
    "tag_added": N_("after the tag"),
    "entered_segment": N_("after entering the segment"),
    "first_order": N_("after the first order"),
    "no_order_days": N_("after the lapse"),
    "birthday": N_("from the birthday"),
    "churn_warning": N_("after the warning"),
    "manual": N_("after enrolment"),
}
CONDITION_LABELS = {
    "in_segment": N_("is in segment"),
    "not_in_segment": N_("is not in segment"),
    "has_tag": N_("has tag"),
    "not_has_tag": N_("does not have tag"),
    "ordered_since_entry": N_("ordered since entry"),
    "no_order_since_entry": N_("no order since entry"),
}
ACTION_LABELS = {
    "send_script": N_("Send a script"),
    "create_task": N_("Create a staff task"),
    "add_tag": N_("Add a tag"),
    "remove_tag": N_("Remove a tag"),
    "notify_manager": N_("Notify the manager"),
    "enrol_journey": N_("Enrol into another journey"),
}
EXIT_LABELS = {
    "bought": N_("Bought (an order after entry)"),
    "left_channel": N_("Left a channel"),
    "opted_out": N_("No marketing consent"),
    "tag_added": N_("Got a tag"),
}
REENTRY_LABELS = {
    "never": N_("Never again"),
    "after_exit": N_("Again once the previous run ended"),
    "always": N_("Every time the trigger fires"),
}
STATUS_LABELS = {
    "draft": N_("Draft"),
    "active": N_("Active"),
    "paused": N_("Paused"),
    "archived": N_("Archived"),
    "completed": N_("Completed"),
    "exited": N_("Exited"),
}
LABELS = {
    "TRIGGER_LABELS": TRIGGER_LABELS,
    "ENTRY_LABELS": ENTRY_LABELS,
    "CONDITION_LABELS": CONDITION_LABELS,
    "ACTION_LABELS": ACTION_LABELS,
    "EXIT_LABELS": EXIT_LABELS,
    "REENTRY_LABELS": REENTRY_LABELS,
    "STATUS_LABELS": STATUS_LABELS,
}


def _options(session: Any) -> dict[str, Any]:
    scripts = session.execute(
        select(Script.id, Script.title, Script.approval)
        .where(Script.approval != "retired")
        .order_by(Script.title)
    ).all()
    segments = session.execute(
        select(Segment.id, Segment.name).where(Segment.archived_at.is_(None)).order_by(Segment.name)
    ).all()
    groups = session.execute(select(ChatGroup.id, ChatGroup.name).order_by(ChatGroup.name).limit(300)).all()
    journeys = session.execute(select(Journey.code, Journey.name).order_by(Journey.code)).all()
    return {
        "scripts": scripts,
        "script_titles": {s.id: s.title for s in scripts},
        "segments": segments,
        "groups": groups,
        "journey_codes": journeys,
        "tag_groups": customer_tags.list_groups(session),
        "channels": [c.value for c in Channel],
    }


def _editor(
    session: Any, viewer: Viewer, definition: dict[str, Any], journey: Journey | None, fields: dict[str, str]
) -> dict[str, Any]:
    context: dict[str, Any] = {
        **LABELS,
        **_options(session),
        "d": definition,
        "journey": journey,
        "fields": fields,
        "may_edit": service.may_edit(viewer.actor),
        "errors": [],
        "problems": [],
        "timeline": None,
    }
    try:
        parsed = parse_definition(definition)
        context["timeline"] = form_codec.timeline(parsed, form_codec.example_entry(utcnow()))
        context["example_entry"] = form_codec.example_entry(utcnow())
    except Invalid as exc:
        context["errors"] = exc.details or [{"where": "definition", "why": exc.message}]
    return context


@router.get("/journeys", response_class=HTMLResponse)
def journey_list(request: Request, session: SessionDep, viewer: JourneyViewer) -> HTMLResponse:
    """Journeys with status, version and enrolled/active/completed/exited counts."""
    context = {
        **LABELS,
        "journeys": service.list_journeys(session),
        "may_edit": service.may_edit(viewer.actor),
    }
    return render(request, "journeys/journeys/journey_list.html", context)


@router.get("/journeys/templates", response_class=HTMLResponse)
def template_list(request: Request, session: SessionDep, viewer: JourneyViewer) -> HTMLResponse:
    """The article templates, each with a copy form (scripts pre-picked from the library where they match)."""
    context = {
        **LABELS,
        "templates": service.templates(session),
        "scripts": _options(session)["scripts"],
        "may_edit": service.may_edit(viewer.actor),
    }
    return render(request, "journeys/journeys/journey_templates.html", context)


def _redirect(request: Request, target: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.post("/journeys/templates/copy")
async def copy_template(request: Request, session: SessionDep, viewer: JourneyViewer) -> Response:
    """Copy a template into a draft journey and open it in the editor."""
    posted = await request.form()
    picks = {
        str(k)[len("script__") :]: int(str(v))
        for k, v in posted.items()
        if str(k).startswith("script__") and str(v).isdigit()
    }
    try:
        data = TemplateCopy(
            template_code=str(posted.get("template_code") or ""),
            code=str(posted.get("code") or "").strip(),
            name=str(posted.get("name") or "").strip() or None,
            scripts=picks,
        )
    except ValidationError as exc:
        raise Invalid(f"code: {exc.errors()[0]['msg']} (lower-case letters, digits, - and _)") from None
    journey, _missing = service.copy_template(session, viewer.actor, data)
    session.commit()
    return _redirect(request, f"/journeys/{journey.id}/edit")


@router.get("/journeys/new", response_class=HTMLResponse)
def new_journey(request: Request, session: SessionDep, viewer: JourneyViewer) -> HTMLResponse:
    """An empty editor."""
    return render(request, EDITOR, _editor(session, viewer, copy.deepcopy(form_codec.EMPTY), None, {}))


@router.get("/journeys/{journey_id}/edit", response_class=HTMLResponse)
def edit_journey(
    request: Request, session: SessionDep, viewer: JourneyViewer, journey_id: int
) -> HTMLResponse:
    """The editor on the journey's current version; saving makes a new version."""
    journey = service.get_journey(session, journey_id)
    definition = service.current_definition(session, journey).model_dump(mode="json")
    fields = {"code": journey.code, "name": journey.name, "description": journey.description or ""}
    context = _editor(session, viewer, definition, journey, fields)
    context["problems"] = reference_problems(session, parse_definition(definition), journey.code)
    return render(request, EDITOR, context)


def _posted(posted: Any) -> tuple[dict[str, Any], dict[str, str], Journey | None, Any]:
    definition = form_codec.definition_from_form(posted)
    fields = {k: str(posted.get(k) or "").strip() for k in ("code", "name", "description", "note")}
    return definition, fields, None, posted.get("journey_id")


@router.post("/journeys/editor", response_class=HTMLResponse)
async def editor(request: Request, session: SessionDep, viewer: JourneyViewer) -> HTMLResponse:
    """Re-render the editor after a button (add/remove a step, action, condition, exit) or a change."""
    posted = await request.form()
    definition, fields, journey, raw_id = _posted(posted)
    definition = form_codec.apply_button(definition, str(posted.get("button") or ""))
    if str(raw_id or "").isdigit():
        journey = service.get_journey(session, int(str(raw_id)))
    context = _editor(session, viewer, definition, journey, fields)
    if not context["errors"]:
        try:
            _d, context["problems"] = check_definition(session, definition, fields.get("code") or None)
        except Invalid as exc:
            context["errors"] = exc.details or [{"where": "definition", "why": exc.message}]
    return render(request, EDITOR, context, fragment="editor" if is_htmx(request) else "content")


@router.post("/journeys/save", response_model=None)
async def save(request: Request, session: SessionDep, viewer: JourneyViewer) -> Response:
    """Save the form as a new journey or as the next version of the one edited; errors re-render the form."""
    if not service.may_edit(viewer.actor):
        raise Forbidden(N_("Your role may not change journeys."))
    posted = await request.form()
    definition, fields, journey, raw_id = _posted(posted)
    try:
        if str(raw_id or "").isdigit():
            journey, _p = service.new_version(
                session,
                viewer.actor,
                int(str(raw_id)),
                JourneyVersionCreate(
                    definition=definition,
                    name=fields["name"] or None,
                    description=fields["description"] or None,
                    note=fields["note"] or None,
                ),
            )
        else:
            journey, _p = service.create_journey(
                session,
                viewer.actor,
                JourneyCreate(
                    code=fields["code"],
                    name=fields["name"],
                    description=fields["description"] or None,
                    definition=definition,
                    note=fields["note"] or None,
                ),
            )
    except (Invalid, ValidationError) as exc:
        session.rollback()
        if isinstance(exc, ValidationError):
            errors = [{"where": ".".join(str(p) for p in e["loc"]), "why": e["msg"]} for e in exc.errors()]
        else:
            errors = exc.details or [{"where": "definition", "why": exc.message}]
        existing = service.get_journey(session, int(str(raw_id))) if str(raw_id or "").isdigit() else None
        context = _editor(session, viewer, definition, existing, fields)
        context["errors"] = errors
        return render(
            request, EDITOR, context, fragment="editor" if is_htmx(request) else "content", status_code=422
        )
    session.commit()
    return _redirect(request, f"/journeys/{journey.id}")


@router.get("/journeys/{journey_id}", response_class=HTMLResponse)
def journey_page(
    request: Request, session: SessionDep, viewer: JourneyViewer, journey_id: int
) -> HTMLResponse:
    """Versions, enrolments by status, the per-step funnel, exit reasons and recent enrolments."""
    detail = service.journey_detail(session, viewer.actor, journey_id)
    timeline = None
    try:
        entry = form_codec.example_entry(detail.as_of)
        timeline = form_codec.timeline(parse_definition(detail.definition), entry)
    except Invalid:
        pass
    context = {
        **LABELS,
        **{k: v for k, v in _options(session).items() if k == "script_titles"},
        "detail": detail,
        "j": detail.journey,
        "timeline": timeline,
        "may_edit": service.may_edit(viewer.actor),
        "moves": sorted(s.value for s in service.MOVES[detail.journey.status]),
    }
    return render(request, "journeys/journeys/journey_detail.html", context)


@router.post("/journeys/{journey_id}/status")
async def status(request: Request, session: SessionDep, viewer: JourneyViewer, journey_id: int) -> Response:
    """Activate, pause, resume or archive from the detail page."""
    posted = await request.form()
    try:
        target = JourneyStatus(str(posted.get("status") or ""))
    except ValueError:
        raise Invalid(f"status: {posted.get('status')!r} is not a journey status") from None
    service.change_status(session, viewer.actor, journey_id, target)
    session.commit()
    return _redirect(request, f"/journeys/{journey_id}")
