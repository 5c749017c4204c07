"""The 用户洞察 console pages: overview (RFM, movement, lifecycle), model and churn warnings."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.customers import repository as customer_repo
from siyu.customers.export import csv_cell
from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.insights import repository as repo
from siyu.insights.calibration import calibration_rows
from siyu.insights.contract import BgNbdParams
from siyu.insights.rfm import SEGMENT_INFO
from siyu.insights.schemas import WarningOut
from siyu.models import Staff
from siyu.models.insights import InsightRun
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, PermissionRole
from siyu.privacy import mask_phone
from siyu.timeutil import brand_zone, local_date
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.labels import label_msgid
from siyu.web.overview_views import chart_json
from siyu.web.render import gettext_for, register_nav, render

INSIGHT_ACCESS = access_for(tuple(PermissionRole))
SETTINGS_ROLES = repo.SETTINGS_ROLES
InsightViewer = Annotated[Viewer, Depends(require_access(INSIGHT_ACCESS))]
router = APIRouter(include_in_schema=False)
register_nav("insights", N_("Customer insights"), "/insights", order=25, access=INSIGHT_ACCESS)

TREND_DAYS = 90
WARNING_PAGE = 50
CSV_MAX = 50_000
MODEL_META = ("loglik", "n", "unique_rows", "converged", "iterations", "seconds", "message")
MODEL_TITLES = {
    "bgnbd": N_("BG/NBD (purchase counts)"),
    "pareto_nbd": N_("Pareto/NBD (purchase counts)"),
    "gamma_gamma": N_("Gamma-Gamma (spend per purchase)"),
}


def parse_day(value: str | None, where: str) -> date | None:
    """A YYYY-MM-DD query value, or Invalid naming the parameter."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def parse_id(value: str | None, where: str) -> int | None:
    """A numeric id query value, or Invalid naming the parameter."""
    if not value:
        return None
    if not value.strip().isdigit() or len(value.strip()) > 18:
        raise Invalid(f"{where}: {value!r} is not an id")
    return int(value)


def tabs(viewer: Viewer) -> list[tuple[str, str, str]]:
    """The insights sub-pages this viewer may open: (key, label msgid, path)."""
    items = [
        ("overview", N_("Overview"), "/insights"),
        ("model", N_("Lifetime value model"), "/insights/model"),
        ("warnings", N_("Churn warnings"), "/insights/warnings"),
    ]
    if viewer.actor.role in SETTINGS_ROLES:
        items.append(("settings", N_("Settings"), "/insights/settings"))
    return items


def _label(_: Any, code: str | None, kind: str) -> str:
    msgid = label_msgid(code, kind)
    return _(msgid) if msgid else (code or "—")


def _chart(labels: list[str], series: dict[str, list[Any]], kind: str = "line") -> Markup:
    return chart_json(
        {
            "tooltip": {"trigger": "axis"},
            "legend": {"type": "scroll", "top": 0},
            "grid": {"left": 56, "right": 16, "bottom": 32, "top": 48},
            "xAxis": {"type": "category", "data": labels},
            "yAxis": {"type": "value"},
            "series": [{"name": name, "type": kind, "data": data} for name, data in series.items()],
        }
    )


def _movement_days(
    days: list[date], first: str | None, second: str | None
) -> tuple[date | None, date | None]:
    """The two computed days of the movement matrix: as asked (must exist), else the two newest."""
    chosen_from, chosen_to = parse_day(first, "from"), parse_day(second, "to")
    for day, where in ((chosen_from, "from"), (chosen_to, "to")):
        if day is not None and day not in days:
            raise Invalid(f"{where}: no RFM snapshot was computed on {day.isoformat()}")
    default_to = days[0] if days else None
    default_from = days[1] if len(days) > 1 else default_to
    return chosen_from or default_from, chosen_to or default_to


