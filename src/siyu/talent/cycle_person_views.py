"""The scoring form of one assessment (anchors, scores, comments, evidence beside them) and a person's history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from siyu.api.schemas import IdPath
from siyu.errors import NotFound, SiyuError
from siyu.models.talent import Assessment, AssessmentCycle, AssessmentStatus, CycleStatus
from siyu.org import repository as org_repo
from siyu.performance.contract import Unit
from siyu.talent import cycle_repository as repo
from siyu.talent import cycle_service as service
from siyu.talent.competency import dimensions_of
from siyu.talent.contract import Dimension
from siyu.talent.cycle_export import score_text
from siyu.talent.cycle_views import AssessViewer, base_context
from siyu.talent.evidence import EVIDENCE_METRICS
from siyu.web.auth import SessionDep, Viewer
from siyu.web.overview_views import chart_json
from siyu.web.render import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class EvidenceLine:
    """One evidence metric as the form shows it."""

    code: str
    name: str
    value: str
    percentile: float | None
    peers: int


def format_metric(code: str, value: float | None) -> str:
    """A metric value in its catalog unit: yuan for money, a percentage for ratios, — when undefined."""
    metric = EVIDENCE_METRICS.get(code)
    if value is None:
        return "—"
    if metric is None:
        return f"{value:,.2f}"
    if metric.unit in (Unit.fen, Unit.fen_per_staff):
        return f"¥{value / 100:,.2f}"
    if metric.unit is Unit.ratio:
        return f"{value * 100:.1f}%"
    if metric.unit is Unit.seconds:
        return f"{value:,.0f} s"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def evidence_lines(
    evidence: dict[str, Any] | None, dims: tuple[Dimension, ...], locale: str
) -> dict[str, list[EvidenceLine]]:
    """{dimension: lines} from the evidence stored on the assessment."""
    out: dict[str, list[EvidenceLine]] = {}
    for d in dims:
        lines = []
        for item in (evidence or {}).get(d.code, []):
            code = str(item.get("metric_code"))
            metric = EVIDENCE_METRICS.get(code)
            name = (metric.name_zh if locale == "zh" else metric.name_en) if metric else code
            lines.append(EvidenceLine(code, name, format_metric(code, item.get("value")),
                                      item.get("percentile"), int(item.get("peers") or 0)))  # fmt: skip
        out[d.code] = lines
    return out


def assessment_context(
    session: Session, viewer: Viewer, assessment: Assessment, locale: str, error: str | None = None,
    entered: dict[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Everything the scoring form shows: dimensions with anchors, saved (or just entered) scores, evidence."""
    actor = viewer.actor
    cycle = session.get(AssessmentCycle, assessment.cycle_id)
    assert cycle is not None
    dims = service.dimensions_for(session, assessment)
    saved = repo.scores_of(session, [assessment.id])[assessment.id]
    values = {d.code: (str(saved[d.code].score) if d.code in saved else "",
                       saved[d.code].comment or "" if d.code in saved else "") for d in dims}  # fmt: skip
    values.update(entered or {})
    staff = repo.staff_brief(session, assessment.staff_id)
    unit = repo.unit_paths(session, [assessment.unit_id]).get(assessment.unit_id)
    refusal = service.may_score(actor, assessment)
    is_open = cycle.status is CycleStatus.open
    explanation = assessment.explanation or {}
    return {
        **base_context(viewer),
        "a": assessment,
        "cycle": cycle,
        "dims": dims,
        "values": values,
        "evidence": evidence_lines(assessment.evidence, dims, locale),
        "evidence_pending": assessment.evidence is None,
        "staff": staff,
        "unit_name": unit[0] if unit else "",
        "role_name": repo.role_names(session, locale).get(assessment.role_code, assessment.role_code),
        "can_edit": is_open and assessment.status is AssessmentStatus.draft and refusal is None,
        "refusal": refusal,
        "can_reopen": is_open
        and assessment.status is AssessmentStatus.submitted
        and actor.role in service.HEADS,
        "explanation": explanation.get("zh" if locale == "zh" else "en"),
        "form_error": error,
    }


