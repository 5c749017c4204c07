"""Cycle pages end to end: open → score → submit through the forms, scope, counts, calibration, export, history."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.models import AuditLog
from siyu.models.talent import (
    Assessment,
    AssessmentCycle,
    AssessmentOutcome,
    AssessmentStatus,
    CompetencyModel,
)
from siyu.talent.assessment_logic import parse_thresholds, score
from siyu.talent.competency import dimensions_of
from tests.talent.cycle_world import ASSESSED, R1_SUBTREE, World, build
from tests.web.conftest import csrf_from, login, page_token


@pytest.fixture()
def world(engine: Engine) -> World:
    return build(engine)


def _open_via_form(client: TestClient, name: str = "2026 Q3", **extra: str) -> int:
    token = page_token(client, "/talent/cycles")
    data = {"name": name, "first_day": "2026-07-01", "last_day": "2026-09-30", "promote_min": "4.2",
            "keep_min": "3.4", "transfer_min": "2.6", "csrf_token": token, **extra}  # fmt: skip
    r = client.post("/talent/cycles", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text[:2000]
    return int(r.headers["location"].rsplit("/", 1)[1])


def _assessment_of(engine: Engine, cycle_id: int, staff_id: int) -> Assessment:
    with session_factory(engine)() as s:
        found = s.scalar(
            select(Assessment).where(Assessment.cycle_id == cycle_id, Assessment.staff_id == staff_id)
        )
        assert found is not None
        s.expunge(found)
        return found


def _dims(engine: Engine, a: Assessment):  # type: ignore[no-untyped-def]
    with session_factory(engine)() as s:
        model = s.get(CompetencyModel, a.competency_model_id)
        assert model is not None
        return dimensions_of(model)


def _score_form(client: TestClient, aid: int, scores: dict[str, int], action: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/talent/assessments/{aid}")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.text), "action": action}
    for code, value in scores.items():
        data[f"score_{code}"] = str(value)
        data[f"comment_{code}"] = f"comment on {code}"
    return client.post(f"/talent/assessments/{aid}", data=data, follow_redirects=False)


def _score_all(
    client: TestClient, engine: Engine, cycle_id: int, world: World, given: dict[str, int]
) -> None:
    """Submit one assessment per staff code with every dimension scored the given value."""
    for code, value in given.items():
        a = _assessment_of(engine, cycle_id, world.staff[code])
        scores = {d.code: value if i else max(1, value - 1) for i, d in enumerate(_dims(engine, a))}
        assert _score_form(client, a.id, scores, "submit").status_code == 303


def test_flow_open_score_submit_shows_score_of_inputs(
    client: TestClient, engine: Engine, world: World
) -> None:
    assert login(client, "lead").status_code == 303
    cycle_id = _open_via_form(client)
    page = client.get(f"/talent/cycles/{cycle_id}")
    assert page.status_code == 200 and "<script>" not in page.text
    assert len(re.findall(r'<tr data-assessment="', page.text)) == len(ASSESSED)
    a = _assessment_of(engine, cycle_id, world.staff["G1"])
    dims = _dims(engine, a)
    scores = {d.code: 1 + (i * 2) % 5 for i, d in enumerate(dims)}
    form = client.get(f"/talent/assessments/{a.id}").text
    for d in dims:  # anchors 1..5 and a radio per score
        assert all(anchor in form for anchor in d.anchors)
        assert len(re.findall(rf'name="score_{d.code}" value="[1-5]"', form)) == 5
    # A draft save keeps the scores without an outcome.
    partial = {dims[0].code: scores[dims[0].code]}
    assert _score_form(client, a.id, partial, "save").status_code == 303
    assert _assessment_of(engine, cycle_id, world.staff["G1"]).status is AssessmentStatus.draft
    # Submitting with a dimension missing is refused with the reason, and nothing is finalised.
    r = _score_form(client, a.id, partial, "submit")
    assert r.status_code == 422 and "not scored yet" in r.text
    assert _score_form(client, a.id, scores, "submit").status_code == 303
    expected = score(dims, scores, parse_thresholds(None))
    shown = client.get(f"/talent/assessments/{a.id}").text
    block = re.search(r'<div id="outcome" data-outcome="(\w+)" data-score="([\d.]+)"', shown)
    assert block is not None
    assert block.group(1) == expected.outcome.value
    assert block.group(2) == f"{expected.weighted_score:.2f}"
    assert expected.explanation_zh in shown
    row = re.search(
        rf'data-assessment="{a.id}"[^>]*data-status="submitted" data-outcome="(\w+)"',
        client.get(f"/talent/cycles/{cycle_id}").text,
    )
    assert row is not None and row.group(1) == expected.outcome.value
    with session_factory(engine)() as s:
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.action.like("talent.%"))))
    assert {"talent.cycle.open", "talent.assessment.save", "talent.assessment.submit"} <= actions


def test_open_form_errors_and_rights(client: TestClient, engine: Engine, world: World) -> None:
    login(client, "lead")
    token = page_token(client, "/talent/cycles")
    bad = {"name": "x", "first_day": "2026-09-30", "last_day": "2026-07-01", "promote_min": "4.2",
           "keep_min": "3.4", "transfer_min": "2.6", "csrf_token": token}  # fmt: skip
    r = client.post("/talent/cycles", data=bad)
    assert r.status_code == 422 and 'id="form-error"' in r.text
    client.post("/logout", data={"csrf_token": token})
    login(client, "region")
    page = client.get("/talent/cycles")
    assert page.status_code == 200 and 'id="cycle-form"' not in page.text
    r = client.post("/talent/cycles", data={**bad, "last_day": "2026-09-30", "first_day": "2026-07-01",
                                           "csrf_token": csrf_from(page.text)})  # fmt: skip
    assert r.status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    login(client, "guide")
    assert client.get("/talent/cycles").status_code == 403
    assert client.get("/talent/staff/1").status_code == 403


def test_scope_region_store_and_self(client: TestClient, engine: Engine, world: World) -> None:
    login(client, "lead")
    cycle_id = _open_via_form(client)
    token = page_token(client, "/talent/cycles")
    client.post("/logout", data={"csrf_token": token})
    login(client, "region")
    page = client.get(f"/talent/cycles/{cycle_id}").text
    seen = {int(s) for s in re.findall(r'data-staff="(\d+)"', page)}
    assert seen == {world.staff[c] for c in R1_SUBTREE}
    assert (
        client.get(
            f"/talent/assessments/{_assessment_of(engine, cycle_id, world.staff['G4']).id}"
        ).status_code
        == 404
    )
    token = page_token(client, "/talent/cycles")
    client.post("/logout", data={"csrf_token": token})
    login(client, "store")
    other = _assessment_of(engine, cycle_id, world.staff["G3"])  # another store of the same region
    assert client.get(f"/talent/assessments/{other.id}").status_code == 404
    token = page_token(client, "/talent/cycles")
    r = client.post(f"/talent/assessments/{other.id}", data={"csrf_token": token, "action": "save"})
    assert r.status_code == 404
    assert client.get(f"/talent/staff/{world.staff['G3']}").status_code == 404
    own = _assessment_of(engine, cycle_id, world.staff["SM1"])
    page = client.get(f"/talent/assessments/{own.id}")
    assert page.status_code == 200 and 'id="refusal"' in page.text and 'value="submit"' not in page.text
    r = _score_form(client, own.id, {d.code: 5 for d in _dims(engine, own)}, "submit")
    assert r.status_code == 403
    assert _assessment_of(engine, cycle_id, world.staff["SM1"]).status is AssessmentStatus.draft


def _brute(
    engine: Engine, cycle_id: int, staff_ids: set[int] | None = None
) -> tuple[Counter[str], dict[int, Counter[str]]]:
    with session_factory(engine)() as s:
        rows = s.scalars(select(Assessment).where(Assessment.cycle_id == cycle_id)).all()
    overall: Counter[str] = Counter()
    teams: dict[int, Counter[str]] = {}
    for a in rows:
        if staff_ids is not None and a.staff_id not in staff_ids:
            continue
        key = a.outcome.value if a.status is AssessmentStatus.submitted and a.outcome else "pending"
        overall[a.status.value] += 1
        overall[key] += 1
        teams.setdefault(a.unit_id, Counter())[key] += 1
    return overall, teams


def test_counts_calibration_and_export_reconcile(client: TestClient, engine: Engine, world: World) -> None:
    login(client, "lead")
    cycle_id = _open_via_form(client)
    _score_all(client, engine, cycle_id, world, {"G1": 5, "G2": 4, "G3": 2, "SM3": 3, "U1": 1, "RM1": 4})
    for who, staff in (("lead", None), ("region", {world.staff[c] for c in R1_SUBTREE})):
        if who == "region":
            token = page_token(client, "/talent/cycles")
            client.post("/logout", data={"csrf_token": token})
            login(client, "region")
        overall, teams = _brute(engine, cycle_id, staff)
        page = client.get(f"/talent/cycles/{cycle_id}").text
        progress = page[page.index('id="progress"') :]
        for key in ("draft", "submitted", *(o.value for o in AssessmentOutcome)):
            found = re.search(rf'data-key="{key}">(\d+)<', progress)
            assert found is not None and int(found.group(1)) == overall[key], (who, key)
        total = re.search(r'data-key="total">(\d+)<', progress)
        assert total is not None and int(total.group(1)) == overall["draft"] + overall["submitted"]
        # The outcome filter lists exactly the brute-force rows.
        for o in AssessmentOutcome:
            filtered = client.get(f"/talent/cycles/{cycle_id}?outcome={o.value}").text
            assert len(re.findall(r"<tr data-assessment=", filtered)) == overall[o.value]
        calibration = client.get(f"/talent/cycles/{cycle_id}/calibration")
        assert calibration.status_code == 200 and "data-chart" in calibration.text
        for unit_id, counts in teams.items():
            row = re.search(rf'<tr data-team="{unit_id}">(.*?)</tr>', calibration.text, re.S)
            assert row is not None
            for key in ("pending", *(o.value for o in AssessmentOutcome)):
                cell = re.search(rf'data-key="{key}">(\d+)<', row.group(1))
                assert cell is not None and int(cell.group(1)) == counts[key], (who, unit_id, key)
        assert len(re.findall(r"<tr data-team=", calibration.text)) == len(teams)
        # Export cells equal the page's cells.
        export = client.get(f"/talent/cycles/{cycle_id}/export?format=csv")
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
        page_rows = re.findall(
            r'<tr data-assessment="(\d+)" data-staff="\d+" data-status="(\w+)" data-outcome="(\w*)">.*?'
            r'data-key="name"><a [^>]*>([^<]+)</a>.*?data-key="unit">([^<]*)<.*?data-key="score">([^<]*)<',
            page,
            re.S,
        )
        assert len(rows) == len(page_rows) == overall["draft"] + overall["submitted"]
        for r, (aid, _status, outcome, name, unit, shown) in zip(rows, page_rows, strict=True):
            assert r["assessment_id"] == aid and r["staff_name"] == name and r["unit"] == unit
            assert r["outcome"] == outcome and (r["weighted_score"] or "—") == shown
        xlsx = client.get(f"/talent/cycles/{cycle_id}/export?format=xlsx")
        book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
        assert book.active is not None and book.active.max_row == len(rows) + 1
    with session_factory(engine)() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "talent.cycle.export")
            )
            == 4
        )


def test_closed_cycle_rejects_edits_and_history_lists_every_cycle(
    client: TestClient, engine: Engine, world: World
) -> None:
    login(client, "lead")
    first = _open_via_form(client, "2026 Q2", first_day="2026-04-01", last_day="2026-06-30")
    _score_all(client, engine, first, world, {"G1": 4})
    token = page_token(client, f"/talent/cycles/{first}")
    assert (
        client.post(
            f"/talent/cycles/{first}/close", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    second = _open_via_form(client)
    _score_all(client, engine, second, world, {"G1": 2})
    closed = _assessment_of(engine, first, world.staff["G1"])
    page = client.get(f"/talent/assessments/{closed.id}").text
    assert 'id="closed-note"' in page and 'value="submit"' not in page
    r = _score_form(client, closed.id, {d.code: 3 for d in _dims(engine, closed)}, "save")
    assert r.status_code == 422 and "closed" in r.text
    token = page_token(client, "/talent/cycles")
    assert (
        client.post(f"/talent/assessments/{closed.id}/reopen", data={"csrf_token": token}).status_code == 422
    )
    history = client.get(f"/talent/staff/{world.staff['G1']}").text
    with session_factory(engine)() as s:
        cycles = s.scalars(select(Assessment.cycle_id).where(Assessment.staff_id == world.staff["G1"])).all()
        names = dict(s.execute(select(AssessmentCycle.id, AssessmentCycle.name)).all())
    listed = [int(c) for c in re.findall(r'<tr data-cycle="(\d+)"', history)]
    assert sorted(listed) == sorted(cycles) and len(listed) == 2
    assert listed == [first, second]  # oldest period first
    for cycle_id in cycles:
        a = _assessment_of(engine, cycle_id, world.staff["G1"])
        row = re.search(
            rf'data-assessment="{a.id}" data-outcome="(\w*)">.*?data-key="score">([^<]*)<', history, re.S
        )
        assert row is not None and row.group(1) == (a.outcome.value if a.outcome else "")
        assert row.group(2) == f"{a.weighted_score:.2f}" and names[cycle_id] in history
    assert "data-chart" in history
