"""The insights settings page (/insights/settings): a form over InsightSettings, versions, refresh now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.errors import Conflict, Invalid
from siyu.insights import repository as repo
from siyu.insights.refresh import default_as_of, refresh_insights
from siyu.insights.service import record_failed_run
from siyu.insights.settings import load_settings, parse_settings, save_settings
from siyu.insights.views import SETTINGS_ROLES, tabs
from siyu.timeutil import brand_zone
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, render

SETTINGS_ACCESS = access_for(SETTINGS_ROLES)
SettingsViewer = Annotated[Viewer, Depends(require_access(SETTINGS_ACCESS))]
router = APIRouter(include_in_schema=False)
PAGE = "insights/settings.html"
NOTICES = {"saved": N_("Settings saved as a new version."), "refreshed": N_("Insights refreshed.")}

# (section, title, [(field, label, kind)]); kind: int, optint, float, bool or the label table of an enum.
SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "rfm",
        N_("RFM"),
        (
            ("scheme", N_("Scheme"), "RfmScheme"),
            ("window_days", N_("Window (days)"), "int"),
            ("cut", N_("Eight-class cut against"), "RfmCut"),
            ("fixed_recency_days", N_("Fixed cut: R high when last order at most (days)"), "optint"),
            ("fixed_frequency", N_("Fixed cut: F high when orders at least"), "optint"),
            ("fixed_monetary_fen", N_("Fixed cut: M high when spend at least (fen)"), "optint"),
            ("snapshot_daily_days", N_("Keep daily snapshots for (days)"), "int"),
        ),
    ),
    (
        "model",
        N_("Lifetime value model"),
        (
            ("history_days", N_("History fed to the fit (days)"), "int"),
            ("horizon_days", N_("Expected purchases horizon (days)"), "int"),
            ("clv_horizon_days", N_("CLV horizon (days)"), "int"),
            ("annual_discount_rate", N_("Annual discount rate"), "float"),
            ("margin", N_("Margin (CLV = spend × margin)"), "float"),
            ("fit_pareto_nbd", N_("Also fit Pareto/NBD"), "bool"),
        ),
    ),
    (
        "churn",
        N_("Churn warning"),
        (
            ("p_alive_below", N_("Warn when P(alive) below"), "float"),
            ("overdue_factor", N_("Overdue after this many expected gaps"), "float"),
            ("min_purchase_days", N_("Only customers with at least this many purchase days"), "int"),
            ("recall_window_days", N_("Recall window (days)"), "int"),
        ),
    ),
    (
        "lifecycle",
        N_("Lifecycle rules"),
        (
            ("new_days", N_("New: first seen within (days)"), "int"),
            ("active_days", N_("Active: last purchase within (days)"), "int"),
            ("sleeping_days", N_("Sleeping: last purchase within (days); beyond is lost"), "int"),
            ("recalled_days", N_("Recalled: bought within (days) after sleeping or lost"), "int"),
        ),
    ),
)


def form_document(form: Any) -> dict[str, Any]:
    """The settings document a submitted form describes (values left as text for the model to check)."""
    doc: dict[str, Any] = {}
    for section, _title, fields in SECTIONS:
        values: dict[str, Any] = {}
        for name, _label, kind in fields:
            raw = form.get(f"{section}.{name}")
            if kind == "bool":
                values[name] = raw is not None
                continue
            text = str(raw or "").strip()
            if kind == "optint" and not text:
                values[name] = None
            else:
                values[name] = text
        doc[section] = values
    return doc


def _context(
    session: Session, viewer: Viewer, values: dict[str, Any], errors: dict[str, str]
) -> dict[str, Any]:
    version, _settings = load_settings(session)
    return {
        "SECTIONS": SECTIONS,
        "values": values,
        "errors": errors,
        "version": version,
        "history": repo.settings_history(session),
        "runs": repo.recent_runs(session, 10),
        "tabs": tabs(viewer),
        "tab": "settings",
    }


@router.get("/insights/settings", response_class=HTMLResponse)
def settings_page(
    request: Request,
    session: SessionDep,
    viewer: SettingsViewer,
    notice: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """The settings in force as a form, their version history and the latest refreshes."""
    _version, settings = load_settings(session)
    toasts = [("success", gettext_for(request)(NOTICES[notice]))] if notice in NOTICES else []
    context = _context(session, viewer, settings.model_dump(mode="json"), {})
    return render(request, PAGE, context, toasts=toasts)


@router.post("/insights/settings")
async def save_settings_form(request: Request, session: SessionDep, viewer: SettingsViewer) -> Response:
    """Save the form as a new settings version (audited); errors come back beside their fields."""
    form = await request.form()
    doc = form_document(form)
    note = str(form.get("note") or "").strip()[:500] or None
    try:
        settings = parse_settings(doc)
    except Invalid as exc:
        errors = {d["field"]: d["reason"] for d in exc.details or []}
        return render(request, PAGE, _context(session, viewer, doc, errors), fragment=None, status_code=422)
    save_settings(session, viewer.actor, settings, note)
    session.commit()
    return RedirectResponse("/insights/settings?notice=saved", status_code=303)


@router.post("/insights/refresh")
def refresh_now(session: SessionDep, viewer: SettingsViewer) -> Response:
    """Refresh insights in the request (fine at demo size; the worker does it daily), audited."""
    try:
        run = refresh_insights(session)
    except Exception as exc:
        # Like the CLI: the refresh's writes roll back, and a failed run records why.
        session.rollback()
        failed = record_failed_run(
            session, default_as_of(utcnow(), brand_zone()), f"{type(exc).__name__}: {exc}"
        )
        session.commit()
        raise Conflict(f"insights refresh: failed ({type(exc).__name__}); see run {failed.id}") from exc
    audit(session, viewer.actor, "insights.refresh", "insight_run", run.id, {"as_of": run.as_of.isoformat()})
    session.commit()
    return RedirectResponse("/insights/settings?notice=refreshed", status_code=303)
