"""Console pages of the role map: /talent/roles (by value stage), one role, edit / new / deactivate / reset."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from siyu.db.types import utcnow
from siyu.errors import SiyuError
from siyu.models import BrandStage
from siyu.performance import kpi_service
from siyu.performance.catalog import METRICS
from siyu.performance.kpi_views import STAGE_LABELS, metric_names
from siyu.talent import roles_service
from siyu.talent.access import ROLE_MAP_EDIT, ROLE_MAP_READ
from siyu.talent.contract import RoleEntry, RolePosition, ValueStage
from siyu.talent.roles_catalog import catalog, role_entry
from siyu.talent.views import tabs
from siyu.timeutil import local_date
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.render import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
ReadViewer = Annotated[Viewer, Depends(require_access(ROLE_MAP_READ))]
EditViewer = Annotated[Viewer, Depends(require_access(ROLE_MAP_EDIT))]
STAGE_ORDER = {stage: n for n, stage in enumerate(BrandStage)}
_FORM_TEXT = ("name_zh", "name_en", "definition_zh", "definition_en")


def _base(viewer: Viewer, request: Request) -> dict[str, Any]:
    return {
        "tabs": tabs(viewer),
        "tab": "roles",
        "zh": request_locale(request).startswith("zh"),
        "may_edit": ROLE_MAP_EDIT.allows(viewer.actor),
        "STAGE_LABELS": STAGE_LABELS,
        "value_stages": list(ValueStage),
        "positions": list(RolePosition),
        "stages": list(BrandStage),
    }


@router.get("/talent/roles", response_class=HTMLResponse)
def roles_page(
    request: Request,
    session: SessionDep,
    viewer: ReadViewer,
    stage: Annotated[str, Query(max_length=16)] = "",
    value: Annotated[str, Query(max_length=32)] = "",
    inactive: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """The map: one column per value stage, lead roles first, holder counts in the viewer's scope."""
    chosen_stage = kpi_service.parse_stage(stage, "stage") if stage else None
    chosen_value = ValueStage(value) if value in ValueStage.__members__ else None
    show_inactive = inactive and ROLE_MAP_EDIT.allows(viewer.actor)
    entries = catalog(session, include_inactive=show_inactive)
    if chosen_stage is not None:
        # A role is part of a stage's team when it is needed from that stage or an earlier one.
        entries = [e for e in entries if STAGE_ORDER[e.needed_from] <= STAGE_ORDER[chosen_stage]]
    counts = roles_service.holder_counts(session, viewer.actor, [e.code for e in entries])
    columns = [
        (
            v,
            sorted(
                (e for e in entries if v in e.value_stages), key=lambda e: e.position != RolePosition.lead
            ),
        )
        for v in ValueStage
        if chosen_value in (None, v)
    ]
    context = {
        **_base(viewer, request),
        "columns": columns,
        "entries": entries,
        "counts": counts,
        "chosen_stage": chosen_stage,
        "chosen_value": chosen_value,
        "show_inactive": show_inactive,
        "current_stage": kpi_service.stage_on(session, local_date(utcnow())),
    }
    return render(request, "talent/roles.html", context)


def _form_values(entry: RoleEntry | None) -> dict[str, Any]:
    if entry is None:
        return {
            "code": "",
            **dict.fromkeys(_FORM_TEXT, ""),
            "duties": "",
            "competencies": "",
            "kpi_metric_codes": [],
            "needed_from": BrandStage.growth.value,
            "value_stages": [],
            "position": RolePosition.supporting.value,
            "sort_order": "1000",
        }
    body = entry.to_dict()
    body["duties"] = "\n".join(entry.duties)
    body["competencies"] = "\n".join(entry.competencies)
    body["sort_order"] = str(entry.sort_order)
    return body


def _submitted(form: FormData) -> dict[str, Any]:
    """The editable fields as the service takes them (lines for lists, every checked box for multi-choices)."""
    fields: dict[str, Any] = {key: str(form.get(key, "")) for key in _FORM_TEXT}
    fields["duties"] = str(form.get("duties", "")).splitlines()
    fields["competencies"] = str(form.get("competencies", "")).splitlines()
    fields["kpi_metric_codes"] = [str(v) for v in form.getlist("kpi_metric_codes")]
    fields["value_stages"] = [str(v) for v in form.getlist("value_stages")]
    for key in ("needed_from", "position", "sort_order"):
        fields[key] = str(form.get(key, ""))
    return fields


