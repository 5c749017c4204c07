"""Console pages 阶段 (brand stage with history) and KPI 指标 (sets by role × stage: view, edit as a new version)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from siyu.db.types import utcnow
from siyu.errors import Invalid, SiyuError
from siyu.models import BrandStage
from siyu.performance import kpi_service
from siyu.performance.catalog import METRICS
from siyu.performance.kpi_seed import ROI_NOTE
from siyu.timeutil import local_date
from siyu.web.auth import SessionDep, ViewerDep
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, register_nav, render, request_locale

router = APIRouter(include_in_schema=False)
register_nav("stage", N_("Programme stage"), "/performance/stage", order=46)
register_nav("kpi_sets", N_("KPI sets"), "/performance/kpi-sets", order=47)

STAGE_LABELS = {
    BrandStage.launch: N_("Launch (启动期)"),
    BrandStage.growth: N_("Growth (中期)"),
    BrandStage.steady: N_("Steady (稳定期)"),
}
# Staff role codes of the talent map (siyu.demo.org) → display names.
ROLE_NAMES = {
    "private_domain_lead": N_("Head of private domain"),
    "region_manager": N_("Region manager"),
    "store_manager": N_("Store manager"),
    "guide": N_("Shopping guide"),
    "user_ops": N_("User operations"),
    "member_ops": N_("Member operations"),
    "content_ops": N_("Content operations"),
    "copywriter": N_("Copywriter"),
    "designer": N_("Designer"),
    "campaign_planner": N_("Campaign planner"),
    "data_analyst": N_("Data analyst"),
    "product_ops": N_("Product operations"),
    "ad_buyer": N_("Ad buyer"),
}
EMPTY_ROWS = 3  # blank item rows offered under a set's current items


def metric_names(request: Request) -> dict[str, str]:
    """Catalog code → name in the viewer's language."""
    zh = request_locale(request).startswith("zh")
    return {code: (m.name_zh if zh else m.name_en) for code, m in METRICS.items()}


def parse_date(value: str, where: str) -> date:
    """A YYYY-MM-DD form value, Invalid naming the field otherwise."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _stage_context(request: Request, session: SessionDep, viewer: ViewerDep) -> dict[str, object]:
    today = local_date(utcnow())
    return {
        "today": today,
        "current": kpi_service.stage_on(session, today),
        "history": kpi_service.stage_history(session),
        "stages": list(BrandStage),
        "STAGE_LABELS": STAGE_LABELS,
        "may_set": viewer.actor.role in kpi_service.SETTING_ROLES,
        "form_error": None,
    }


@router.get("/performance/stage", response_class=HTMLResponse)
def stage_page(request: Request, session: SessionDep, viewer: ViewerDep) -> HTMLResponse:
    """The stage in force today, its history, and (for admin / head) the change form."""
    return render(request, "performance/kpi_stage.html", _stage_context(request, session, viewer))


@router.post("/performance/stage")
def stage_submit(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    stage: Annotated[str, Form(max_length=16)] = "",
    effective_from: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Record a stage change (audited); errors come back above the form."""
    try:
        day = parse_date(effective_from, "effective from")
        kpi_service.set_stage(session, viewer.actor, stage, day, note.strip() or None)
    except SiyuError as exc:
        session.rollback()
        context = _stage_context(request, session, viewer)
        context["form_error"] = gettext_for(request)(exc.message)
        return render(request, "performance/kpi_stage.html", context, status_code=exc.status_code)
    session.commit()
    return RedirectResponse("/performance/stage", status_code=303)


@router.get("/performance/kpi-sets", response_class=HTMLResponse)
def kpi_sets_page(
    request: Request, session: SessionDep, viewer: ViewerDep, day: Annotated[str, Query(max_length=10)] = ""
) -> HTMLResponse:
    """Role × stage grid of the versions in force on a day (default today)."""
    chosen = parse_date(day, "day") if day else local_date(utcnow())
    grid = {stage: kpi_service.sets_in_force(session, chosen, stage) for stage in BrandStage}
    context = {
        "day": chosen,
        "current": kpi_service.stage_on(session, chosen),
        "roles": kpi_service.known_roles(session),
        "stages": list(BrandStage),
        "grid": grid,
        "STAGE_LABELS": STAGE_LABELS,
        "names": metric_names(request),
        "may_edit": viewer.actor.role in kpi_service.SETTING_ROLES,
        "ROLE_NAMES": ROLE_NAMES,
    }
    return render(request, "performance/kpi_sets.html", context)


def _edit_context(
    request: Request, session: SessionDep, role: str, stage: BrandStage, rows: list[tuple[str, str, str]]
) -> dict[str, object]:
    return {
        "role": role,
        "role_name": ROLE_NAMES.get(role),
        "stage": stage,
        "STAGE_LABELS": STAGE_LABELS,
        "versions": kpi_service.versions(session, role, stage.value),
        "rows": rows + [("", "", "")] * EMPTY_ROWS,
        "codes": list(METRICS),
        "names": metric_names(request),
        "today": local_date(utcnow()),
        "roi_note": ROI_NOTE,
        "form_error": None,
        "note": "",
    }


@router.get("/performance/kpi-sets/edit", response_class=HTMLResponse)
def kpi_set_edit_page(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    role: Annotated[str, Query(min_length=1, max_length=48)],
    stage: Annotated[str, Query(max_length=16)],
) -> HTMLResponse:
    """The form for a new version of one role × stage set (prefilled with the latest), and its history."""
    kpi_service.require_setter(viewer.actor, f"KPI set {role}/{stage}")
    chosen = kpi_service.parse_stage(stage)
    found = kpi_service.versions(session, role, chosen.value)
    rows = [(i.metric_code, str(i.weight), i.note or "") for i in found[0].items] if found else []
    return render(
        request, "performance/kpi_set_edit.html", _edit_context(request, session, role, chosen, rows)
    )


@router.post("/performance/kpi-sets/edit")
async def kpi_set_edit_submit(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """Save the form as a new version; items are metric_N / weight_N / note_N rows, blank rows ignored."""
    form = await request.form()
    role = str(form.get("role", "")).strip()
    stage_text = str(form.get("stage", ""))
    rows: list[tuple[str, str, str]] = []
    for n in range(40):
        code, weight, note = (str(form.get(f"{f}_{n}", "")).strip() for f in ("metric", "weight", "note"))
        if code or weight:
            rows.append((code, weight, note))
    try:
        stage = kpi_service.parse_stage(stage_text)
        items = []
        for n, (code, weight, note) in enumerate(rows, start=1):
            if not weight.isdigit():
                raise Invalid(f"KPI set item {n} ({code or '?'}): weight {weight!r} is not a whole number")
            items.append(kpi_service.ItemIn(code, int(weight), note or None))
        day = parse_date(str(form.get("effective_from", "")), "effective from")
        kpi_service.save_kpi_set(
            session, viewer.actor, role, stage.value, day, items, str(form.get("note", "")).strip()
        )
    except SiyuError as exc:
        session.rollback()
        chosen = BrandStage(stage_text) if stage_text in BrandStage.__members__ else BrandStage.launch
        context = _edit_context(request, session, role, chosen, rows)
        context["form_error"] = gettext_for(request)(exc.message)
        context["note"] = str(form.get("note", ""))
        return render(request, "performance/kpi_set_edit.html", context, status_code=exc.status_code)
    session.commit()
    return RedirectResponse("/performance/kpi-sets?" + urlencode({"day": day.isoformat()}), status_code=303)
