"""The 人才盘点 console pages: cycle list and opening, one cycle's people, calibration, export, close/refresh."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from siyu.api.schemas import IdPath
from siyu.db.types import utcnow
from siyu.errors import Invalid, NotFound, SiyuError
from siyu.models.talent import AssessmentCycle, AssessmentOutcome, AssessmentStatus
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor
from siyu.talent import cycle_repository as repo
from siyu.talent import cycle_service as service
from siyu.talent.access import ASSESS
from siyu.talent.assessment_logic import OUTCOME_ORDER, CalibrationRow, calibrate, mean_percentile
from siyu.talent.cycle_export import MEDIA, export_cycle, label_text, score_text
from siyu.talent.views import tabs
from siyu.timeutil import local_date
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.overview_views import chart_json
from siyu.web.render import gettext_for, render, request_locale

AssessViewer = Annotated[Viewer, Depends(require_access(ASSESS))]
router = APIRouter(include_in_schema=False)
ROW_LIMIT = 5000
F = Annotated[str, Form(max_length=200)]


def last_full_quarter(day: date) -> tuple[date, date]:
    """The calendar quarter before the one containing day."""
    first_this = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last = first_this - timedelta(days=1)
    return date(last.year, 3 * ((last.month - 1) // 3) + 1, 1), last


def cycle_or_404(session: Session, cycle_id: int) -> AssessmentCycle:
    """The cycle, or NotFound."""
    cycle = repo.get_cycle(session, cycle_id)
    if cycle is None:
        raise NotFound(f"assessment cycle {cycle_id} does not exist")
    return cycle


def base_context(viewer: Viewer) -> dict[str, Any]:
    """What every cycle page shows: the talent tabs and the viewer's rights."""
    return {
        "tabs": tabs(viewer),
        "tab": "cycles",
        "is_head": viewer.actor.role in service.HEADS,
        "score_text": score_text,
        "OUTCOMES": OUTCOME_ORDER,
    }


def _list_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    form: dict[str, str],
    error: str | None,
    status: int = 200,
) -> HTMLResponse:
    cycles = repo.list_cycles(session)
    context = {
        **base_context(viewer),
        "cycles": cycles,
        "progress": repo.cycle_progress(session, viewer.actor, [c.id for c in cycles]),
        "form": form,
        "form_error": error,
    }
    return render(request, "talent/cycles.html", context, status_code=status)


def _default_form() -> dict[str, str]:
    first, last = last_full_quarter(local_date(utcnow()))
    name = f"{first.year} Q{(first.month - 1) // 3 + 1}"
    return {"name": name, "first_day": first.isoformat(), "last_day": last.isoformat(),
            "promote_min": "4.2", "keep_min": "3.4", "transfer_min": "2.6"}  # fmt: skip


@router.get("/talent/cycles", response_class=HTMLResponse)
def cycles_page(request: Request, session: SessionDep, viewer: AssessViewer) -> HTMLResponse:
    """Every cycle with progress in the viewer's scope; the lead and administrator also see the open form."""
    return _list_page(request, session, viewer, _default_form(), None)