def _edit_page(
    request: Request,
    viewer: Viewer,
    entry: RoleEntry | None,
    values: dict[str, Any],
    error: str | None,
    status: int,
) -> HTMLResponse:
    context = {
        **_base(viewer, request),
        "entry": entry,
        "values": values,
        "metric_codes": list(METRICS),
        "names": metric_names(request),
        "form_error": error,
    }
    return render(request, "talent/roles_edit.html", context, status_code=status)


def _retyped(form: FormData, fields: dict[str, Any], code: str) -> dict[str, Any]:
    """The form's values as typed, to show again above an error (list fields as their raw text)."""
    return {
        **fields,
        "code": code,
        "duties": form.get("duties", ""),
        "competencies": form.get("competencies", ""),
    }


@router.get("/talent/roles/new", response_class=HTMLResponse)
def new_page(request: Request, viewer: EditViewer) -> HTMLResponse:
    """The form for a custom role."""
    return _edit_page(request, viewer, None, _form_values(None), None, 200)


@router.post("/talent/roles/new")
async def new_submit(request: Request, session: SessionDep, viewer: EditViewer) -> Response:
    """Add the custom role (audited); errors come back above the form."""
    form = await request.form()
    fields = _submitted(form)
    code = str(form.get("code", "")).strip()
    try:
        roles_service.create_role(session, viewer.actor, code, fields)
    except SiyuError as exc:
        session.rollback()
        values = _retyped(form, fields, code)
        return _edit_page(request, viewer, None, values, gettext_for(request)(exc.message), exc.status_code)
    session.commit()
    return RedirectResponse(f"/talent/roles/{code}", status_code=303)


@router.get("/talent/roles/{code}", response_class=HTMLResponse)
def role_page(request: Request, session: SessionDep, viewer: ReadViewer, code: str) -> HTMLResponse:
    """One role: definition, duties, competencies, KPIs, today's KPI set, holders in scope, the JD draft."""
    entry = role_entry(session, code)
    today = local_date(utcnow())
    stage = kpi_service.stage_on(session, today)
    kpi_set = kpi_service.kpi_set_for(session, code, today, stage)
    zh = request_locale(request).startswith("zh")
    context = {
        **_base(viewer, request),
        "entry": entry,
        "stage": stage,
        "kpi_set": kpi_set,
        "names": metric_names(request),
        "holders": roles_service.holders(session, viewer.actor, [code])[code],
        "jd": roles_service.job_description(entry, kpi_set, "zh" if zh else "en"),
    }
    return render(request, "talent/roles_detail.html", context)


@router.get("/talent/roles/{code}/edit", response_class=HTMLResponse)
def edit_page(request: Request, session: SessionDep, viewer: EditViewer, code: str) -> HTMLResponse:
    """The edit form of a role, prefilled with the entry in force."""
    entry = role_entry(session, code)
    return _edit_page(request, viewer, entry, _form_values(entry), None, 200)


@router.post("/talent/roles/{code}/edit")
async def edit_submit(request: Request, session: SessionDep, viewer: EditViewer, code: str) -> Response:
    """Save the edit (audited); errors come back above the form with what was typed."""
    entry = role_entry(session, code)
    form = await request.form()
    fields = _submitted(form)
    try:
        roles_service.edit_role(session, viewer.actor, code, fields)
    except SiyuError as exc:
        session.rollback()
        values = _retyped(form, fields, code)
        return _edit_page(request, viewer, entry, values, gettext_for(request)(exc.message), exc.status_code)
    session.commit()
    return RedirectResponse(f"/talent/roles/{code}", status_code=303)


@router.post("/talent/roles/{code}/{action}")
def role_action(session: SessionDep, viewer: EditViewer, code: str, action: str) -> Response:
    """deactivate | reactivate | reset (audited), then back to the role page."""
    if action == "deactivate":
        roles_service.set_active(session, viewer.actor, code, False)
    elif action == "reactivate":
        roles_service.set_active(session, viewer.actor, code, True)
    elif action == "reset":
        roles_service.reset_role(session, viewer.actor, code)
    else:
        return Response(status_code=404)
    session.commit()
    return RedirectResponse(f"/talent/roles/{code}", status_code=303)
