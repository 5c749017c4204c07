"""The 人群包 console: segment list with size sparklines, the rule builder with a live count, versions, export."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from markupsafe import Markup
from sqlalchemy import select

from siyu.customers import tags as customer_tags
from siyu.db.types import utcnow
from siyu.errors import Forbidden, Invalid
from siyu.models import OrgUnit, Staff
from siyu.org import repository as org_repo
from siyu.org.permissions import DataScope, PermissionRole
from siyu.segments import form as rule_form
from siyu.segments import repository as repo
from siyu.segments import service
from siyu.segments.export import FORMATS, write_export
from siyu.segments.schemas import FIELDS, RFM_SEGMENTS, SegmentCreate, SegmentUpdate
from siyu.timeutil import local_date
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import register_nav, render

# Guides are left out: their customers come to them as tasks; segments are an operations tool.
SEGMENT_ROLES = (
    PermissionRole.admin,
    PermissionRole.private_domain_lead,
    PermissionRole.manager,
    PermissionRole.operator,
    PermissionRole.analyst,
)
SEGMENT_ACCESS = access_for(SEGMENT_ROLES)
SegmentViewer = Annotated[Viewer, Depends(require_access(SEGMENT_ACCESS))]
BUILDER = "segments/builder.html"

router = APIRouter(include_in_schema=False)
register_nav("segments", N_("Segments"), "/segments", order=27, access=SEGMENT_ACCESS)

FIELD_LABELS = {
    "tag": N_("Tags"),
    "channel": N_("Channel membership"),
    "source": N_("Acquisition source"),
    "store": N_("Home store"),
    "unit": N_("Org unit (with sub-units)"),
    "owner_staff": N_("Owner staff"),
    "lifecycle_stage": N_("Lifecycle stage"),
    "member_tier": N_("Member tier"),
    "last_order_days": N_("Days since last order"),
    "orders_in_window": N_("Orders in the last N days"),
    "spend_in_window": N_("Spend in the last N days (yuan)"),
    "order_channel": N_("Bought through channel in the last N days"),
    "rfm_segment": N_("RFM segment"),
    "clv_fen": N_("Predicted lifetime value (yuan)"),
    "p_alive": N_("Probability alive (0–1)"),
    "expected_purchases": N_("Expected purchases"),
    "last_contact_days": N_("Days since last chat"),
    "consent": N_("Marketing consent"),
    "first_seen_days": N_("Days since first seen"),
}
OP_LABELS = {
    "any": N_("has any of"),
    "all": N_("has all of"),
    "none": N_("has none of / is empty"),
    "member": N_("is a member now of"),
    "not_member": N_("is not a member now of"),
    "joined_within": N_("joined within the last N days"),
    "joined_between": N_("joined between"),
    "in": N_("is one of"),
    "not_in": N_("is not one of"),
    "some": N_("is set"),
    "ge": N_("≥"),
    "le": N_("≤"),
    "between": N_("between"),
    "never": N_("never"),
    "is": N_("is"),
}
GROUP_LABELS = {"all": N_("All of"), "any": N_("Any of"), "not": N_("Not")}
LABELS = {
    "FIELD_LABELS": FIELD_LABELS,
    "OP_LABELS": OP_LABELS,
    "GROUP_LABELS": GROUP_LABELS,
    "FIELDS": FIELDS,
}


def _chart(option: dict[str, Any]) -> Markup:
    text = json.dumps(option, ensure_ascii=False)
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def _line(days: list[str], values: list[int], *, spark: bool) -> Markup:
    axis: dict[str, Any] = {"type": "category", "data": days, "show": not spark}
    option: dict[str, Any] = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 4, "right": 4, "top": 4, "bottom": 4}
        if spark
        else {"left": 56, "right": 16, "top": 24, "bottom": 32},
        "xAxis": axis,
        "yAxis": {"type": "value", "show": not spark, "scale": spark},
        "series": [
            {"type": "line", "data": values, "showSymbol": not spark, "areaStyle": {} if spark else None}
        ],
    }
    return _chart(option)


def _options(session: Any, viewer: Viewer) -> dict[str, Any]:
    actor = viewer.actor
    units = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.depth, OrgUnit.kind)
        .where(org_repo.readable_units(actor))
        .order_by(OrgUnit.path)
    ).all()
    staff = session.execute(
        select(Staff.id, Staff.name).where(org_repo.readable_staff(actor)).order_by(Staff.name).limit(500)
    ).all()
    return {
        "units": units,
        "staff": staff,
        "tag_groups": customer_tags.list_groups(session),
        "rfm_codes": RFM_SEGMENTS,
    }


def _builder(
    session: Any, viewer: Viewer, document: dict[str, Any], segment_id: int | None
) -> dict[str, Any]:
    context: dict[str, Any] = {
        **LABELS,
        **_options(session, viewer),
        "rows": rule_form.rows_of(document.get("rule")),
        "rule_json": rule_form.pretty(document),
        "segment": None,
        "may_write": viewer.actor.may_write,
        "brand_wide": viewer.actor.scope is DataScope.all,
    }
    if segment_id is not None:
        detail = service.segment_detail(session, segment_id)
        context["segment"] = detail
        sizes = detail.sizes
        context["size_chart"] = _line(
            [s.day.isoformat() for s in sizes], [s.customers for s in sizes], spark=False
        )
    return context


@router.get("/segments", response_class=HTMLResponse)
def segment_list(
    request: Request, session: SessionDep, viewer: SegmentViewer, archived: Annotated[bool, Query()] = False
) -> HTMLResponse:
    """Saved segments: name, version, latest brand-wide size and its last 30 days as a sparkline."""
    segments = service.list_segments(session, archived=archived)
    history = repo.size_history(session, [s.id for s in segments], local_date(utcnow()) - timedelta(days=30))
    brand_wide = viewer.actor.scope is DataScope.all
    sparks = {
        s.id: _line(
            [h.day.isoformat() for h in history[s.id]], [h.customers for h in history[s.id]], spark=True
        )
        for s in segments
        if brand_wide and history[s.id]
    }
    context = {
        "segments": segments,
        "sparks": sparks,
        "archived": archived,
        "brand_wide": brand_wide,
        "may_write": viewer.actor.may_write,
    }
    return render(request, "segments/list.html", context)


@router.get("/segments/new", response_class=HTMLResponse)
def new_segment(request: Request, session: SessionDep, viewer: SegmentViewer) -> HTMLResponse:
    """An empty builder."""
    return render(request, BUILDER, _builder(session, viewer, rule_form.EMPTY_DOCUMENT, None))


@router.get("/segments/{segment_id}", response_class=HTMLResponse)
def segment_page(
    request: Request, session: SessionDep, viewer: SegmentViewer, segment_id: int
) -> HTMLResponse:
    """A saved segment in the builder, with its versions, size history and export."""
    detail = service.segment_detail(session, segment_id)
    return render(request, BUILDER, _builder(session, viewer, detail.rule, segment_id))


@router.post("/segments/builder/editor", response_class=HTMLResponse)
async def editor(request: Request, session: SessionDep, viewer: SegmentViewer) -> HTMLResponse:
    """Re-render the rule editor after a button (add, group, remove, any/all) or a field change, or from JSON."""
    form = await request.form()
    action = str(form.get("action") or "")
    document = rule_form.document_from_form(form)
    message = None
    if action == "json":
        try:
            document = rule_form.document_from_json(str(form.get("rule_json") or ""))
        except ValueError as exc:
            message = str(exc)
    elif action:
        document = rule_form.apply_action(document, action)
    context = _builder(session, viewer, document, None)
    context["json_error"] = message
    response = render(request, BUILDER, context, fragment="editor")
    response.headers["HX-Trigger"] = "rule-changed"
    return response


@router.post("/segments/builder/preview", response_class=HTMLResponse)
async def preview(request: Request, session: SessionDep, viewer: SegmentViewer) -> HTMLResponse:
    """The live count and sample of the rule in the form, in the viewer's scope (errors name the bad node)."""
    form = await request.form()
    document = rule_form.document_from_form(form)
    context: dict[str, Any] = {"preview": None, "errors": None}
    try:
        context["preview"] = service.preview(session, viewer.actor, document)
    except Invalid as exc:
        context["errors"] = exc.details or [{"where": "rule", "why": exc.message}]
    return render(request, BUILDER, context, fragment="preview")


