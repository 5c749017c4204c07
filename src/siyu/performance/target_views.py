"""Console 目标 pages: target list with progress, create/edit/delete, bulk assignment, a unit's roll-up, a score."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from siyu.api.schemas import IdPath
from siyu.db.types import utcnow
from siyu.errors import Invalid, NotFound, SiyuError
from siyu.models import OrgUnit, PaceCurve, Staff, Target, TargetSubject
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor
from siyu.performance import targets_service as svc
from siyu.performance.catalog import METRICS
from siyu.performance.contract import Period, PeriodKind, Unit
from siyu.performance.kpi_views import ROLE_NAMES, metric_names, parse_date
from siyu.performance.target_progress import Tier, progress_many, staff_score
from siyu.performance.target_repository import TargetFilter, get_target, list_targets, subject_names
from siyu.timeutil import local_date
from siyu.web.auth import SessionDep, ViewerDep
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, register_nav, render

router = APIRouter(prefix="/performance/targets", include_in_schema=False)
register_nav("targets", N_("Targets"), "/performance/targets", order=45)

PERIOD_LABELS = {
    "day": N_("Day"), "week": N_("Week"), "month": N_("Month"), "quarter": N_("Quarter"), "custom": N_("Custom"),
}  # fmt: skip
TIER_LABELS = {Tier.below: N_("Not reached"), Tier.achieved: N_("Reached"), Tier.exceeded: N_("Exceeded")}


def show(code: str, value: float | int | None) -> str:
    """A metric value as people read it: yuan for fen, % for rates, whole numbers for counts."""
    if value is None:
        return "—"
    unit = METRICS[code].unit
    if unit in (Unit.fen, Unit.fen_per_staff):
        return f"¥{value / 100:,.2f}"
    if unit is Unit.ratio:
        return f"{value * 100:.1f}%"
    if unit is Unit.seconds:
        return f"{value:,.0f}s"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def from_form(code: str, text: str) -> float:
    """A target typed in display units (yuan, %) → the catalog's unit (fen, 0..1)."""
    try:
        number = float(text.replace(",", "").strip().rstrip("%¥"))
    except ValueError:
        raise Invalid(f"target value: {text!r} is not a number") from None
    unit = METRICS[code].unit if code in METRICS else Unit.count
    if unit in (Unit.fen, Unit.fen_per_staff):
        return round(number * 100)
    return number / 100 if unit is Unit.ratio else number


def to_form(code: str, value: float) -> str:
    """The inverse of from_form, for prefilling the edit form."""
    unit = METRICS[code].unit
    if unit in (Unit.fen, Unit.fen_per_staff):
        return f"{value / 100:g}"
    return f"{value * 100:g}" if unit is Unit.ratio else f"{value:g}"


@dataclass
class TermsForm:
    """The target fields as typed."""

    metric: str = "gmv"
    period: str = "month"
    day: str = ""
    last: str = ""
    value: str = ""
    exceed: str = "120"
    note: str = ""
    new_business: bool = False
    pace: str = "linear"
    weights: str = ""

    def terms(self) -> svc.TargetTerms:
        """Parsed terms (Invalid naming the field on bad input)."""
        first = parse_date(self.day, "period day")
        last = parse_date(self.last, "last day") if self.last.strip() else None
        if not self.exceed.strip().isdigit():
            raise Invalid(f"exceed threshold: {self.exceed!r} is not a whole percentage")
        try:
            pace = PaceCurve(self.pace)
            weights = [float(w) for w in self.weights.replace(",", " ").split()] or None
        except ValueError:
            raise Invalid(f"pace: {self.pace!r} / weights {self.weights[:40]!r} are not valid") from None
        return svc.TargetTerms(
            metric_code=self.metric,
            period=svc.make_period(self.period, first, last),
            target_value=from_form(self.metric, self.value),
            exceed_percent=int(self.exceed),
            incentive_note=self.note.strip() or None,
            new_business=self.new_business,
            pace_curve=pace,
            day_weights=weights,
        )


