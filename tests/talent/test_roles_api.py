"""/api/v1/talent/roles: list with holder counts per scope, detail with holders and JD, edits, permissions, CLI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from siyu.cli import app as cli_app
from siyu.db.engine import session_factory
from siyu.models import AuditLog, OrgUnit
from siyu.performance.catalog import METRICS
from siyu.talent.roles_catalog import shipped_by_code, shipped_catalog
from tests.talent.roles_support import Org, build_org
from tests.talent.test_roles_catalog import brute_holders

BASE = "/api/v1/talent/roles"


@pytest.fixture()
def org(engine: Engine) -> Org:
    return build_org(engine)


def test_list_matches_the_catalog_and_counts_reconcile_per_scope(
    client: TestClient, org: Org, engine: Engine
) -> None:
    with session_factory(engine)() as s:
        r1 = s.scalar(select(OrgUnit.path).where(OrgUnit.code == "r1"))
        expected = {"admin": brute_holders(s, None), "manager": brute_holders(s, r1)}
    for username, brute in expected.items():
        body = client.get(BASE, headers=org.token(username)).json()
        assert [r["code"] for r in body] == [e.code for e in shipped_catalog()]
        for row in body:
            assert row["holder_count"] == len(brute.get(row["code"], set())), (username, row["code"])
    guide = client.get(BASE, headers=org.token("guide")).json()
    assert {r["code"]: r["holder_count"] for r in guide if r["holder_count"]} == {"guide": 1}
    assert sum(r["position"] == "lead" for r in guide) == 9


def test_detail_has_holders_in_scope_and_a_jd(client: TestClient, org: Org) -> None:
    body = client.get(f"{BASE}/guide", headers=org.token("manager")).json()
    assert sorted(h["staff_code"] for h in body["holders"]) == ["g1", "g2", "sm1"]
    assert body["holder_count"] == 3 and body["stage"] == "launch" and body["kpi_set"] == []
    entry = shipped_by_code()["guide"]
    assert all(d in body["job_description"] for d in entry.duties)
    assert all(METRICS[m].name_zh in body["job_description"] for m in entry.kpi_metric_codes)
    english = client.get(f"{BASE}/guide", params={"locale": "en"}, headers=org.token("manager")).json()
    assert english["job_description"].startswith("Position: Digital store guide")
    missing = client.get(f"{BASE}/nope", headers=org.token("manager"))
    assert missing.status_code == 404 and "'nope'" in missing.json()["message"]


def test_edit_create_deactivate_reset_through_the_api(client: TestClient, org: Org, engine: Engine) -> None:
    lead = org.token("lead")
    bad = client.put(f"{BASE}/guide", json={"kpi_metric_codes": ["gmv", "roi"]}, headers=lead)
    assert (
        bad.status_code == 422
        and "kpi_metric_codes" in bad.json()["message"]
        and "roi" in bad.json()["message"]
    )
    ok = client.put(
        f"{BASE}/guide", json={"name_en": "Online guide", "kpi_metric_codes": ["gmv"]}, headers=lead
    )
    assert (
        ok.status_code == 200
        and ok.json()["name_en"] == "Online guide"
        and ok.json()["kpi_metric_codes"] == ["gmv"]
    )
    off = client.put(f"{BASE}/guide", json={"active": False}, headers=lead).json()
    assert off["active"] is False and off["name_en"] == "Online guide"
    assert "guide" not in [r["code"] for r in client.get(BASE, headers=lead).json()]
    assert "guide" in [
        r["code"] for r in client.get(BASE, params={"include_inactive": True}, headers=lead).json()
    ]
    reset = client.post(f"{BASE}/guide/reset", headers=lead).json()
    assert reset["name_en"] == shipped_by_code()["guide"].name_en and reset["active"] is True
    new = {
        "code": "group_leader",
        "name_zh": "社群团长",
        "name_en": "Group leader",
        "definition_zh": "带动社群活跃的用户代表。",
        "duties": ["维护社群氛围"],
        "competencies": ["亲和力"],
        "value_stages": ["repurchase_fission"],
    }
    created = client.post(BASE, json=new, headers=lead)
    assert created.status_code == 201 and created.json()["builtin"] is False
    assert client.post(BASE, json=new, headers=lead).status_code == 409
    assert client.post(f"{BASE}/group_leader/reset", headers=lead).status_code == 422
    with session_factory(engine)() as s:
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.action.like("talent.role.%")).order_by(AuditLog.id)
        ).all()
    assert actions == [
        "talent.role.edit",
        "talent.role.deactivate",
        "talent.role.reset",
        "talent.role.create",
    ]


def test_guide_reads_but_cannot_write(client: TestClient, org: Org, engine: Engine) -> None:
    guide = org.token("guide")
    assert client.get(f"{BASE}/designer", headers=guide).status_code == 200
    denied = client.put(f"{BASE}/designer", json={"name_zh": "x"}, headers=guide)
    assert denied.status_code == 403 and "may not edit the role map" in denied.json()["message"]
    assert client.post(f"{BASE}/designer/reset", headers=guide).status_code == 403
    assert client.put(f"{BASE}/designer", json={"active": False}, headers=guide).status_code == 403
    with session_factory(engine)() as s:
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action.like("talent.%"))) == 0
        )


def test_cli_lists_shows_and_prints_a_jd(cli_env: str, org: Org) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["talent", "roles", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == [e.code for e in shipped_catalog()]
    guide_line = next(line for line in lines if line.startswith("guide "))
    assert guide_line.split()[4] == "4"  # g1, g2, g3, sm1 (g4 has left)
    shown = runner.invoke(cli_app, ["talent", "roles", "show", "ad_buyer"])
    assert shown.exit_code == 0 and "品牌市场投放" in shown.output and "new_contacts (加粉数)" in shown.output
    jd = runner.invoke(cli_app, ["talent", "roles", "jd", "copywriter"])
    assert jd.exit_code == 0 and jd.output.startswith("职位：文案策划")
    missing = runner.invoke(cli_app, ["talent", "roles", "show", "nope"])
    assert missing.exit_code != 0