@router.post("/segments/save")
async def save(request: Request, session: SessionDep, viewer: SegmentViewer) -> Response:
    """Save the form as a new segment, or as a new version of the one being edited."""
    if not viewer.actor.may_write:
        raise Forbidden(N_("Your role may not change segments."))
    form = await request.form()
    document = rule_form.document_from_form(form)
    name = str(form.get("name") or "").strip()
    description = str(form.get("description") or "").strip() or None
    note = str(form.get("note") or "").strip() or None
    raw_id = str(form.get("segment_id") or "")
    try:
        if raw_id.isdigit():
            segment = service.update_segment(
                session,
                viewer.actor,
                int(raw_id),
                SegmentUpdate(name=name or None, description=description, rule=document, note=note),
            )
        else:
            segment = service.create_segment(
                session,
                viewer.actor,
                SegmentCreate(name=name, description=description, rule=document, note=note),
            )
    except ValueError as exc:  # pydantic: blank or overlong name
        raise Invalid(f"name: {exc}") from None
    session.commit()
    target = f"/segments/{segment.id}"
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.post("/segments/{segment_id}/archive")
def archive(request: Request, session: SessionDep, viewer: SegmentViewer, segment_id: int) -> Response:
    """Archive a segment and go back to the list."""
    service.archive_segment(session, viewer.actor, segment_id)
    session.commit()
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": "/segments"})
    return RedirectResponse("/segments", status_code=303)


@router.get("/segments/{segment_id}/export")
def export(
    request: Request,
    session: SessionDep,
    viewer: SegmentViewer,
    segment_id: int,
    fmt: Annotated[str, Query(max_length=8)] = "csv",
) -> StreamingResponse:
    """The members the viewer may read as CSV or XLSX (masked unless the role may reveal; audited)."""
    if fmt not in FORMATS:
        raise Invalid(f"fmt: {fmt!r} is not one of {', '.join(FORMATS)}")
    out, _count, _name = write_export(session, viewer.actor, segment_id, fmt)
    session.commit()
    media = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )

    def chunks() -> Any:
        try:
            while block := out.read(64 * 1024):
                yield block
        finally:
            out.close()

    headers = {
        "Content-Disposition": f'attachment; filename="segment-{segment_id}.{fmt}"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(chunks(), media_type=media, headers=headers)
