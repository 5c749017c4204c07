"""The boss's page (/performance/boss): 人效 trend, team cost vs private-domain GMV, tiers per unit."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from siyu.config import get_settings
from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.org.permissions import PermissionRole
from siyu.performance.boss import BossView, build_boss
from siyu.performance.contract import Period
from siyu.timeutil import local_date
from siyu.web.auth import SessionDep, Viewer, require_roles
from siyu.web.i18n import N_
from siyu.web.overview_views import chart_json
from siyu.web.render import gettext_for, register_nav, render

BOSS_ROLES = (PermissionRole.admin, PermissionRole.private_domain_lead, PermissionRole.analyst)
BossViewer = Annotated[Viewer, Depends(require_roles(*BOSS_ROLES))]
router = APIRouter(include_in_schema=False)
register_nav("boss", N_("Boss view"), "/performance/boss", order=44, roles=BOSS_ROLES)
PAGE = "performance/boss.html"
TIERS = ("below", "achieved", "exceeded")
TIER_LABELS = {"below": N_("Below target"), "achieved": N_("Met"), "exceeded": N_("Exceeded")}


def _yuan(fen: float | None) -> float | None:
    return None if fen is None else round(fen / 100, 2)


def charts(view: BossView, _: Any) -> dict[str, Markup]:
    """ECharts options: GMV per staff by month, and team cost vs private-domain GMV by month."""
    months = [m.month for m in view.months]
    grid = {"left": 64, "right": 16, "bottom": 32, "top": 40}
    per_staff = {
        "tooltip": {"trigger": "axis"},
        "grid": grid,
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": _("GMV per staff"),
                "type": "line",
                "data": [_yuan(m.revenue_per_staff) for m in view.months],
            }
        ],
    }
    cost = {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll"},
        "grid": grid,
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "value"},
        "series": [
            {"name": _("Team cost"), "type": "bar", "data": [_yuan(m.team_cost_fen) for m in view.months]},
            {
                "name": _("Private-domain GMV"),
                "type": "bar",
                "data": [_yuan(m.private_gmv_fen) for m in view.months],
            },
        ],
    }
    return {"per_staff": chart_json(per_staff), "cost": chart_json(cost)}


def _month_end(value: str | None) -> date:
    today = local_date(utcnow())
    if not value:
        return today
    try:
        first = date.fromisoformat(value + "-01")
    except ValueError:
        raise Invalid(f"month: {value!r} is not a month (YYYY-MM)") from None
    return min(Period.month(first).last, today)


@router.get("/performance/boss", response_class=HTMLResponse)
def boss_page(
    request: Request,
    session: SessionDep,
    viewer: BossViewer,
    month: Annotated[str | None, Query(max_length=7)] = None,
) -> HTMLResponse:
    """The boss's page for the viewer's scope: six months up to month (default this one), units in that month."""
    settings = get_settings()
    view = build_boss(
        session,
        viewer.actor,
        _month_end(month),
        cost_per_staff_fen=settings.staff_monthly_cost_fen,
    )
    context = {
        "view": view,
        "charts": charts(view, gettext_for(request)),
        "TIERS": TIERS,
        "TIER_LABELS": TIER_LABELS,
    }
    return render(request, PAGE, context)
