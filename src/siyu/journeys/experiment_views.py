"""The experiments console: list, create form, report with intervals, progress, verdict and an error-bar chart."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy import func, select

from siyu.errors import Forbidden, Invalid
from siyu.journeys import experiment_service as service
from siyu.journeys.experiment_report import experiment_report
from siyu.journeys.experiment_schemas import ArmIn, ExperimentCreate, ExperimentReport
from siyu.models import ExperimentMetric, Script, ScriptApproval
from siyu.org.permissions import PermissionRole
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import register_nav, render

EXPERIMENT_ROLES = (
    PermissionRole.admin,
    PermissionRole.private_domain_lead,
    PermissionRole.manager,
    PermissionRole.operator,
    PermissionRole.analyst,
)
EXPERIMENT_ACCESS = access_for(EXPERIMENT_ROLES)
ExperimentViewer = Annotated[Viewer, Depends(require_access(EXPERIMENT_ACCESS))]
MAX_ARMS = 4
FORM = "journeys/journeys/experiment_form.html"

router = APIRouter(include_in_schema=False)
register_nav("experiments", N_("Experiments"), "/experiments", order=46, access=EXPERIMENT_ACCESS)

METRIC_LABELS = {
    ExperimentMetric.reply: N_("Reply rate"),
    ExperimentMetric.order: N_("Order rate"),
    ExperimentMetric.gmv: N_("GMV per recipient (tested on order rate)"),
}
VERDICT_LABELS = {
    "collecting": N_("Collecting — no conclusion yet"),
    "significant": N_("Significant difference"),
    "not_significant": N_("No significant difference"),
}
STATUS_LABELS = {"draft": N_("Draft"), "running": N_("Running"), "stopped": N_("Stopped")}


def _chart_json(option: dict[str, Any]) -> Markup:
    # JSON safe inside <script type="application/json">: no "</script>" can appear.
    text = json.dumps(option, ensure_ascii=False)
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def _rate_chart(report: ExperimentReport) -> Markup:
    """Bars of each arm's rate (percent) with Wilson error bars drawn as whisker-only boxplots."""
    labels = [f"{a.label}" for a in report.arms]
    rates = [round(a.rate.value * 100, 2) if a.rate.value is not None else None for a in report.arms]
    whiskers = [
        [round(v * 100, 2) for v in (a.rate.low, a.rate.value, a.rate.value, a.rate.value, a.rate.high)]
        if a.rate.value is not None and a.rate.low is not None and a.rate.high is not None
        else []
        for a in report.arms
    ]
    option: dict[str, Any] = {
        "tooltip": {"trigger": "item"},
        "grid": {"left": 48, "right": 16, "bottom": 32, "top": 24},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": "%", "min": 0},
        "series": [
            {"name": "rate", "type": "bar", "data": rates, "barWidth": "40%"},
            {
                "name": "CI",
                "type": "boxplot",
                "data": whiskers,
                "boxWidth": [4, 12],
                "itemStyle": {"color": "transparent", "borderColor": "#333"},
            },
        ],
    }
    return _chart_json(option)


@router.get("/experiments", response_class=HTMLResponse)
def experiment_list(request: Request, session: SessionDep, viewer: ExperimentViewer) -> HTMLResponse:
    """Every experiment: status, metric, arms, assigned customers, planned sample per arm."""
    context = {
        "experiments": service.list_experiments(session, viewer.actor),
        "may_write": viewer.actor.may_write,
        "METRIC_LABELS": METRIC_LABELS,
        "STATUS_LABELS": STATUS_LABELS,
    }
    return render(request, "journeys/journeys/experiment_list.html", context)


def _form_context(session: Any, values: dict[str, Any], error: str | None) -> dict[str, Any]:
    scripts = session.execute(
        select(Script.id, Script.title, Script.variant_label, Script.parent_id)
        .where(Script.approval == ScriptApproval.approved)
        .order_by(
            Script.category, func.coalesce(Script.parent_id, Script.id), Script.id
        )  # variants after parent
    ).all()
    return {
        "scripts": scripts,
        "values": values,
        "error": error,
        "metrics": list(ExperimentMetric),
        "METRIC_LABELS": METRIC_LABELS,
        "max_arms": MAX_ARMS,
    }


