"""日报: figures equal compute_metrics for the same subject and day; the XLSX equals the page; the CLI covers every unit."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.cli import app as cli
from siyu.db.engine import session_factory
from siyu.errors import NotFound
from siyu.models import OrgUnit, Staff, StaffTask, TaskStatus
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import Period, SubjectKind
from siyu.performance.daily_report import DEFAULT_CODES, build_daily_report
from siyu.timeutil import local_date
from tests.performance.test_leaderboard_world import DAY, ZONE, World, build
from tests.web.conftest import MakeAccount, login, make_account  # noqa: F401  (fixture)

REPORT_DAY = DAY - timedelta(days=1)


@pytest.fixture()
def world(session: Session) -> World:
    w = build(session)
    session.commit()
    return w


def _catalog(session: Session, kind: SubjectKind, ids: list[int], day: object) -> object:
    return compute_metrics(session, list(DEFAULT_CODES), Period.day(day), kind, subject_ids=ids, zone=ZONE)  # type: ignore[arg-type]


def _num(value: object) -> float:
    return 0 if value is None else float(value)  # type: ignore[arg-type]


def test_figures_equal_the_catalog_for_each_subject_and_day(session: Session, world: World) -> None:
    # Find a day on which something happened so the comparison is not all zeros.
    report = build_daily_report(session, SYSTEM_ACTOR, REPORT_DAY, unit_id=world.units["R1"], zone=ZONE)
    staff_ids = [s.subject_id for s in report.staff]
    assert set(staff_ids) == {world.staff[c] for c in ("A", "B", "C")}  # E left, D is in R2
    today = _catalog(session, SubjectKind.staff, staff_ids, REPORT_DAY)
    before = _catalog(session, SubjectKind.staff, staff_ids, REPORT_DAY - timedelta(days=1))
    nonzero = 0
    for subject in report.staff:
        assert [line.code for line in subject.lines] == list(DEFAULT_CODES)
        for line in subject.lines:
            expected = today.get(line.code, subject.subject_id)  # type: ignore[attr-defined]
            previous = before.get(line.code, subject.subject_id)  # type: ignore[attr-defined]
            assert _num(line.value) == pytest.approx(_num(expected.value if expected else None)), line.code
            assert _num(line.previous) == pytest.approx(_num(previous.value if previous else None)), line.code
            nonzero += bool(line.value)
    assert nonzero > 0
    unit_today = _catalog(session, SubjectKind.unit, [world.units["R1"]], REPORT_DAY)
    assert report.unit is not None
    for line in report.unit.lines:
        expected = unit_today.get(line.code, world.units["R1"])  # type: ignore[attr-defined]
        assert _num(line.value) == pytest.approx(_num(expected.value if expected else None)), line.code
    # Tasks overdue, brute force: due that day, not cancelled, not done by the due time.
    for subject in report.staff:
        tasks = session.scalars(select(StaffTask).where(StaffTask.staff_id == subject.subject_id)).all()
        overdue = sum(
            1
            for t in tasks
            if local_date(t.due_at, ZONE) == REPORT_DAY
            and t.status is not TaskStatus.cancelled
            and (t.done_at is None or t.done_at > t.due_at)
        )
        done = sum(
            1
            for t in tasks
            if t.status is TaskStatus.done and t.done_at and local_date(t.done_at, ZONE) == REPORT_DAY
        )
        assert (subject.tasks_overdue, subject.tasks_done) == (overdue, done)
        assert subject.incidents is None  # no compliance module yet


def test_scope_self_sees_only_themselves(session: Session, world: World) -> None:
    guide = Actor(None, "ga", PermissionRole.guide, DataScope.self_, staff_id=world.staff["A"])
    report = build_daily_report(session, guide, REPORT_DAY, zone=ZONE)
    assert [s.subject_id for s in report.staff] == [world.staff["A"]] and report.unit is None
    with pytest.raises(NotFound):
        build_daily_report(session, guide, REPORT_DAY, staff_id=world.staff["D"], zone=ZONE)


def _page_values(html: str) -> dict[tuple[str, str], str]:
    found = {}
    for subject, metric, value in re.findall(
        r'data-subject="([^"]+)" data-metric="([^"]+)" data-value="([^"]*)"', html
    ):
        found[(subject, metric)] = value
    for subject, key, value in re.findall(r'data-subject="([^"]+)" data-key="([^"]+)">([^<]*)<', html):
        found[(subject, key)] = value.strip()
    return found


def test_xlsx_cells_equal_the_page(
    client: TestClient,
    engine: Engine,
    make_account: MakeAccount,  # noqa: F811
) -> None:
    with session_factory(engine)() as s:
        world = build(s)
        s.commit()
        codes = {sid: code for sid, code in s.execute(select(Staff.id, Staff.code))}
    make_account("boss", "admin")
    assert login(client, "boss").status_code == 303
    query = f"day={REPORT_DAY.isoformat()}&unit={world.units['R1']}"
    page = client.get(f"/performance/daily?{query}")
    assert page.status_code == 200, page.text
    assert "<script>" not in page.text and 'id="daily-notes"' in page.text
    values = _page_values(page.text)
    assert values
    download = client.get(f"/performance/daily.xlsx?{query}")
    assert download.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(download.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    by_code = {v: k for k, v in codes.items()}
    checked = 0
    metric_order = list(DEFAULT_CODES)
    for row in rows:
        _kind, code, _name, _label, value = row[:5]
        subject = f"unit:{world.units['R1']}" if code == "R1" else f"staff:{by_code[code]}"
        index = [r for r in rows if r[1] == code].index(row)
        if index < len(metric_order):
            metric = metric_order[index]
            shown = values[(subject, metric)]
            expected = float(shown) if shown else None
            if metric in ("gmv", "avg_order_value") and value is not None:
                value = round(value * 100, 6)
            assert (value if value is None else pytest.approx(value)) == expected, (code, metric)
        else:
            key = ("tasks_done", "tasks_overdue", "incidents")[index - len(metric_order)]
            assert str(value) == values[(subject, key)] or (key == "incidents" and value == "not available")
        checked += 1
    assert checked == (1 + 3) * (len(metric_order) + 3)


def test_cli_writes_a_workbook_and_a_page_for_every_unit(
    cli_env: str, engine: Engine, tmp_path: Path
) -> None:
    with session_factory(engine)() as s:
        build(s)
        s.commit()
        unit_codes = set(s.scalars(select(OrgUnit.code)))
    result = CliRunner().invoke(
        cli, ["report", "daily", "--day", REPORT_DAY.isoformat(), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    names = {p.name for p in tmp_path.iterdir()}
    for code in unit_codes:
        assert f"daily-{REPORT_DAY.isoformat()}-{code}.xlsx" in names
        assert f"daily-{REPORT_DAY.isoformat()}-{code}.html" in names
    html = (tmp_path / f"daily-{REPORT_DAY.isoformat()}-C.html").read_text(encoding="utf-8")
    assert "<script" not in html and 'data-metric="gmv"' in html


def test_kpi_set_and_day_targets_are_shown_with_their_tier(session: Session, world: World) -> None:
    from siyu.performance.kpi_service import ItemIn, save_kpi_set
    from siyu.performance.targets_service import TargetTerms, create_target

    save_kpi_set(
        session,
        SYSTEM_ACTOR,
        "guide",
        "launch",
        REPORT_DAY - timedelta(days=30),
        [ItemIn("gmv", 60), ItemIn("new_contacts", 40)],
    )
    gmv = _catalog(session, SubjectKind.staff, [world.staff["A"]], REPORT_DAY).get("gmv", world.staff["A"])  # type: ignore[attr-defined]
    actual = gmv.value if gmv else 0
    create_target(
        session, SYSTEM_ACTOR, "staff", world.staff["A"], TargetTerms("gmv", Period.day(REPORT_DAY), 100_000)
    )
    session.flush()
    report = build_daily_report(session, SYSTEM_ACTOR, REPORT_DAY, unit_id=world.units["ST1"], zone=ZONE)
    assert report.has_kpi_sets and report.has_targets
    a = next(s for s in report.staff if s.subject_id == world.staff["A"])
    assert a.kpi_set == "guide v1" and [line.code for line in a.lines] == ["gmv", "new_contacts"]
    line = a.lines[0]
    assert line.target == 100_000 and line.attainment == pytest.approx(actual / 100_000)
    expected_tier = "exceeded" if actual >= 120_000 else "achieved" if actual >= 100_000 else "below"
    assert line.tier == expected_tier
    assert a.lines[1].target is None  # no target for that metric
    assert report.unit is not None and [line.code for line in report.unit.lines] == list(DEFAULT_CODES)


def test_a_month_target_shows_progress_up_to_the_day_against_its_pace(session: Session, world: World) -> None:
    from siyu.performance.targets_service import TargetTerms, create_target

    month = Period.month(REPORT_DAY)
    create_target(session, SYSTEM_ACTOR, "staff", world.staff["A"], TargetTerms("gmv", month, 900_000))
    session.flush()
    report = build_daily_report(session, SYSTEM_ACTOR, REPORT_DAY, unit_id=world.units["ST1"], zone=ZONE)
    assert report.has_targets
    a = next(s for s in report.staff if s.subject_id == world.staff["A"])
    line = next(line for line in a.lines if line.code == "gmv")
    assert line.target is None and line.running is not None  # no day target; the month's is running
    # Month to date = the catalog over the month's first day .. the report day, never the days after it.
    to_date = compute_metrics(
        session, ["gmv"], Period.custom(month.first, REPORT_DAY), SubjectKind.staff,
        subject_ids=[world.staff["A"]], zone=ZONE,
    ).get("gmv", world.staff["A"])  # fmt: skip
    assert _num(line.running.actual) == _num(to_date.value if to_date else None)
    elapsed = (REPORT_DAY - month.first).days + 1
    assert line.running.expected == pytest.approx(900_000 * elapsed / month.days)
    assert line.running.percent == pytest.approx(_num(line.running.actual) / 900_000 * 100)


def test_the_workbook_carries_the_running_target(
    client: TestClient,
    engine: Engine,
    make_account: MakeAccount,  # noqa: F811
) -> None:
    from siyu.performance.targets_service import TargetTerms, create_target

    with session_factory(engine)() as s:
        world = build(s)
        create_target(
            s, SYSTEM_ACTOR, "staff", world.staff["A"], TargetTerms("gmv", Period.month(REPORT_DAY), 900_000)
        )
        s.commit()
        a_code = s.scalar(select(Staff.code).where(Staff.id == world.staff["A"]))
    make_account("boss2", "admin")
    assert login(client, "boss2").status_code == 303
    query = f"day={REPORT_DAY.isoformat()}&unit={world.units['ST1']}"
    page = client.get(f"/performance/daily?{query}").text
    shown = re.search(
        r'data-key="running" data-target="([^"]*)" data-to-date="([^"]*)" data-expected="([^"]*)"', page
    )
    assert shown is not None and float(shown.group(1)) == 900_000
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/performance/daily.xlsx?{query}").content)).active
    assert sheet is not None
    row = next(
        r for r in sheet.iter_rows(min_row=4, values_only=True) if r[1] == a_code and r[11] is not None
    )
    assert row[11] == pytest.approx(9_000.0)  # yuan
    assert row[12] == pytest.approx(float(shown.group(2) or 0) / 100)
    assert row[13] == pytest.approx(float(shown.group(3)) / 100)
