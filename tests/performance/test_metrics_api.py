"""The catalog and values through the API, console and CLI: scope-limited, and equal to compute_metrics."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.db.engine import session_factory
from siyu.models import OrgUnit, Staff
from siyu.org.accounts import create_account
from siyu.org.tokens import create_token
from siyu.performance.catalog import METRICS
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import Period, SubjectKind
from siyu.performance.views import format_value
from tests.performance import dataset
from tests.web.conftest import PASSWORD, login

MONTH = Period.month(dataset.MONTH)
CODES = "gmv,orders,conversion_rate,new_contacts,task_on_time_rate"


def _brand(engine: Engine) -> dict[str, str]:
    """Build the dataset and three tokens: all, subtree R1, self S1."""
    with session_factory(engine)() as s:
        dataset.build(s)
        create_account(s, username="boss", password=PASSWORD, role="admin", scope="all")
        create_account(s, username="east", password=PASSWORD, role="manager", scope="subtree", unit_code="R1")
        create_account(s, username="g1", password=PASSWORD, role="guide", scope="self", staff_code="S1")
        tokens = {name: create_token(s, name, "tests") for name in ("boss", "east", "g1")}
        s.commit()
    return tokens


def _get(client: TestClient, token: str, path: str) -> dict[str, Any]:
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_catalog_api_lists_every_metric(client: TestClient, engine: Engine) -> None:
    tokens = _brand(engine)
    body = client.get("/api/v1/metrics", headers={"Authorization": f"Bearer {tokens['g1']}"}).json()
    assert [m["code"] for m in body] == list(METRICS)
    assert body[0]["definition_zh"] and body[0]["subjects"]


def test_values_are_scope_limited_and_equal_compute(client: TestClient, engine: Engine) -> None:
    tokens = _brand(engine)
    with session_factory(engine)() as s:
        r1 = s.scalar(select(OrgUnit).where(OrgUnit.code == "R1"))
        assert r1 is not None
        east_units = set(s.scalars(select(OrgUnit.id).where(OrgUnit.path.startswith(r1.path))))
        s1 = s.scalar(select(Staff.id).where(Staff.code == "S1"))
        assert s1 is not None
        units = compute_metrics(s, CODES.split(","), MONTH, SubjectKind.unit)
        staff = compute_metrics(s, CODES.split(","), MONTH, SubjectKind.staff)
    query = f"/api/v1/metrics/values?codes={CODES}&period=month&date=2026-10-09"
    body = _get(client, tokens["east"], query + "&subject=unit")
    assert {r["subject_id"] for r in body["rows"]} == east_units
    for row in body["rows"]:
        for code in CODES.split(","):
            expected = units.get(code, row["subject_id"])
            got = row["values"].get(code)
            assert (got is None) == (expected is None)
            if expected is not None:
                assert got == {"value": expected.value, "numerator": expected.numerator, "denominator": expected.denominator}  # fmt: skip
    mine = _get(client, tokens["g1"], query + "&subject=staff")
    assert [r["subject_id"] for r in mine["rows"]] == [s1]
    own = staff.get("gmv", s1)
    assert own is not None
    assert mine["rows"][0]["values"]["gmv"]["value"] == own.value
    assert _get(client, tokens["g1"], query + "&subject=unit")["rows"] == []
    denied = client.get(query + "&subject=company", headers={"Authorization": f"Bearer {tokens['east']}"})
    assert denied.status_code == 403
    company = _get(client, tokens["boss"], query + "&subject=company")
    assert [r["subject_id"] for r in company["rows"]] == [0]
    bad = client.get(
        query.replace("codes=gmv", "codes=gmv,nope"), headers={"Authorization": f"Bearer {tokens['boss']}"}
    )
    assert bad.status_code == 404 and "nope" in bad.json()["message"]


def test_console_pages_show_catalog_values(client: TestClient, engine: Engine) -> None:
    _brand(engine)
    assert login(client, "east").status_code in (302, 303)
    page = client.get("/performance/metrics")
    assert page.status_code == 200
    assert set(re.findall(r'data-code="([a-z0-9_]+)"', page.text)) == set(METRICS)
    values = client.get(
        "/performance/metrics/values?codes=gmv&codes=conversion_rate&period=month&date=2026-10-09&subject=unit"
    )
    assert values.status_code == 200, values.text
    with session_factory(engine)() as s:
        table = compute_metrics(s, ["gmv", "conversion_rate"], MONTH, SubjectKind.unit)
        r1 = s.scalar(select(OrgUnit.id).where(OrgUnit.code == "R1"))
    assert r1 is not None
    row = re.search(rf'<tr data-subject="{r1}">(.*?)</tr>', values.text, re.S)
    assert row is not None
    cells = dict(re.findall(r'<td data-code="([a-z_]+)">([^<]*)</td>', row.group(1)))
    assert cells["gmv"] == format_value(METRICS["gmv"], table.get("gmv", r1))
    assert cells["conversion_rate"] == format_value(
        METRICS["conversion_rate"], table.get("conversion_rate", r1)
    )
    assert cells["gmv"] not in ("0", "—")
    # A subtree manager is not offered company-wide values.
    assert 'value="company"' not in values.text


def test_cli_compute_json_matches(cli_env: str, engine: Engine) -> None:
    _brand(engine)
    runner = CliRunner()
    listed = runner.invoke(app, ["metrics", "list"])
    assert listed.exit_code == 0 and "revenue_per_staff" in listed.output
    result = runner.invoke(
        app,
        [
            "metrics",
            "compute",
            "--period",
            "month",
            "--date",
            "2026-10-01",
            "--subject",
            "company",
            "--code",
            "gmv",
            "--code",
            "orders",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    with session_factory(engine)() as s:
        table = compute_metrics(s, ["gmv", "orders"], MONTH, SubjectKind.company)
    gmv, orders = table.get("gmv", 0), table.get("orders", 0)
    assert gmv is not None and orders is not None
    assert body["rows"][0]["values"]["gmv"]["value"] == gmv.value
    assert body["rows"][0]["values"]["orders"]["value"] == orders.value