@router.get("/talent/assessments/{assessment_id}", response_class=HTMLResponse)
def assessment_page(
    request: Request, session: SessionDep, viewer: AssessViewer, assessment_id: IdPath
) -> HTMLResponse:
    """The scoring form (or, once submitted, the scores, outcome and explanation) beside the evidence."""
    assessment = service.get_assessment(session, viewer.actor, assessment_id)
    context = assessment_context(session, viewer, assessment, request_locale(request))
    return render(request, "talent/assessment.html", context)


@router.post("/talent/assessments/{assessment_id}")
async def assessment_submit(
    request: Request, session: SessionDep, viewer: AssessViewer, assessment_id: IdPath
) -> Response:
    """Save the scores as a draft, or save and submit (action=submit); errors re-show the form with the input."""
    form = await request.form()
    assessment = service.get_assessment(session, viewer.actor, assessment_id)
    dims = service.dimensions_for(session, assessment)
    entered = {d.code: (str(form.get(f"score_{d.code}") or ""), str(form.get(f"comment_{d.code}") or ""))
               for d in dims}  # fmt: skip
    try:
        service.save_scores(session, viewer.actor, assessment_id, entered)
        if form.get("action") == "submit":
            service.submit(session, viewer.actor, assessment_id)
    except SiyuError as exc:
        session.rollback()
        fresh = service.get_assessment(session, viewer.actor, assessment_id)
        message = gettext_for(request)(exc.message)
        context = assessment_context(session, viewer, fresh, request_locale(request), message, entered)
        return render(request, "talent/assessment.html", context, status_code=exc.status_code)
    session.commit()
    return RedirectResponse(f"/talent/assessments/{assessment_id}", status_code=303)


@router.post("/talent/assessments/{assessment_id}/reopen")
def reopen_submit(
    request: Request, session: SessionDep, viewer: AssessViewer, assessment_id: IdPath
) -> Response:
    """Send a submitted assessment back to draft (administrator or lead)."""
    service.reopen(session, viewer.actor, assessment_id)
    session.commit()
    return RedirectResponse(f"/talent/assessments/{assessment_id}", status_code=303)


def history_chart(rows: list[tuple[Assessment, AssessmentCycle]], _: Any) -> Markup:
    """Weighted score per cycle (submitted ones), oldest first."""
    done = [
        (a, c) for a, c in rows if a.status is AssessmentStatus.submitted and a.weighted_score is not None
    ]
    return chart_json(
        {
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 48, "right": 16, "bottom": 32, "top": 24},
            "xAxis": {"type": "category", "data": [c.name for _a, c in done]},
            "yAxis": {"type": "value", "min": 1, "max": 5},
            "series": [
                {"name": _("Weighted score"), "type": "line", "data": [a.weighted_score for a, _c in done]}
            ],
        }
    )


@router.get("/talent/staff/{staff_id}", response_class=HTMLResponse)
def person_page(
    request: Request, session: SessionDep, viewer: AssessViewer, staff_id: IdPath
) -> HTMLResponse:
    """A person's assessments across cycles: score, outcome, per-dimension scores and the trend."""
    rows = repo.history(session, viewer.actor, staff_id)
    if not rows and org_repo.get_staff(session, viewer.actor, staff_id) is None:
        raise NotFound(f"staff member {staff_id} does not exist")
    staff = repo.staff_brief(session, staff_id)
    assert staff is not None
    locale = request_locale(request)
    scores = repo.scores_of(session, [a.id for a, _c in rows])
    models = repo.models_by_id(session, [a.competency_model_id for a, _c in rows])
    # Columns: every dimension any of the person's models has, in first-seen order, named from the model.
    dim_names: dict[str, str] = {}
    for a, _c in rows:
        for d in dimensions_of(models[a.competency_model_id]):
            dim_names.setdefault(d.code, d.name_zh if locale == "zh" else d.name_en)
    units = repo.unit_paths(session, [a.unit_id for a, _c in rows])
    context = {
        **base_context(viewer),
        "staff": staff,
        "staff_id": staff_id,
        "rows": rows,
        "scores": scores,
        "dim_names": dim_names,
        "units": {k: v[0] for k, v in units.items()},
        "role_names": repo.role_names(session, locale),
        "chart": history_chart(rows, gettext_for(request)),
        "score_text": score_text,
    }
    return render(request, "talent/person.html", context)
