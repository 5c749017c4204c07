"""The 指标 pages: the metric catalog with every definition, and an explorer of values for the viewer's scope."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.org.permissions import DataScope
from siyu.performance.catalog import METRICS
from siyu.performance.compute import make_period, scoped_values
from siyu.performance.contract import MetricDef, MetricGroup, MetricValue, PeriodKind, SubjectKind, Unit
from siyu.performance.settings import DEFAULT_SETTINGS
from siyu.timeutil import local_date
from siyu.web.auth import SessionDep, ViewerDep
from siyu.web.i18n import N_
from siyu.web.render import register_nav, render

router = APIRouter(include_in_schema=False)
register_nav("metrics", N_("Metrics"), "/performance/metrics", order=38)

DEFAULT_CODES = ("gmv", "orders", "avg_order_value", "new_contacts", "tasks_done", "task_on_time_rate")
GROUP_LABELS = {
    MetricGroup.users: N_("Users"),
    MetricGroup.results: N_("Results"),
    MetricGroup.activity: N_("Activity and service"),
}
UNIT_LABELS = {
    Unit.count: N_("count"),
    Unit.fen: N_("yuan"),
    Unit.ratio: N_("percent"),
    Unit.seconds: N_("seconds"),
    Unit.fen_per_staff: N_("yuan per staff"),
}
DIRECTION_LABELS = {"higher": N_("higher is better"), "lower": N_("lower is better")}
SUBJECT_LABELS = {
    SubjectKind.staff: N_("Staff"),
    SubjectKind.unit: N_("Org unit"),
    SubjectKind.company: N_("Company"),
}
PERIOD_LABELS = {
    PeriodKind.day: N_("Day"),
    PeriodKind.week: N_("Week"),
    PeriodKind.month: N_("Month"),
    PeriodKind.quarter: N_("Quarter"),
    PeriodKind.custom: N_("Custom"),
}


def format_value(m: MetricDef, v: MetricValue | None) -> str:
    """How a value reads on a page: yuan for money, a percentage for ratios, — when undefined."""
    if v is None:
        # Counts with nothing to count are zero; anything else is undefined.
        return "0" if m.unit is Unit.count else "—"
    if v.value is None:
        return "—"
    if m.unit in (Unit.fen, Unit.fen_per_staff):
        return f"{v.value / 100:,.2f}"
    if m.unit is Unit.ratio:
        return f"{v.value * 100:.1f}%"
    if m.unit is Unit.seconds:
        return f"{v.value:,.0f}"
    return f"{v.value:,}"


def parse_day(value: str | None, where: str, default: date | None) -> date | None:
    """A YYYY-MM-DD query value, default when empty."""
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


@router.get("/performance/metrics", response_class=HTMLResponse)
def catalog_page(request: Request, viewer: ViewerDep) -> HTMLResponse:
    """Every metric with its definition, formula, unit, direction, subjects and what it reads."""
    groups = {g: [m for m in METRICS.values() if m.group is g] for g in MetricGroup}
    context = {
        "groups": groups,
        "GROUP_LABELS": GROUP_LABELS,
        "UNIT_LABELS": UNIT_LABELS,
        "DIRECTION_LABELS": DIRECTION_LABELS,
        "SUBJECT_LABELS": SUBJECT_LABELS,
        "settings": DEFAULT_SETTINGS,
        "subject_order": list(SubjectKind),
    }
    return render(request, "performance/metrics.html", context)


@router.get("/performance/metrics/values", response_class=HTMLResponse)
def values_page(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    codes: Annotated[list[str] | None, Query(max_length=64)] = None,
    period: Annotated[str, Query(max_length=10)] = "month",
    day: Annotated[str | None, Query(alias="date", max_length=10)] = None,
    last: Annotated[str | None, Query(max_length=10)] = None,
    subject: Annotated[str, Query(max_length=10)] = "staff",
) -> HTMLResponse:
    """Chosen metrics × every staff member / unit the viewer may read, for one period."""
    chosen_codes = [c for c in (codes or DEFAULT_CODES) if c]
    chosen_day = parse_day(day, "date", local_date(utcnow()))
    assert chosen_day is not None
    chosen_last = parse_day(last, "last", None)
    result = scoped_values(
        session, viewer.actor, chosen_codes, make_period(period, chosen_day, chosen_last), subject
    )
    metrics = [METRICS[c] for c in chosen_codes]
    rows: list[dict[str, Any]] = [
        {
            "subject": s,
            "cells": [(m.code, format_value(m, result.table.get(m.code, s.id))) for m in metrics],
        }
        for s in result.subjects
    ]
    kinds = [
        k
        for k in SubjectKind
        if (k is not SubjectKind.company or viewer.actor.scope is DataScope.all)
        and (k is not SubjectKind.unit or viewer.actor.scope is not DataScope.self_)
    ]
    context = {
        "all_metrics": list(METRICS.values()),
        "metrics": metrics,
        "rows": rows,
        "table": result.table,
        "chosen": {
            "codes": chosen_codes,
            "period": period,
            "day": chosen_day.isoformat(),
            "last": chosen_last.isoformat() if chosen_last else "",
            "subject": subject,
        },
        "period_kinds": list(PeriodKind),
        "subject_kinds": kinds,
        "PERIOD_LABELS": PERIOD_LABELS,
        "SUBJECT_LABELS": SUBJECT_LABELS,
    }
    return render(request, "performance/metric_values.html", context, fragment="values")