def _units(session: Session, actor: Actor) -> list[object]:
    return list(
        session.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.depth)
            .where(org_repo.readable_units(actor))
            .order_by(OrgUnit.path)
        ).all()
    )


def _shared(request: Request) -> dict[str, object]:
    return {
        "names": metric_names(request),
        "codes": list(METRICS),
        "PERIOD_LABELS": PERIOD_LABELS,
        "period_kinds": [k.value for k in PeriodKind],
        "TIER_LABELS": TIER_LABELS,
        "ROLE_NAMES": ROLE_NAMES,
        "show": show,
    }


def _listed(
    session: Session, actor: Actor, period: str, day: str, unit: str, metric: str
) -> tuple[Period, list[Target]]:
    """The period chosen by the filters and the readable targets overlapping it."""
    today = local_date(utcnow())
    chosen = svc.make_period(
        period if period != "custom" else "month", parse_date(day, "day") if day else today
    )
    flt = TargetFilter(chosen.first, chosen.last, int(unit) if unit.isdigit() else None, metric or None)
    return chosen, list(list_targets(session, actor, flt))


@router.get("/export.csv")
def targets_csv(
    session: SessionDep,
    viewer: ViewerDep,
    period: Annotated[str, Query(max_length=10)] = "month",
    day: Annotated[str, Query(max_length=10)] = "",
    unit: Annotated[str, Query(max_length=20)] = "",
    metric: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The list as CSV, values in the catalog's units (fen, 0..1 rates): the same numbers as the page."""
    span, targets = _listed(session, viewer.actor, period, day, unit, metric)
    names = subject_names(session, targets)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["target_id", "subject_kind", "subject_id", "subject", "metric", "first", "last", "target",
                     "actual", "percent", "expected_by_today", "tier", "new_business", "incentive_note"])  # fmt: skip
    for p in progress_many(session, targets, local_date(utcnow())):
        t = p.target
        writer.writerow([t.id, t.subject_kind.value, t.subject_id, names.get((t.subject_kind.value, t.subject_id), ""),
                         t.metric_code, t.first_day, t.last_day, t.target_value, "" if p.actual is None else p.actual,
                         "" if p.percent is None else round(p.percent, 2), round(p.expected, 2),
                         p.tier.value if p.tier else "", int(t.new_business), t.incentive_note or ""])  # fmt: skip
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM so spreadsheet programs read the Chinese names as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="targets-{span.label}.csv"'},
    )


