"""The org advisor over a real database: form prefill against brute-force counts, runs, access, API and CLI."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.cli import app as cli_app
from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.models import (
    AcquisitionSource,
    AuditLog,
    Channel,
    ChannelMembership,
    Customer,
    OrgUnit,
    Staff,
    StaffRole,
    StaffStatus,
)
from siyu.models.talent import AdvisorRun
from siyu.org.accounts import create_account
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.org.service import create_staff, create_unit
from siyu.org.tokens import create_token
from siyu.talent.advisor import ROLE_CODES
from siyu.talent.advisor_service import data_facts
from tests.web.conftest import PASSWORD, login, page_token

NOW = utcnow()
PAST = NOW - timedelta(days=30)
FUTURE = NOW + timedelta(days=30)
ANSWERS = {
    "sales_model": "own_stores",
    "purpose": "sales_channel",
    "stage": "launch",
    "store_count": "2",
    "guide_count": "3",
    "member_share": "0.4",
    "private_revenue_share": "0",
    "traffic_source": "",
    "expertise": "knows",
    "aligned": "1",
    "org_meets_needs": "1",
}


def build(s: Session) -> None:
    """HQ → region R1 (stores SA, SB, closed SC) and department PD; staff with roles; customers with memberships."""
    create_unit(s, code="HQ", name="总部", kind="company")
    create_unit(s, code="R1", name="华东", kind="region", parent_code="HQ")
    create_unit(s, code="PD", name="私域中心", kind="department", parent_code="HQ")
    for code in ("SA", "SB", "SC"):
        create_unit(s, code=code, name=f"{code}店", kind="store", parent_code="R1")
    s.scalars(select(OrgUnit).where(OrgUnit.code == "SC")).one().active = False
    people = {
        "G1": ("SA", ["guide"]),
        "G2": ("SA", ["guide"]),
        "G3": ("SB", ["guide"]),  # leaves below
        "G4": ("SB", ["guide", "store_manager"]),
        "L1": ("PD", ["private_domain_lead"]),
        "C1": ("PD", ["copywriter"]),
        "D1": ("PD", ["data_analyst"]),
    }
    for code, (unit, roles) in people.items():
        create_staff(s, code=code, name=f"员工{code}", unit_code=unit, role_codes=roles)
    s.scalars(select(Staff).where(Staff.code == "G3")).one().status = StaffStatus.left
    store = s.scalars(select(OrgUnit).where(OrgUnit.code == "SA")).one().id

    def customer(*spans: tuple[object, object], merged: bool = False) -> None:
        c = Customer(source=AcquisitionSource.store, home_store_id=store, first_seen_at=PAST)
        s.add(c)
        s.flush()
        if merged:
            c.merged_into_id = c.id
        for joined, left in spans:
            s.add(ChannelMembership(customer_id=c.id, channel=Channel.member, joined_at=joined, left_at=left))

    for _ in range(4):
        customer((PAST, None))  # members now
    customer((PAST, None), (PAST, None))  # two present spans: one member
    customer((PAST, NOW - timedelta(days=1)))  # left the membership
    customer((FUTURE, None))  # joins later
    customer((PAST, None), merged=True)  # merged away: not counted at all
    for _ in range(3):
        customer()
    s.add(
        ChannelMembership(
            customer_id=s.scalars(select(Customer.id).order_by(Customer.id.desc())).first(),
            channel=Channel.wecom,
            joined_at=PAST,
        )
    )  # a present membership of another channel is not a member


def brute(s: Session) -> dict[str, object]:
    """The form's data figures counted row by row in Python."""
    units = s.scalars(select(OrgUnit)).all()
    stores = sum(1 for u in units if u.kind == "store" and u.active)
    active = {st.id for st in s.scalars(select(Staff)).all() if st.status == StaffStatus.active}
    team: dict[str, int] = {}
    for role in s.scalars(select(StaffRole)).all():
        if role.staff_id in active:
            team[role.role_code] = team.get(role.role_code, 0) + 1
    customers = [c for c in s.scalars(select(Customer)).all() if c.merged_into_id is None]
    spans = s.scalars(select(ChannelMembership)).all()
    members = {
        m.customer_id
        for m in spans
        if m.channel == Channel.member and m.joined_at <= NOW and (m.left_at is None or m.left_at > NOW)
    }
    n_members = sum(1 for c in customers if c.id in members)
    return {
        "store_count": stores,
        "guide_count": team.get("guide", 0),
        "members": n_members,
        "customers": len(customers),
        "team": team,
    }