def parse_day(value: str, where: str) -> date:
    """A YYYY-MM-DD form value, or Invalid naming the field."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


@router.post("/talent/cycles")
def open_cycle_submit(
    request: Request, session: SessionDep, viewer: AssessViewer,
    name: F = "", first_day: F = "", last_day: F = "", promote_min: F = "", keep_min: F = "", transfer_min: F = "",
) -> Response:  # fmt: skip
    """Open a cycle (administrator or lead) and go to it."""
    form = {"name": name, "first_day": first_day, "last_day": last_day,
            "promote_min": promote_min, "keep_min": keep_min, "transfer_min": transfer_min}  # fmt: skip
    try:
        thresholds = {"promote_min": promote_min, "keep_min": keep_min, "transfer_min": transfer_min}
        cycle = service.open_cycle(
            session,
            viewer.actor,
            name,
            parse_day(first_day, "first day"),
            parse_day(last_day, "last day"),
            thresholds,
        )
    except SiyuError as exc:
        session.rollback()
        return _list_page(request, session, viewer, form, gettext_for(request)(exc.message), exc.status_code)
    session.commit()
    return RedirectResponse(f"/talent/cycles/{cycle.id}", status_code=303)


def parse_filter(session: Session, actor: Actor, params: Any) -> tuple[repo.RowFilter, dict[str, str]]:
    """The cycle page's filters from query values, each checked (Invalid naming the bad one)."""
    raw = {k: str(params.get(k) or "").strip() for k in ("unit", "role", "status", "outcome")}
    unit_path = None
    if raw["unit"]:
        if not raw["unit"].isdigit() or len(raw["unit"]) > 18:
            raise Invalid(f"unit: {raw['unit']!r} is not an id")
        unit = org_repo.get_unit(session, actor, int(raw["unit"]))
        if unit is None:
            raise NotFound(f"unit {raw['unit']} does not exist")
        unit_path = unit.path
    try:
        status = AssessmentStatus(raw["status"]) if raw["status"] else None
        outcome = AssessmentOutcome(raw["outcome"]) if raw["outcome"] else None
    except ValueError:
        raise Invalid(
            f"status/outcome: {raw['status']!r} / {raw['outcome']!r} is not a known value"
        ) from None
    return repo.RowFilter(unit_path, raw["role"][:48] or None, status, outcome), raw


def cycle_context(
    session: Session, viewer: Viewer, cycle: AssessmentCycle, params: Any, locale: str
) -> dict[str, Any]:
    """The people of a cycle in the viewer's scope, with counts over the same unit/role filter."""
    f, raw = parse_filter(session, viewer.actor, params)
    rows = repo.cycle_rows(session, viewer.actor, cycle.id, f, ROW_LIMIT)
    # Progress is counted over the unit/role filter only: a status or outcome filter would make it trivial.
    counts = repo.cycle_counts(session, viewer.actor, cycle.id, repo.RowFilter(f.unit_path, f.role_code))
    units, roles = repo.cycle_facets(session, viewer.actor, cycle.id)
    return {
        **base_context(viewer),
        "cycle": cycle,
        "rows": rows,
        "truncated": len(rows) >= ROW_LIMIT,
        "counts": counts,
        "f": raw,
        "units": units,
        "roles": roles,
        "role_names": repo.role_names(session, locale),
        "STATUSES": tuple(AssessmentStatus),
    }


@router.get("/talent/cycles/{cycle_id}", response_class=HTMLResponse)
def cycle_page(request: Request, session: SessionDep, viewer: AssessViewer, cycle_id: IdPath) -> HTMLResponse:
    """One cycle: the people in scope with status, weighted score and outcome; filters and progress counts."""
    cycle = cycle_or_404(session, cycle_id)
    context = cycle_context(session, viewer, cycle, request.query_params, request_locale(request))
    return render(request, "talent/cycle.html", context, fragment="people")


@router.post("/talent/cycles/{cycle_id}/close")
def close_submit(request: Request, session: SessionDep, viewer: AssessViewer, cycle_id: IdPath) -> Response:
    """Close the cycle (administrator or lead)."""
    service.close_cycle(session, viewer.actor, cycle_id)
    session.commit()
    return RedirectResponse(f"/talent/cycles/{cycle_id}", status_code=303)


@router.post("/talent/cycles/{cycle_id}/refresh")
def refresh_submit(request: Request, session: SessionDep, viewer: AssessViewer, cycle_id: IdPath) -> Response:
    """Recompute the evidence of every draft (administrator or lead)."""
    service.refresh_evidence(session, viewer.actor, cycle_id)
    session.commit()
    return RedirectResponse(f"/talent/cycles/{cycle_id}", status_code=303)