DEFAULTS = {
    "name": "",
    "source_type": "journey_step",
    "source_ref": "",
    "metric": "reply",
    "horizon_hours": "72",
    "alpha": "0.05",
    "power": "0.8",
    "baseline_rate": "0.2",
    "mde": "0.05",
}


@router.get("/experiments/new", response_class=HTMLResponse)
def new_experiment(request: Request, session: SessionDep, viewer: ExperimentViewer) -> HTMLResponse:
    """The create form: arms are approved scripts (variants of one script are listed together)."""
    if not viewer.actor.may_write:
        raise Forbidden(N_("Your role may not create experiments."))
    return render(request, FORM, _form_context(session, dict(DEFAULTS), None))


@router.post("/experiments", response_model=None)
async def create(request: Request, session: SessionDep, viewer: ExperimentViewer) -> Response:
    """Create a draft experiment from the form; errors re-render the form with the message."""
    if not viewer.actor.may_write:
        raise Forbidden(N_("Your role may not create experiments."))
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in DEFAULTS}
    arms = []
    for i in range(MAX_ARMS):
        script = str(form.get(f"arm{i}_script") or "")
        if script.isdigit():
            weight = str(form.get(f"arm{i}_weight") or "1")
            label = str(form.get(f"arm{i}_label") or chr(65 + i)).strip()
            arms.append(
                ArmIn(label=label, script_id=int(script), weight=int(weight) if weight.isdigit() else 1)
            )
    try:
        data = ExperimentCreate(
            name=values["name"],
            source_type=values["source_type"],
            source_ref=values["source_ref"] or None,
            metric=ExperimentMetric(values["metric"]),
            horizon_hours=int(values["horizon_hours"] or 0),
            alpha=float(values["alpha"] or 0),
            power=float(values["power"] or 0),
            baseline_rate=float(values["baseline_rate"] or 0),
            mde=float(values["mde"] or 0),
            arms=arms,
        )
        experiment = service.create_experiment(session, viewer.actor, data)
    except (ValidationError, ValueError, Invalid) as exc:
        message = exc.message if isinstance(exc, Invalid) else str(exc)
        return render(request, FORM, _form_context(session, values, message), status_code=422)
    session.commit()
    return RedirectResponse(f"/experiments/{experiment.id}", status_code=303)


@router.get("/experiments/{experiment_id}", response_class=HTMLResponse)
def report_page(
    request: Request, session: SessionDep, viewer: ExperimentViewer, experiment_id: int
) -> HTMLResponse:
    """The report: per arm recipients, mature, successes, rates with intervals, progress, the verdict."""
    report = experiment_report(session, viewer.actor, experiment_id)
    context = {
        "r": report,
        "chart": _rate_chart(report),
        "may_write": viewer.actor.may_write,
        "METRIC_LABELS": METRIC_LABELS,
        "VERDICT_LABELS": VERDICT_LABELS,
        "STATUS_LABELS": STATUS_LABELS,
    }
    return render(request, "journeys/journeys/experiment_report.html", context)


@router.post("/experiments/{experiment_id}/{action}", response_model=None)
def change_status(
    request: Request, session: SessionDep, viewer: ExperimentViewer, experiment_id: int, action: str
) -> Response:
    """Start or stop an experiment (audited) and go back to its report."""
    if not viewer.actor.may_write:
        raise Forbidden(N_("Your role may not change experiments."))
    if action == "start":
        service.start_experiment(session, viewer.actor, experiment_id)
    elif action == "stop":
        service.stop_experiment(session, viewer.actor, experiment_id)
    else:
        raise Invalid(f"action: {action!r} is not start or stop (experiment {experiment_id})")
    session.commit()
    return RedirectResponse(f"/experiments/{experiment_id}", status_code=303)
