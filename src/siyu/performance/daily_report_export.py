"""Daily report files: the XLSX workbook, the standalone HTML page, and `write_daily_reports` for every unit."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.models import OrgUnit, Staff, StaffStatus
from siyu.org.permissions import SYSTEM_ACTOR, Actor
from siyu.performance.contract import Period, Unit
from siyu.performance.daily_report import (
    DEFAULT_CODES,
    DailyReport,
    Line,
    SubjectReport,
    assemble,
    compute_day,
)
from siyu.performance.daily_report_kpi import kpi_lookup
from siyu.timeutil import brand_zone, local_date
from siyu.web.i18n import N_, translations

HEADER = (
    N_("Subject"),
    N_("Code"),
    N_("Name"),
    N_("Metric"),
    N_("Day"),
    N_("Day before"),
    N_("Change"),
    N_("Target"),
    N_("Attainment"),
    N_("Tier"),
    N_("Running target period"),
    N_("Running target"),
    N_("To date"),
    N_("Expected by this day"),
)
TIER_NAMES = {"below": N_("Below target"), "achieved": N_("Met"), "exceeded": N_("Exceeded")}
TASKS_DONE, TASKS_OVERDUE, INCIDENTS = N_("Tasks done"), N_("Tasks overdue"), N_("Incidents")
MONEY = (Unit.fen, Unit.fen_per_staff)


def metric_name(line: Line, locale: str) -> str:
    """The catalog's name of the line's metric in the locale."""
    return line.definition.name_zh if locale == "zh" else line.definition.name_en


def show(value: float | int | None, unit: Unit) -> str:
    """A value as pages print it: yuan with two decimals, percentages, counts; '—' when undefined."""
    if value is None:
        return "—"
    if unit in MONEY:
        return f"{value / 100:,.2f}"
    if unit is Unit.ratio:
        return f"{value * 100:.1f}%"
    if unit is Unit.seconds:
        return f"{value:.0f} s"
    return f"{value:g}" if isinstance(value, float) else str(value)


def show_change(line: Line) -> str:
    """The change from the day before, signed: yuan, percentage points or a count."""
    change, unit = line.change, line.definition.unit
    if change is None:
        return ""
    if unit in MONEY:
        return f"{change / 100:+,.2f}"
    if unit is Unit.ratio:
        return f"{change * 100:+.1f}pp"
    return f"{change:+g}"


def _cell(value: float | int | None, unit: Unit) -> float | int | None:
    # Workbook cells hold numbers a spreadsheet can add: yuan for money, fractions for ratios.
    if value is None:
        return None
    return value / 100 if unit in MONEY else value


def subjects(report: DailyReport) -> Iterator[SubjectReport]:
    """The unit first (when shown), then each staff member."""
    if report.unit is not None:
        yield report.unit
    yield from report.staff


def workbook_bytes(report: DailyReport, locale: str = "zh") -> bytes:
    """The report as an XLSX workbook: one row per subject and metric, plus tasks and incidents."""
    _ = translations(locale).gettext
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    formats: dict[Unit, Any] = {
        Unit.fen: book.add_format({"num_format": "#,##0.00"}),
        Unit.fen_per_staff: book.add_format({"num_format": "#,##0.00"}),
        Unit.ratio: book.add_format({"num_format": "0.0%"}),
        Unit.count: book.add_format({"num_format": "0"}),
        Unit.seconds: book.add_format({"num_format": "0"}),
    }
    sheet = book.add_worksheet(report.day.isoformat())
    sheet.write_row(0, 0, [_("Daily report"), report.day.isoformat(), report.unit_code, report.unit_name])
    sheet.write_row(2, 0, [_(h) for h in HEADER])
    row = 3
    for subject in subjects(report):
        kind = _("Org unit") if subject.kind.value == "unit" else _("Staff")
        for line in subject.lines:
            unit = line.definition.unit
            fmt = formats[unit]
            sheet.write_row(row, 0, [kind, subject.code, subject.name, metric_name(line, locale)])
            sheet.write(row, 4, _cell(line.value, unit), fmt)
            sheet.write(row, 5, _cell(line.previous, unit), fmt)
            sheet.write(row, 6, _cell(line.change, unit), fmt)
            sheet.write(row, 7, _cell(line.target, unit), fmt)
            sheet.write(row, 8, line.attainment, formats[Unit.ratio])
            if line.tier:
                sheet.write(row, 9, _(TIER_NAMES.get(line.tier, line.tier)))
            if line.running is not None:
                running = line.running
                sheet.write(row, 10, f"{running.target.first_day}..{running.target.last_day}")
                sheet.write(row, 11, _cell(float(running.target.target_value), unit), fmt)
                sheet.write(row, 12, _cell(running.actual, unit), fmt)
                sheet.write(row, 13, _cell(running.expected, unit), fmt)
            row += 1
        extras = (
            (TASKS_DONE, subject.tasks_done),
            (TASKS_OVERDUE, subject.tasks_overdue),
            (INCIDENTS, subject.incidents),
        )
        for label, value in extras:
            sheet.write_row(row, 0, [kind, subject.code, subject.name, _(label)])
            sheet.write(row, 4, value if value is not None else _("not available"))
            row += 1
    sheet.set_column(0, 3, 16)
    sheet.set_column(4, 9, 14)
    book.close()
    return out.getvalue()


def html_page(report: DailyReport, locale: str = "zh") -> str:
    """The report as a standalone HTML file (no scripts, no external assets)."""
    from siyu.web.render import environment

    template = environment.get_template("performance/daily_report_file.html")
    return template.render(report=report, locale=locale, **TEMPLATE_HELPERS)


TEMPLATE_HELPERS = {
    "show": show,
    "show_change": show_change,
    "metric_name": metric_name,
    "TIER_NAMES": TIER_NAMES,
}


def write_daily_reports(
    session: Session, day: date | None, out: Path, *, actor: Actor = SYSTEM_ACTOR, locale: str = "zh"
) -> list[Path]:
    """Write XLSX + HTML for every org unit for day (default yesterday); metrics are computed once for all."""
    zone = brand_zone()
    chosen = day or local_date(utcnow(), zone) - timedelta(days=1)
    units = list(session.scalars(select(OrgUnit).order_by(OrgUnit.path)))
    people = session.execute(
        select(Staff.id, Staff.code, Staff.name, OrgUnit.name, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
        .where((Staff.status == StaffStatus.active) | (Staff.left_on >= chosen))
        .order_by(OrgUnit.path, Staff.code)
    ).all()
    staff_ids = [int(p[0]) for p in people]
    unit_ids = [u.id for u in units]
    kpis = kpi_lookup(session, Period.day(chosen), staff_ids, unit_ids)
    tables = compute_day(session, chosen, kpis.all_codes(DEFAULT_CODES), staff_ids, unit_ids, zone)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for unit in units:
        members = [
            (int(p[0]), str(p[1]), str(p[2]), str(p[3])) for p in people if str(p[4]).startswith(unit.path)
        ]
        report = assemble(unit, members, chosen, tables, kpis)
        stem = f"daily-{chosen.isoformat()}-{unit.code}"
        xlsx, html = out / f"{stem}.xlsx", out / f"{stem}.html"
        xlsx.write_bytes(workbook_bytes(report, locale))
        html.write_text(html_page(report, locale), encoding="utf-8")
        written += [xlsx, html]
    audit(
        session,
        actor,
        "report.daily.write",
        "org_unit",
        None,
        {"day": chosen.isoformat(), "units": len(units)},
    )
    return written
