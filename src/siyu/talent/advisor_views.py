"""The org advisor pages: /talent/advisor (questionnaire), its result per run, and the run history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from siyu.api.schemas import IdPath
from siyu.errors import Forbidden, Invalid
from siyu.models import BrandStage
from siyu.models.talent import AdvisorRun
from siyu.performance.catalog import METRICS
from siyu.talent.access import ADVISOR
from siyu.talent.advisor import ROLE_CODES, AdvisorAnswers
from siyu.talent.advisor_service import DataFacts, data_facts, get_run, latest_run, may_run, run_advisor, runs
from siyu.talent.contract import DomainPurpose, SalesModel
from siyu.talent.roles_catalog import catalog
from siyu.talent.views import tabs
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import render, request_locale

router = APIRouter(include_in_schema=False)
AdvisorViewer = Annotated[Viewer, Depends(require_access(ADVISOR))]
FORM_PAGE = "talent/advisor.html"

# (field, question msgid, kind): kind is a label family (select), "int", "share" or "bool".
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("sales_model", N_("How does the business mainly sell?"), "SalesModel"),
    ("purpose", N_("What is the private domain for?"), "DomainPurpose"),
    ("stage", N_("Programme stage"), "BrandStage"),
    ("store_count", N_("Own stores"), "int"),
    ("guide_count", N_("Guides"), "int"),
    ("member_share", N_("Share of customers who are members (0–1, e.g. 0.95)"), "share"),
    ("private_revenue_share", N_("Share of revenue already coming from the private domain (0–1)"), "share"),
    ("traffic_source", N_("Where private-domain users mainly come from"), "AcquisitionSource"),
    ("expertise", N_("Who in-house knows private domain?"), "Expertise"),
    ("strategic", N_("Private domain is a strategic priority"), "bool"),
    ("pilot", N_("We want to test the water first with a small project group"), "bool"),
    ("has_mall", N_("We run a mini-program mall"), "bool"),
    ("gmv_and_brand_at_once", N_("We expect GMV growth and brand voice at the same time"), "bool"),
    ("aligned", N_("Management shares one understanding of what the private domain is for"), "bool"),
    (
        "org_meets_needs",
        N_("The current org copes with the breadth and precision private domain needs"),
        "bool",
    ),
)
BOOLS = tuple(name for name, _label, kind in QUESTIONS if kind == "bool")
# Output fields in display order: (field, heading msgid).
FIELD_HEADINGS = (
    ("structure", N_("Structure")),
    ("build_mode", N_("Build mode")),
    ("starting_team", N_("Starting team")),
    ("next_roles", N_("Roles for the next stage")),
    ("kpi_emphasis", N_("KPI emphasis")),
    ("traps", N_("Traps to avoid")),
)
DEFAULTS = AdvisorAnswers(sales_model=SalesModel.own_stores, purpose=DomainPurpose.sales_channel).to_dict()


def form_answers(form: Any) -> dict[str, Any]:
    """The raw answers a submitted form describes (text left for parse_answers to check)."""
    raw: dict[str, Any] = {}
    for name, _label, kind in QUESTIONS:
        if kind == "bool":
            raw[name] = form.get(name) is not None
            continue
        raw[name] = str(form.get(name) or "").strip()
    raw["current_team"] = {code: str(form.get(f"team.{code}") or "").strip() or "0" for code in ROLE_CODES}
    return raw


def role_names(session: Session, zh: bool) -> dict[str, str]:
    """Display name per role code from the role catalog in force."""
    return {e.code: (e.name_zh if zh else e.name_en) for e in catalog(session, include_inactive=True)}


def _form_context(
    session: Session,
    viewer: Viewer,
    zh: bool,
    values: dict[str, Any],
    errors: dict[str, str],
    facts: DataFacts,
    source: str,
) -> dict[str, Any]:
    return {
        "tabs": tabs(viewer),
        "tab": "advisor",
        "QUESTIONS": QUESTIONS,
        "ROLE_CODES": ROLE_CODES,
        "roles": role_names(session, zh),
        "values": values,
        "errors": errors,
        "facts": facts,
        "source": source,
        "may_run": may_run(viewer.actor),
        "recent": runs(session, 5),
    }


@router.get("/talent/advisor", response_class=HTMLResponse)
def advisor_form(request: Request, session: SessionDep, viewer: AdvisorViewer) -> HTMLResponse:
    """The questionnaire, prefilled from the latest run or else from Siyu's own data."""
    facts = data_facts(session, viewer.actor)
    latest = latest_run(session)
    if latest is not None:
        values, source = {**DEFAULTS, **latest.answers}, f"run:{latest.id}"
    else:
        values, source = {**DEFAULTS, **facts.answers()}, "data"
    zh = request_locale(request).startswith("zh")
    return render(request, FORM_PAGE, _form_context(session, viewer, zh, values, {}, facts, source))


