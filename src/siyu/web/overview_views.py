"""The 概览 overview page: filters in the query string, figures from siyu.reports, charts through [data-chart]."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy import select

from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.models import OrgUnit
from siyu.org import repository as org_repo
from siyu.org.permissions import PermissionRole
from siyu.reports.schemas import RETENTION_DAYS, Overview, OverviewFilters
from siyu.reports.service import build_overview
from siyu.timeutil import brand_zone, local_date
from siyu.web.auth import SessionDep, Viewer, require_roles
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, register_nav, render

OVERVIEW_ROLES = (
    PermissionRole.admin,
    PermissionRole.private_domain_lead,
    PermissionRole.manager,
    PermissionRole.analyst,
)
OverviewViewer = Annotated[Viewer, Depends(require_roles(*OVERVIEW_ROLES))]
PAGE = "overview/overview.html"
DEFAULT_MONTHS = 6

router = APIRouter(include_in_schema=False)
register_nav("overview", N_("Overview"), "/overview", order=10, roles=OVERVIEW_ROLES)

CHANNEL_LABELS = {
    "wecom": N_("WeCom"),
    "wechat_personal": N_("Personal WeChat"),
    "group": N_("Groups"),
    "miniprogram": N_("Mini-program"),
    "member": N_("Members"),
    "official_account": N_("Official account"),
}
SOURCE_LABELS = {
    "telesales": N_("Telesales"),
    "order": N_("Order"),
    "ad": N_("Advertising"),
    "store": N_("Store"),
    "referral": N_("Referral"),
    "organic": N_("Organic"),
    "intercept": N_("Intercept"),
}
ORDER_CHANNEL_LABELS = {
    "miniprogram": N_("Mini-program"),
    "store": N_("Store"),
    "ecommerce": N_("E-commerce"),
    "live": N_("Live streaming"),
}


def _parse_day(value: str | None, where: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def default_range(today: date) -> tuple[date, date]:
    """The first day of the month five months back through today (six monthly points)."""
    month = today.replace(day=1)
    for _ in range(DEFAULT_MONTHS - 1):
        month = (month - timedelta(days=1)).replace(day=1)
    return month, today


def chart_json(option: dict[str, Any]) -> Markup:
    """An ECharts option as JSON safe inside <script type="application/json"> (no '</script>' escape)."""
    text = json.dumps(option, ensure_ascii=False)
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def _line(labels: list[str], series: dict[str, list[Any]], kind: str = "line", stack: bool = False) -> Markup:
    option: dict[str, Any] = {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll"},
        "grid": {"left": 48, "right": 16, "bottom": 32, "top": 40},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value"},
        "series": [
            {"name": name, "type": kind, "data": data, **({"stack": "total"} if stack else {})}
            for name, data in series.items()
        ],
    }
    return chart_json(option)


def charts(overview: Overview, _: Any) -> dict[str, Markup]:
    """The ECharts options of the page, labels translated for the viewer."""
    present = {_(CHANNEL_LABELS[c]): overview.present_series[c] for c in overview.channels}
    present[_("All channels (distinct customers)")] = overview.total_series
    new = {
        _(SOURCE_LABELS.get(s, s)): [overview.new_by_day[d][s] for d in overview.days]
        for s in overview.sources
    }
    retention: dict[str, list[Any]] = {}
    for row in overview.retention:
        for n in RETENTION_DAYS:
            share = row.share(n)
            if share is not None:
                name = f"{_(CHANNEL_LABELS.get(row.channel, row.channel))} {row.month}"
                retention.setdefault(name, [None] * len(RETENTION_DAYS))[RETENTION_DAYS.index(n)] = round(
                    share * 100, 1
                )
    months = [row.month for row in overview.gmv_months]
    gmv = {
        _(ORDER_CHANNEL_LABELS.get(c, c)): [row.by_channel[c] / 100 for row in overview.gmv_months]
        for c in overview.order_channels
    }
    day_labels = [_("After %(days)s days") % {"days": n} for n in RETENTION_DAYS]
    return {
        "present": _line(overview.period_labels, present),
        "new": _line(overview.days, new, "bar", stack=True),
        "retention": _line(day_labels, retention),
        "gmv": _line(months, gmv, "bar", stack=True),
    }


@router.get("/overview", response_class=HTMLResponse)
def overview_page(
    request: Request,
    session: SessionDep,
    viewer: OverviewViewer,
    first: Annotated[str | None, Query(max_length=10)] = None,
    last: Annotated[str | None, Query(max_length=10)] = None,
    unit: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """The overview for the viewer's scope; an htmx filter request gets only the figures."""
    today = local_date(utcnow(), brand_zone())
    default_first, default_last = default_range(today)
    last_day = min(_parse_day(last, "last") or default_last, today)
    first_day = _parse_day(first, "first") or min(default_first, last_day)
    unit_id = None
    if unit:
        if not unit.isdigit():
            raise Invalid(f"unit: {unit!r} is not an org unit id")
        unit_id = int(unit)
    overview = build_overview(session, viewer.actor, OverviewFilters(first_day, last_day, unit_id))
    units = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.depth)
        .where(org_repo.readable_units(viewer.actor))
        .order_by(OrgUnit.path)
    ).all()
    _ = gettext_for(request)
    context = {
        "o": overview,
        "units": units,
        "charts": charts(overview, _),
        "CHANNEL_LABELS": CHANNEL_LABELS,
        "SOURCE_LABELS": SOURCE_LABELS,
        "ORDER_CHANNEL_LABELS": ORDER_CHANNEL_LABELS,
        "RETENTION_DAYS": RETENTION_DAYS,
    }
    return render(request, PAGE, context, fragment="overview_body")
