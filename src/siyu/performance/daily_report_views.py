"""The 日报 page (/performance/daily) and its XLSX download; both call build_daily_report."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.models import OrgUnit
from siyu.org import repository as org_repo
from siyu.performance.daily_report import DailyReport, SubjectReport, build_daily_report
from siyu.performance.daily_report_export import TEMPLATE_HELPERS, workbook_bytes
from siyu.performance.leaderboard_service import default_day
from siyu.performance.leaderboard_views import parse_day, parse_id
from siyu.timeutil import local_date
from siyu.web.auth import SessionDep, ViewerDep
from siyu.web.i18n import N_
from siyu.web.render import register_nav, render, request_locale

router = APIRouter(include_in_schema=False)
register_nav("daily_report", N_("Daily report"), "/performance/daily", order=42)
PAGE = "performance/daily_report.html"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DayQuery = Annotated[str | None, Query(max_length=10)]
IdQuery = Annotated[str | None, Query(max_length=20)]


def _report(
    session: SessionDep, viewer: ViewerDep, day: str | None, unit: str | None, staff: str | None
) -> DailyReport:
    # Default: yesterday, the last complete business day (or the last day with activity, if earlier).
    chosen = parse_day(day, "day", default_day(session, local_date(utcnow()) - timedelta(days=1)))
    return build_daily_report(
        session, viewer.actor, chosen, unit_id=parse_id(unit, "unit"), staff_id=parse_id(staff, "staff")
    )


@router.get("/performance/daily", response_class=HTMLResponse)
def daily_page(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    day: DayQuery = None,
    unit: IdQuery = None,
    staff: IdQuery = None,
) -> HTMLResponse:
    """A unit's (or one staff member's) daily report within the viewer's scope."""
    report = _report(session, viewer, day, unit, staff)
    units = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.depth)
        .where(org_repo.readable_units(viewer.actor))
        .order_by(OrgUnit.path)
    ).all()
    query = {"day": report.day.isoformat(), **({"staff": staff} if staff else {"unit": str(report.unit_id)})}

    def staff_link(subject: SubjectReport) -> str:
        return "/performance/daily?" + urlencode({"day": report.day.isoformat(), "staff": subject.subject_id})

    context = {
        "report": report,
        "units": units,
        "staff_only": bool(staff),
        "staff_link": staff_link,
        "xlsx_url": "/performance/daily.xlsx?" + urlencode(query),
        **TEMPLATE_HELPERS,
    }
    return render(request, PAGE, context, fragment="daily_body")


@router.get("/performance/daily.xlsx")
def daily_xlsx(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    day: DayQuery = None,
    unit: IdQuery = None,
    staff: IdQuery = None,
) -> Response:
    """The same report as an XLSX workbook (the download is audited)."""
    report = _report(session, viewer, day, unit, staff)
    body = workbook_bytes(report, request_locale(request))
    detail = {"day": report.day.isoformat(), "staff": staff}
    audit(session, viewer.actor, "report.daily.export", "org_unit", report.unit_id, detail)
    session.commit()
    name = f"daily-{report.day.isoformat()}-{report.unit_code}.xlsx"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response(body, media_type=XLSX, headers=headers)