@router.post("/talent/advisor")
async def advisor_submit(request: Request, session: SessionDep, viewer: AdvisorViewer) -> Response:
    """Run the advisor on the form (admin and lead; audited) and show the result; errors beside their fields."""
    form = await request.form()
    raw = form_answers(form)
    note = str(form.get("note") or "")
    if not may_run(viewer.actor):
        raise Forbidden(N_("Only an administrator or the private-domain lead may run the org advisor."))
    try:
        run = run_advisor(session, viewer.actor, raw, note)
    except Invalid as exc:
        errors = {d["field"]: f"{d['value']}: {d['reason']}" for d in exc.details or []}
        zh = request_locale(request).startswith("zh")
        facts = data_facts(session, viewer.actor)
        context = _form_context(session, viewer, zh, raw, errors, facts, "form")
        return render(request, FORM_PAGE, context, fragment=None, status_code=422)
    session.commit()
    return RedirectResponse(f"/talent/advisor/runs/{run.id}", status_code=303)


@router.get("/talent/advisor/runs", response_class=HTMLResponse)
def advisor_runs(request: Request, session: SessionDep, viewer: AdvisorViewer) -> HTMLResponse:
    """Every stored run, newest first."""
    context = {"tabs": tabs(viewer), "tab": "advisor", "runs": runs(session, 200)}
    return render(request, "talent/advisor_runs.html", context)


def result_context(session: Session, run: AdvisorRun, zh: bool, team_now: dict[str, int]) -> dict[str, Any]:
    """What the result page shows of a run: advice, team rows against the current team, reasons by field."""
    result = run.result
    advice_roles = {s["role_code"]: int(s["headcount"]) for s in result["starting_team"]}
    team_rows = [
        (code, advice_roles.get(code, 0), team_now.get(code, 0))
        for code in ROLE_CODES
        if code in advice_roles or team_now.get(code)
    ]
    reasons = result["reasons"]
    groups = []
    for name, heading in FIELD_HEADINGS:
        own = [r for r in reasons if r["code"].startswith(f"{name}.")]
        if name == "traps":
            own = result["traps"] + [r for r in reasons if r["code"].startswith("traps.")]
        groups.append((name, heading, own))
    metric_names = {code: (m.name_zh if zh else m.name_en) for code, m in METRICS.items()}
    return {
        "run": run,
        "result": result,
        "answers": run.answers,
        "team_rows": team_rows,
        "groups": groups,
        "roles": role_names(session, zh),
        "metric_names": metric_names,
        "zh": zh,
        "stage": BrandStage(run.answers.get("stage", "launch")),
    }


@router.get("/talent/advisor/runs/{run_id}", response_class=HTMLResponse)
def advisor_run(request: Request, run_id: IdPath, session: SessionDep, viewer: AdvisorViewer) -> HTMLResponse:
    """One run's result: structure, build mode, team vs the current team, next roles, KPIs, traps, reasons."""
    run, username = get_run(session, run_id)
    zh = request_locale(request).startswith("zh")
    facts = data_facts(session, viewer.actor)
    context = {
        "tabs": tabs(viewer),
        "tab": "advisor",
        "created_by": username,
        **result_context(session, run, zh, facts.team),
    }
    return render(request, "talent/advisor_result.html", context)
