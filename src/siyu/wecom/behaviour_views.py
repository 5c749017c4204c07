"""The WeCom behaviour page (/wecom/behaviour): per staff 联系客户统计 totals of the last 30 days, a daily chart."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from siyu.db.types import utcnow
from siyu.performance.catalog import METRICS
from siyu.performance.views import format_value, parse_day
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.overview_views import chart_json
from siyu.web.render import gettext_for, render
from siyu.wecom.behaviour_service import CODES, BehaviourReport, behaviour_report
from siyu.wecom.sync_stats import last_complete_day
from siyu.wecom.views import SECTIONS, WECOM_ACCESS

BehaviourViewer = Annotated[Viewer, Depends(require_access(WECOM_ACCESS))]
SECTIONS.append(
    (
        "/wecom/behaviour",
        N_("WeCom behaviour"),
        N_(
            "Chats, reply rate, reply time, new contacts and deletions per staff member, from the daily statistics."
        ),
    )
)
SERIES = {
    "chat_cnt": N_("Chats"),
    "message_cnt": N_("Messages"),
    "new_contact_cnt": N_("New contacts"),
    "negative_feedback_cnt": N_("Deleted or blocked"),
}

router = APIRouter(include_in_schema=False)


def _chart(report: BehaviourReport, _: Any) -> Any:
    option = {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll"},
        "grid": {"left": 48, "right": 16, "bottom": 32, "top": 40},
        "xAxis": {"type": "category", "data": [d.isoformat() for d in report.days]},
        "yAxis": {"type": "value"},
        # null points (no snapshot that day) leave a gap: missing is not zero.
        "series": [
            {"name": _(label), "type": "line", "data": report.daily[name], "connectNulls": False}
            for name, label in SERIES.items()
        ],
    }
    return chart_json(option)


@router.get("/wecom/behaviour", response_class=HTMLResponse)
def behaviour_page(
    request: Request,
    session: SessionDep,
    viewer: BehaviourViewer,
    last: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Per staff in the viewer's scope: the window's totals, days with a snapshot, the oldest day kept."""
    day = parse_day(last, "last", last_complete_day(utcnow()))
    assert day is not None
    report = behaviour_report(session, viewer.actor, day)
    _ = gettext_for(request)
    cells = {
        row.staff_id: {code: format_value(METRICS[code], row.values[code]) for code in CODES}
        for row in report.rows
    }
    context = {
        "report": report,
        "cells": cells,
        "codes": CODES,
        "metrics": METRICS,
        "chart": _chart(report, _),
    }
    return render(request, "wecom/wecom/behaviour.html", context)