def overview_context(
    session: Session, actor: Actor, _: Any, first: str | None, second: str | None
) -> dict[str, Any]:
    """Everything the overview shows, for the actor's scope."""
    run = repo.latest_run(session)
    rfm = repo.rfm_table(session, actor, run)
    scheme = rfm.definition.scheme if rfm.definition else None
    sizes = repo.size_series(session, actor, scheme)
    days = repo.snapshot_days(session)
    from_day, to_day = _movement_days(days, first, second)
    moves = repo.movement(session, actor, from_day, to_day) if from_day and to_day else None
    matrix: dict[tuple[str | None, str | None], int] = {}
    if moves:
        matrix = {(c.from_segment, c.to_segment): c.customers for c in moves.cells}
    last = run.as_of if run else local_date(utcnow(), brand_zone())
    trend_days, trend = repo.lifecycle_trend(session, actor, last - timedelta(days=TREND_DAYS - 1), last)
    stages = repo.lifecycle_counts(session, actor)
    charts = {
        "segments": _chart(
            [_label(_, s.segment, "RfmSegment") for s in rfm.segments],
            {_("Customers"): [s.customers for s in rfm.segments]},
            "bar",
        ),
        "sizes": _chart(
            [d.isoformat() for d in sizes.days],
            {_label(_, code, "RfmSegment"): values for code, values in sizes.series.items()},
        ),
        "lifecycle": _chart(
            [d.isoformat() for d in trend_days],
            {_label(_, stage, "LifecycleStage"): values for stage, values in trend.items()},
            "bar",
        ),
    }
    return {
        "run": run,
        "runs": repo.recent_runs(session, 5),
        "rfm": rfm,
        "sizes": sizes,
        "snapshot_days": days,
        "moves": moves,
        "matrix": matrix,
        "stages": stages,
        "stage_total": sum(stages.values()),
        "trend_days": trend_days,
        "trend": trend,
        "trend_first": last - timedelta(days=TREND_DAYS - 1),
        "trend_last": last,
        "charts": charts,
        "cut_lines": cut_lines(rfm.definition, _),
        "SEGMENT_INFO": SEGMENT_INFO,
    }