def calibration_rows(rows: list[repo.AssessmentRow]) -> list[CalibrationRow]:
    """Calibration's view of the cycle rows: evidence percentile = mean of the stored item percentiles."""
    out = []
    for r in rows:
        a = r.assessment
        items = [i.get("percentile") for found in (a.evidence or {}).values() for i in found]
        out.append(
            CalibrationRow(
                assessment_id=a.id,
                staff_id=a.staff_id,
                staff_name=r.staff_name,
                unit_id=a.unit_id,
                team_name=r.unit_name,
                role_code=a.role_code,
                weighted_score=a.weighted_score if a.status is AssessmentStatus.submitted else None,
                outcome=a.outcome if a.status is AssessmentStatus.submitted else None,
                evidence_percentile=mean_percentile(items),
            )
        )
    return out


def calibration_charts(result: Any, rows: list[CalibrationRow], _: Any) -> dict[str, Markup]:
    """The stacked outcome bar per team and the score-vs-evidence scatter (labels in the viewer's language)."""
    teams = [d.name for d in result.teams]
    series: list[dict[str, Any]] = [
        {
            "name": label_text(_, o, "AssessmentOutcome"),
            "type": "bar",
            "stack": "total",
            "data": [d.counts[o] for d in result.teams],
        }
        for o in OUTCOME_ORDER
    ]
    series.append({"name": _("Not submitted"), "type": "bar", "stack": "total",
                   "data": [d.pending for d in result.teams]})  # fmt: skip
    bar = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 16, "bottom": 64, "top": 40},
        "xAxis": {"type": "category", "data": teams, "axisLabel": {"rotate": 30}},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": series,
    }
    points: dict[AssessmentOutcome, list[list[Any]]] = {o: [] for o in OUTCOME_ORDER}
    for r in rows:
        if r.outcome is not None and r.weighted_score is not None and r.evidence_percentile is not None:
            points[r.outcome].append([round(r.evidence_percentile * 100, 1), r.weighted_score, r.staff_name])
    scatter = {
        "tooltip": {"trigger": "item"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 16, "bottom": 40, "top": 40},
        "xAxis": {"type": "value", "min": 0, "max": 100, "name": _("Evidence percentile")},
        "yAxis": {"type": "value", "min": 1, "max": 5, "name": _("Weighted score")},
        "series": [
            {"name": label_text(_, o, "AssessmentOutcome"), "type": "scatter", "data": points[o]}
            for o in OUTCOME_ORDER
        ],
    }
    return {"distribution": chart_json(bar), "scatter": chart_json(scatter)}


@router.get("/talent/cycles/{cycle_id}/calibration", response_class=HTMLResponse)
def calibration_page(
    request: Request, session: SessionDep, viewer: AssessViewer, cycle_id: IdPath
) -> HTMLResponse:
    """Outcome distribution per team, score against evidence, and the outliers to discuss (viewer's scope)."""
    cycle = cycle_or_404(session, cycle_id)
    rows = calibration_rows(repo.cycle_rows(session, viewer.actor, cycle.id, repo.RowFilter(), ROW_LIMIT))
    result = calibrate(rows)
    _ = gettext_for(request)
    context = {
        **base_context(viewer),
        "cycle": cycle,
        "result": result,
        "rows": rows,
        "charts": calibration_charts(result, rows, _),
    }
    return render(request, "talent/cycle_calibration.html", context)


@router.get("/talent/cycles/{cycle_id}/export")
def export_page(
    request: Request,
    session: SessionDep,
    viewer: AssessViewer,
    cycle_id: IdPath,
    format: Annotated[str, Query(max_length=8)] = "csv",
) -> Response:
    """The cycle's people in the viewer's scope (current filters) as CSV or XLSX (audited)."""
    cycle = cycle_or_404(session, cycle_id)
    f, _raw = parse_filter(session, viewer.actor, request.query_params)
    _ = gettext_for(request)
    out, _count, filename = export_cycle(
        session, viewer.actor, cycle, f, format, _, repo.role_names(session, request_locale(request))
    )
    session.commit()
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    return StreamingResponse(out, media_type=MEDIA[format], headers=headers)
