"""The 排行榜 page: metric, unit and period selectors; the board refreshes itself every 5 s through htmx polling."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.models import OrgUnit
from siyu.org import repository as org_repo
from siyu.performance.leaderboard_service import METRICS, PERIOD_KINDS, build_board, default_day, make_period
from siyu.timeutil import local_date
from siyu.web.auth import SessionDep, ViewerDep
from siyu.web.i18n import N_
from siyu.web.render import register_nav, render

router = APIRouter(include_in_schema=False)
register_nav("leaderboard", N_("Leaderboard"), "/performance/leaderboard", order=40)
PAGE = "performance/leaderboard.html"
POLL_SECONDS = 2  # with the worker's 2 s apply, a new order shows within about 4 s

METRIC_LABELS = {
    "gmv": N_("GMV"),
    "orders": N_("Orders"),
    "avg_order_value": N_("Average order value"),
    "new_contacts": N_("New contacts"),
    "tasks_done": N_("Tasks done"),
}
MONEY_METRICS = frozenset({"gmv", "avg_order_value"})
PERIOD_LABELS = {"day": N_("Day"), "week": N_("Week"), "month": N_("Month"), "quarter": N_("Quarter")}


def parse_day(value: str | None, where: str, default: date) -> date:
    """A YYYY-MM-DD query value, default when empty, Invalid naming where otherwise."""
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def parse_id(value: str | None, where: str) -> int | None:
    """An optional numeric id from the query string."""
    if not value:
        return None
    if not value.isdigit():
        raise Invalid(f"{where}: {value!r} is not an id")
    return int(value)


@router.get("/performance/leaderboard", response_class=HTMLResponse)
def leaderboard_page(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    metric: Annotated[str, Query(max_length=32)] = "gmv",
    unit: Annotated[str | None, Query(max_length=20)] = None,
    period: Annotated[str, Query(max_length=10)] = "month",
    day: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    """The leaderboard within the viewer's scope; htmx polls and filter changes get only the board."""
    chosen_day = parse_day(day, "day", default_day(session, local_date(utcnow())))
    board = build_board(
        session, viewer.actor, metric, make_period(period, chosen_day), parse_id(unit, "unit")
    )
    units = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.depth)
        .where(org_repo.readable_units(viewer.actor))
        .order_by(OrgUnit.path)
    ).all()
    query = {"metric": metric, "unit": unit or "", "period": period, "day": chosen_day.isoformat()}
    context = {
        "board": board,
        "units": units,
        "metrics": METRICS,
        "period_kinds": [k.value for k in PERIOD_KINDS],
        "METRIC_LABELS": METRIC_LABELS,
        "PERIOD_LABELS": PERIOD_LABELS,
        "money": metric in MONEY_METRICS,
        "chosen": query,
        "poll_url": "/performance/leaderboard?" + urlencode(query),
        "poll_seconds": POLL_SECONDS,
    }
    return render(request, PAGE, context, fragment="board")