@pytest.fixture()
def world(engine: Engine) -> dict[str, object]:
    with session_factory(engine)() as s:
        build(s)
        for username, role, scope, staff in (
            ("root", "admin", "all", None),
            ("lead", "private_domain_lead", "all", None),
            ("ana", "analyst", "all", None),
            ("gd", "guide", "self", "G1"),
        ):
            create_account(s, username=username, password=PASSWORD, role=role, scope=scope, staff_code=staff)
        s.commit()
        return brute(s)


def fact(html: str, key: str) -> str:
    match = re.search(rf'data-fact="{key}">([^<]*)<', html)
    assert match, key
    return match.group(1)


def input_value(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def test_form_prefills_counts_that_reconcile_with_brute_force(
    client: TestClient, world: dict[str, object], engine: Engine
) -> None:
    assert world["store_count"] == 2 and world["guide_count"] == 3 and world["members"] == 5
    assert world["customers"] == 10
    assert login(client, "root").status_code == 303
    page = client.get("/talent/advisor")
    assert page.status_code == 200
    html = page.text
    assert 'data-source="data"' in html
    assert int(fact(html, "store_count")) == world["store_count"]
    assert int(fact(html, "guide_count")) == world["guide_count"]
    assert int(fact(html, "members")) == world["members"]
    assert int(fact(html, "customers")) == world["customers"]
    assert float(fact(html, "member_share")) == round(5 / 10, 4)
    assert int(input_value(html, "store_count")) == world["store_count"]
    assert float(input_value(html, "member_share")) == 0.5
    team = world["team"]
    assert isinstance(team, dict)
    for code in ROLE_CODES:
        assert int(input_value(html, f"team.{code}")) == team.get(code, 0), code
    with session_factory(engine)() as s:
        facts = data_facts(s, SYSTEM_ACTOR, NOW)
    assert facts.team == {k: v for k, v in team.items() if k in ROLE_CODES}


def test_submitted_form_stores_a_run_and_shows_reasons(
    client: TestClient, world: dict[str, object], engine: Engine
) -> None:
    assert login(client, "lead").status_code == 303
    token = page_token(client, "/talent/advisor")
    form = {**ANSWERS, "csrf_token": token, "team.guide": "3", "note": "首次诊断"}
    posted = client.post("/talent/advisor", data=form, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    location = posted.headers["location"]
    with session_factory(engine)() as s:
        run = s.scalars(select(AdvisorRun)).one()
        assert location == f"/talent/advisor/runs/{run.id}"
        assert run.answers["store_count"] == 2 and run.answers["current_team"] == {"guide": 3}
        assert run.note == "首次诊断"
        assert run.result["structure"] == "team_in_sales"
        audit_rows = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "talent.advisor.run")
        )
        assert audit_rows == 1
        codes = [r["code"] for r in run.result["reasons"]] + [r["code"] for r in run.result["traps"]]
        quotes = [r["citation"]["quote"] for r in run.result["reasons"]]
    result = client.get(location)
    assert result.status_code == 200
    html = result.text
    assert 'data-value="team_in_sales"' in html
    for code in codes:
        assert f'data-reason="{code}"' in html, code
    assert "trap.theory_only_operator" in codes
    for quote in quotes:
        assert quote in html
    team = world["team"]
    assert isinstance(team, dict)
    for code, current in re.findall(r'data-role="(\w+)">.*?data-key="current">(\d+)<', html, re.S):
        assert int(current) == team.get(code, 0), code
    assert re.search(r'data-role="guide">.*?data-key="recommended">3<', html, re.S)
    # The form now starts from this run.
    again = client.get("/talent/advisor").text
    assert f'data-source="run:{run.id}"' in again
    listing = client.get("/talent/advisor/runs").text
    assert f'data-run="{run.id}"' in listing