@router.get("/insights", response_class=HTMLResponse)
def insights_page(
    request: Request,
    session: SessionDep,
    viewer: InsightViewer,
    first: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    second: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> HTMLResponse:
    """RFM segments, sizes over time, movement between two days and lifecycle stages, for the viewer's scope."""
    context = overview_context(session, viewer.actor, gettext_for(request), first, second)
    context.update(tabs=tabs(viewer), tab="overview")
    return render(request, "insights/overview.html", context, fragment="movement")


def _model_params(run: InsightRun | None) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(model key, parameters, fit facts) of each model the run fitted or tried (an error is a fact)."""
    out = []
    models = (run.models or {}) if run else {}
    for key in MODEL_TITLES:
        fitted = models.get(key)
        if not isinstance(fitted, dict):
            continue
        params = {k: v for k, v in fitted.items() if k not in MODEL_META and isinstance(v, int | float)}
        meta = {k: fitted[k] for k in (*MODEL_META, "error") if k in fitted}
        out.append((key, params, meta))
    return out


def _calibration_set(run: InsightRun | None) -> dict[str, Any]:
    """What the models were fitted on: {"history_days", "customers", "repeat_buyers", "fitted"} (any may lack)."""
    found = (run.models or {}).get("calibration") if run else None
    return found if isinstance(found, dict) else {}


def model_context(session: Session, actor: Actor, _: Any) -> dict[str, Any]:
    """Fitted parameters, the calibration check, CLV deciles and top customers by CLV (scoped)."""
    run = repo.latest_run(session)
    models = _model_params(run)
    fit_set = _calibration_set(run)
    bgnbd = next((p for key, p, _meta in models if key == "bgnbd"), None)
    calibration = []
    if run is not None and bgnbd and all(k in bgnbd for k in ("r", "alpha", "a", "b")):
        params = BgNbdParams(r=bgnbd["r"], alpha=bgnbd["alpha"], a=bgnbd["a"], b=bgnbd["b"])
        # The fit's calibration set: buyers whose first purchase lies within the history window.
        history = fit_set.get("history_days")
        first_after = run.as_of - timedelta(days=int(history)) if history else None
        groups = repo.calibration_groups(session, actor, first_after)
        calibration = calibration_rows(groups, run.as_of, params)
    deciles = repo.clv_deciles(session, actor)
    top = repo.top_clv(session, actor)
    ids = [row.customer_id for row, _name in top]
    phones = customer_repo.first_phones(session, ids)
    labels = [str(r.repeat) if r.repeat < len(calibration) - 1 else f"{r.repeat}+" for r in calibration]
    charts = {
        "calibration": _chart(
            labels,
            {
                _("Observed"): [r.observed for r in calibration],
                _("Expected (BG/NBD)"): [round(r.expected, 1) for r in calibration],
            },
            "bar",
        ),
        "deciles": _chart(
            [str(d.decile) for d in deciles],
            {_("Total CLV (yuan)"): [d.total_fen / 100 for d in deciles]},
            "bar",
        ),
    }
    return {
        "run": run,
        "models": models,
        "fit_set": fit_set,
        "MODEL_TITLES": MODEL_TITLES,
        "calibration": calibration,
        "calibration_total": sum(r.observed for r in calibration),
        "deciles": deciles,
        "clv_total": sum(d.total_fen for d in deciles),
        "top": top,
        "phones": {i: mask_phone(p) for i, p in phones.items()},
        "charts": charts,
    }


@router.get("/insights/model", response_class=HTMLResponse)
def model_page(request: Request, session: SessionDep, viewer: InsightViewer) -> HTMLResponse:
    """The lifetime value model: parameters, calibration, CLV distribution, top customers in scope."""
    context = model_context(session, viewer.actor, gettext_for(request))
    context.update(tabs=tabs(viewer), tab="model")
    return render(request, "insights/model.html", context)


def _warning_filters(session: Session, viewer: Viewer, params: Any) -> dict[str, Any]:
    actor = viewer.actor
    status = str(params.get("status") or "open")
    if status not in (*repo.WARNING_STATUSES, "all"):
        raise Invalid(f"status: {status!r} is not one of open, recalled, expired, all")
    run = repo.latest_run(session)
    latest = repo.latest_warning_day(session, actor)
    day = (
        parse_day(params.get("day"), "day")
        or latest
        or (run.as_of if run else local_date(utcnow(), brand_zone()))
    )
    owner = parse_id(params.get("owner"), "owner")
    offset = parse_id(params.get("offset"), "offset") or 0
    return {
        "day": day,
        "only_day": params.get("only_day") == "1",
        "owner": owner,
        "status": status,
        "offset": offset,
    }


def warnings_context(session: Session, viewer: Viewer, params: Any) -> dict[str, Any]:
    """The warning list, the per-owner summary and recall tracking for the viewer's scope."""
    actor = viewer.actor
    f = _warning_filters(session, viewer, params)
    items, total = repo.warnings(
        session,
        actor,
        day=f["day"] if f["only_day"] else None,
        owner_staff_id=f["owner"],
        status=None if f["status"] == "all" else f["status"],
        limit=WARNING_PAGE,
        offset=f["offset"],
    )
    staff = session.execute(
        select(Staff.id, Staff.name).where(org_repo.readable_staff(actor)).order_by(Staff.name).limit(500)
    ).all()
    return {
        "f": f,
        "items": items,
        "total": total,
        "page": WARNING_PAGE,
        "owners": repo.owner_summary(session, actor, f["day"], f["owner"]),
        "recall": repo.recall_summary(session, actor, f["day"], f["owner"]),
        "staff": staff,
        "STATUSES": repo.WARNING_STATUSES,
    }


@router.get("/insights/warnings", response_class=HTMLResponse)
def warnings_page(request: Request, session: SessionDep, viewer: InsightViewer) -> HTMLResponse:
    """Churn warnings per owner with recall tracking; a guide sees their own customers' warnings."""
    context = warnings_context(session, viewer, request.query_params)
    context.update(tabs=tabs(viewer), tab="warnings")
    return render(request, "insights/warnings.html", context, fragment="warning_body")


CSV_HEADER = (
    "warning_id",
    "customer_id",
    "customer_name",
    "owner",
    "warned_on",
    "reason",
    "p_alive",
    "overdue_days",
    "clv_yuan",
    "status",
    "window_ends_on",
    "recalled_on",
)


def _csv_row(w: WarningOut) -> list[object]:
    return [
        w.id,
        w.customer_id,
        w.customer_name,
        w.owner_name,
        w.warned_on.isoformat(),
        w.reason,
        None if w.p_alive is None else round(w.p_alive, 4),
        w.overdue_days,
        None if w.clv_fen is None else f"{w.clv_fen / 100:.2f}",
        w.status,
        w.window_ends_on.isoformat(),
        w.recalled_on.isoformat() if w.recalled_on else None,
    ]


@router.get("/insights/warnings.csv")
def warnings_csv(request: Request, session: SessionDep, viewer: InsightViewer) -> Response:
    """The filtered warning list as CSV (at most 50,000 rows; scoped; audited)."""
    f = _warning_filters(session, viewer, request.query_params)
    items: list[WarningOut] = []
    total = 0
    while len(items) < CSV_MAX:  # warning_list pages at most 1,000 rows at a time
        page, total = repo.warnings(
            session,
            viewer.actor,
            day=f["day"] if f["only_day"] else None,
            owner_staff_id=f["owner"],
            status=None if f["status"] == "all" else f["status"],
            limit=1000,
            offset=len(items),
        )
        items.extend(page)
        if len(page) < 1000:
            break
    items = items[:CSV_MAX]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for w in items:
        writer.writerow([csv_cell(v) for v in _csv_row(w)])
    used = {k: str(v) for k, v in f.items() if v not in (None, False, 0)}
    audit(
        session,
        viewer.actor,
        "insights.warnings_export",
        "churn_warning",
        None,
        {"filter": used, "rows": len(items), "matched": total},
    )
    session.commit()
    headers = {
        "Content-Disposition": 'attachment; filename="churn-warnings.csv"',
        "Cache-Control": "no-store",
    }
    return Response(
        ("\ufeff" + out.getvalue()).encode(), media_type="text/csv; charset=utf-8", headers=headers
    )


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


def cut_lines(definition: Any, _: Any) -> list[str]:
    """The cut values of the RFM 口径 as sentences (eight-class thresholds, or each quintile score's range)."""
    if definition is None:
        return []
    cuts = definition.cuts
    if definition.scheme == "eight_class":
        if cuts.get("recency_days") is None:
            return []
        money = cuts.get("monetary_fen")
        return [
            _("R high: last order at most %(v)s days ago") % {"v": _num(cuts.get("recency_days"))},
            _("F high: at least %(v)s orders in the window") % {"v": _num(cuts.get("frequency"))},
            _("M high: at least %(v)s yuan in the window")
            % {"v": _num(None if money is None else money / 100)},
        ]
    lines = []
    names = {
        "recency_days": _("R (days since last order)"),
        "frequency": _("F (orders)"),
        "monetary_fen": _("M (yuan)"),
    }
    for key, name in names.items():
        ranges = cuts.get(key) or []
        parts = []
        for score, span in enumerate(ranges, start=1):
            if span:
                lo, hi = (v / 100 if key == "monetary_fen" else v for v in span)
                parts.append(f"{score}: {_num(lo)}–{_num(hi)}")
        if parts:
            lines.append(f"{name} · " + ", ".join(parts))
    return lines


@router.get("/insights/customers", response_class=HTMLResponse)
def segment_page(
    request: Request,
    session: SessionDep,
    viewer: InsightViewer,
    rfm: Annotated[str, Query(max_length=32)] = "",
    after: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """The readable customers of one RFM segment (the preview the segment counts link to)."""
    if not rfm:
        raise Invalid("rfm: choose an RFM segment")
    rows, total = repo.segment_members(session, viewer.actor, rfm, after_id=parse_id(after, "after"))
    phones = customer_repo.first_phones(session, [r.customer_id for r, _name in rows])
    context = {
        "segment": rfm,
        "rows": rows,
        "total": total,
        "phones": {i: mask_phone(p) for i, p in phones.items()},
        "next_after": rows[-1][0].customer_id if len(rows) == 50 else None,
        "tabs": tabs(viewer),
        "tab": "overview",
    }
    return render(request, "insights/segment.html", context)