@router.get("", response_class=HTMLResponse)
def targets_page(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    period: Annotated[str, Query(max_length=10)] = "month",
    day: Annotated[str, Query(max_length=10)] = "",
    unit: Annotated[str, Query(max_length=20)] = "",
    metric: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    """Readable targets overlapping the chosen period, with actual, %, pace, tier and a progress bar."""
    today = local_date(utcnow())
    chosen, targets = _listed(session, viewer.actor, period, day, unit, metric)
    context = {
        **_shared(request),
        "rows": progress_many(session, targets, today),
        "who": subject_names(session, targets),
        "units": _units(session, viewer.actor),
        "chosen": {
            "period": period,
            "day": (parse_date(day, "day") if day else today).isoformat(),
            "unit": unit,
            "metric": metric,
        },
        "span": chosen,
        "today": today,
        "may_write": viewer.actor.may_write,
    }
    return render(request, "performance/targets.html", context)


def _form_page(
    request: Request,
    session: Session,
    actor: Actor,
    form: TermsForm,
    extra: dict[str, object],
    status: int = 200,
) -> HTMLResponse:
    context = {**_shared(request), "form": form, "units": _units(session, actor), "form_error": None, **extra}
    return render(request, "performance/target_form.html", context, status_code=status)


@router.get("/new", response_class=HTMLResponse)
def new_target_page(request: Request, session: SessionDep, viewer: ViewerDep) -> HTMLResponse:
    """The create form (one target) and the bulk form (every active staff member of a unit)."""
    svc.require_writer(viewer.actor)
    form = TermsForm(day=local_date(utcnow()).isoformat())
    return _form_page(
        request, session, viewer.actor, form, {"mode": "new", "subject_kind": "staff", "subject_code": ""}
    )


def _terms_form(
    metric: str, period: str, day: str, last: str, value: str, exceed: str, note: str, new_business: str, pace: str,
    weights: str,
) -> TermsForm:  # fmt: skip
    return TermsForm(metric, period, day, last, value, exceed, note, new_business == "on", pace, weights)


F = Annotated[str, Form(max_length=2000)]
W = Annotated[str, Form(max_length=8000)]


@router.post("/new")
def new_target_submit(
    request: Request, session: SessionDep, viewer: ViewerDep,
    subject_kind: F = "staff", subject_code: F = "", metric: F = "", period: F = "month", day: F = "", last: F = "",
    value: F = "", exceed: F = "120", note: F = "", new_business: F = "", pace: F = "linear", weights: W = "",
) -> Response:  # fmt: skip
    """Create one target for a staff member or unit given by code (audited)."""
    form = _terms_form(metric, period, day, last, value, exceed, note, new_business, pace, weights)
    try:
        subject_id = svc.resolve_subject(session, viewer.actor, subject_kind, subject_code.strip())
        svc.create_target(session, viewer.actor, subject_kind, subject_id, form.terms())
    except SiyuError as exc:
        session.rollback()
        extra = {"mode": "new", "subject_kind": subject_kind, "subject_code": subject_code,
                 "form_error": gettext_for(request)(exc.message)}  # fmt: skip
        return _form_page(request, session, viewer.actor, form, extra, exc.status_code)
    session.commit()
    return RedirectResponse(f"/performance/targets?period={form.period}&day={form.day}", status_code=303)


@router.post("/bulk")
def bulk_submit(
    request: Request, session: SessionDep, viewer: ViewerDep,
    unit_id: F = "", role_code: F = "", metric: F = "", period: F = "month", day: F = "", last: F = "",
    value: F = "", exceed: F = "120", note: F = "", new_business: F = "", pace: F = "linear", weights: W = "",
) -> Response:  # fmt: skip
    """Give every active staff member of a unit (optionally one role) the same target, in one insert."""
    form = _terms_form(metric, period, day, last, value, exceed, note, new_business, pace, weights)
    try:
        if not unit_id.isdigit():
            raise Invalid(f"bulk target: choose an org unit (got {unit_id!r})")
        result = svc.assign_to_unit_staff(
            session, viewer.actor, int(unit_id), form.terms(), role_code.strip() or None
        )
    except SiyuError as exc:
        session.rollback()
        extra = {"mode": "new", "subject_kind": "staff", "subject_code": "", "bulk_unit": unit_id,
                 "bulk_role": role_code, "bulk_error": gettext_for(request)(exc.message)}  # fmt: skip
        return _form_page(request, session, viewer.actor, form, extra, exc.status_code)
    session.commit()
    return RedirectResponse(
        f"/performance/targets?period={form.period}&day={form.day}&unit={unit_id}&created={result.created}"
        f"&skipped={len(result.skipped)}",
        status_code=303,
    )


def _readable(session: Session, actor: Actor, target_id: int) -> Target:
    target = get_target(session, actor, target_id)
    if target is None:
        raise NotFound(f"target {target_id} does not exist")
    return target


@router.get("/{target_id}/edit", response_class=HTMLResponse)
def edit_target_page(
    request: Request, session: SessionDep, viewer: ViewerDep, target_id: IdPath
) -> HTMLResponse:
    """The edit form of one target (value, threshold, note, new-business flag, pace)."""
    svc.require_writer(viewer.actor)
    t = _readable(session, viewer.actor, target_id)
    form = TermsForm(
        t.metric_code, t.period_kind, t.first_day.isoformat(), t.last_day.isoformat(), to_form(t.metric_code, t.target_value),
        str(t.exceed_percent), t.incentive_note or "", t.new_business, t.pace_curve.value,
        " ".join(f"{w:g}" for w in (t.day_weights or [])),
    )  # fmt: skip
    name = subject_names(session, [t]).get((t.subject_kind.value, t.subject_id), "")
    return _form_page(
        request, session, viewer.actor, form, {"mode": "edit", "target": t, "subject_name": name}
    )


@router.post("/{target_id}/edit")
def edit_target_submit(
    request: Request, session: SessionDep, viewer: ViewerDep, target_id: IdPath,
    metric: F = "", period: F = "month", day: F = "", last: F = "", value: F = "", exceed: F = "120", note: F = "",
    new_business: F = "", pace: F = "linear", weights: W = "",
) -> Response:  # fmt: skip
    """Save the changed terms (audited)."""
    form = _terms_form(metric, period, day, last, value, exceed, note, new_business, pace, weights)
    try:
        target = svc.update_target(session, viewer.actor, target_id, form.terms())
    except NotFound:
        raise
    except SiyuError as exc:
        session.rollback()
        t = _readable(session, viewer.actor, target_id)
        extra = {
            "mode": "edit",
            "target": t,
            "subject_name": "",
            "form_error": gettext_for(request)(exc.message),
        }
        return _form_page(request, session, viewer.actor, form, extra, exc.status_code)
    day_text = target.first_day.isoformat()
    session.commit()
    return RedirectResponse(f"/performance/targets?period={form.period}&day={day_text}", status_code=303)


@router.post("/{target_id}/delete")
def delete_target_submit(session: SessionDep, viewer: ViewerDep, target_id: IdPath) -> Response:
    """Delete one target (audited)."""
    svc.delete_target(session, viewer.actor, target_id)
    session.commit()
    return RedirectResponse("/performance/targets", status_code=303)


@router.get("/rollup", response_class=HTMLResponse)
def rollup_page(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    unit: Annotated[str, Query(max_length=20)] = "",
    period: Annotated[str, Query(max_length=10)] = "month",
    day: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """A unit's own targets against the sum of its staff's targets, metric by metric."""
    units = _units(session, viewer.actor)
    chosen_day = parse_date(day, "day") if day else local_date(utcnow())
    span = svc.make_period(period if period != "custom" else "month", chosen_day)
    unit_id = int(unit) if unit.isdigit() else None
    rows = svc.rollup(session, viewer.actor, unit_id, span) if unit_id is not None else []
    context = {**_shared(request), "units": units, "rows": rows, "span": span,
               "chosen": {"unit": unit, "period": period, "day": chosen_day.isoformat()}}  # fmt: skip
    return render(request, "performance/target_rollup.html", context)


@router.get("/score", response_class=HTMLResponse)
def score_page(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    staff: Annotated[str, Query(max_length=64)] = "",
    period: Annotated[str, Query(max_length=10)] = "month",
    day: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """A staff member's weighted KPI score (own score by default)."""
    today = local_date(utcnow())
    span = svc.make_period(
        period if period != "custom" else "month", parse_date(day, "day") if day else today
    )
    staff_id = viewer.actor.staff_id
    if staff.strip():
        staff_id = svc.resolve_subject(session, viewer.actor, TargetSubject.staff.value, staff.strip())
    score = None
    name = ""
    if staff_id is not None:
        row = session.execute(
            select(Staff.name).where(Staff.id == staff_id, org_repo.readable_staff(viewer.actor))
        ).first()
        if row is None:
            raise NotFound(f"score: staff {staff_id} does not exist")
        name = row[0]
        score = staff_score(session, staff_id, span, today)
    context = {**_shared(request), "score": score, "staff_name": name, "span": span,
               "chosen": {"staff": staff, "period": period, "day": span.first.isoformat()}}  # fmt: skip
    return render(request, "performance/target_score.html", context)