def test_invalid_answers_show_the_field_error_and_store_nothing(
    client: TestClient, world: dict[str, object], engine: Engine
) -> None:
    assert login(client, "root").status_code == 303
    token = page_token(client, "/talent/advisor")
    form = {**ANSWERS, "member_share": "1.5", "store_count": "0", "csrf_token": token}
    posted = client.post("/talent/advisor", data=form)
    assert posted.status_code == 422
    assert 'data-error="member_share"' in posted.text and 'data-error="store_count"' in posted.text
    assert 'value="1.5"' in posted.text  # the answer is kept for correction
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(AdvisorRun)) == 0


def test_analyst_may_read_but_not_submit(
    client: TestClient, world: dict[str, object], engine: Engine
) -> None:
    assert login(client, "ana").status_code == 303
    page = client.get("/talent/advisor")
    assert page.status_code == 200
    assert 'id="advisor-read-only"' in page.text and 'id="advisor-form"' not in page.text
    token = page_token(client, "/talent/advisor")
    posted = client.post("/talent/advisor", data={**ANSWERS, "csrf_token": token})
    assert posted.status_code == 403
    assert client.get("/talent/advisor/runs").status_code == 200
    with session_factory(engine)() as s:
        bearer = create_token(s, "ana", "tests")
        s.commit()
        assert s.scalar(select(func.count()).select_from(AdvisorRun)) == 0
    headers = {"Authorization": f"Bearer {bearer}"}
    body = {"answers": {"sales_model": "ecommerce", "purpose": "sales_channel"}}
    assert client.post("/api/v1/talent/advisor", json=body, headers=headers).status_code == 403
    assert client.get("/api/v1/talent/advisor/runs", headers=headers).status_code == 200


def test_guide_gets_403(client: TestClient, world: dict[str, object], engine: Engine) -> None:
    assert login(client, "gd").status_code == 303
    assert client.get("/talent/advisor").status_code == 403
    assert client.get("/talent/advisor/runs").status_code == 403
    with session_factory(engine)() as s:
        bearer = create_token(s, "gd", "tests")
        s.commit()
    assert (
        client.get("/api/v1/talent/advisor/runs", headers={"Authorization": f"Bearer {bearer}"}).status_code
        == 403
    )


def test_api_runs_and_reads_the_advisor(client: TestClient, auth: dict[str, str], engine: Engine) -> None:
    body = {"answers": {"sales_model": "distributors", "purpose": "user_cultivation"}, "note": "饮料"}
    created = client.post("/api/v1/talent/advisor", json=body, headers=auth)
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["advice"]["structure"] == "team_in_marketing"
    assert run["advice"]["traps"][0]["code"] == "trap.sales_harvest"
    assert run["advice"]["reasons"][0]["citation"]["seed"].startswith("004_")
    listed = client.get("/api/v1/talent/advisor/runs", headers=auth).json()["items"]
    assert [r["id"] for r in listed] == [run["id"]]
    assert client.get(f"/api/v1/talent/advisor/runs/{run['id']}", headers=auth).json()["note"] == "饮料"
    assert client.get("/api/v1/talent/advisor/runs/999999", headers=auth).status_code == 404
    bad = client.post(
        "/api/v1/talent/advisor",
        json={"answers": {"sales_model": "x", "purpose": "sales_channel"}},
        headers=auth,
    )
    assert bad.status_code == 422
    assert bad.json()["details"][0]["field"] == "sales_model"
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(AdvisorRun)) == 1


def test_cli_prints_the_advice_and_saves_on_request(cli_env: str, tmp_path: Path, engine: Engine) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(
        json.dumps(
            {"sales_model": "own_stores", "purpose": "sales_channel", "store_count": 3000, "pilot": True}
        ),
        encoding="utf-8",
    )
    runner = CliRunner()
    printed = runner.invoke(cli_app, ["talent", "advise", str(answers), "--lang", "en"])
    assert printed.exit_code == 0, printed.output
    assert "structure: virtual_project_team" in printed.output and "[structure.pilot]" in printed.output
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(AdvisorRun)) == 0
    saved = runner.invoke(cli_app, ["talent", "advise", str(answers), "--save"])
    assert saved.exit_code == 0, saved.output
    assert "saved as advisor run" in saved.output
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(AdvisorRun)) == 1
    answers.write_text(
        json.dumps({"sales_model": "own_stores", "purpose": "sales_channel"}), encoding="utf-8"
    )
    failed = runner.invoke(cli_app, ["talent", "advise", str(answers)])
    assert failed.exit_code != 0 and "store_count" in str(failed.exception)
