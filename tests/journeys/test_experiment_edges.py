"""Experiment console pages, API and CLI over one committed world: same figures everywhere, no early verdict."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from siyu.cli import app
from siyu.db.engine import session_factory
from siyu.journeys.experiment_report import experiment_report
from siyu.org.accounts import create_account
from siyu.org.permissions import SYSTEM_ACTOR
from tests.journeys.experiment_world import T0, add_scripts, touch_world
from tests.web.conftest import PASSWORD, login, page_token


def _account(engine: Engine, username: str, role: str) -> None:
    with session_factory(engine)() as s:
        create_account(s, username=username, password=PASSWORD, role=role, scope="all")
        s.commit()


def _committed(engine: Engine) -> int:
    with session_factory(engine)() as s:
        exp, _, _ = touch_world(s)
        s.commit()
        return exp.id


def test_pages_show_the_report_and_create_an_experiment(client: TestClient, engine: Engine) -> None:
    exp_id = _committed(engine)
    _account(engine, "ops", "operator")
    assert login(client, "ops").status_code == 303
    listing = client.get("/experiments")
    assert listing.status_code == 200 and f'data-experiment="{exp_id}"' in listing.text
    page = client.get(f"/experiments/{exp_id}")
    assert page.status_code == 200
    with session_factory(engine)() as s:
        report = experiment_report(s, SYSTEM_ACTOR, exp_id)
    for arm in report.arms:
        row = page.text.split(f'<tr data-arm="{arm.label}">', 1)[1].split("</tr>", 1)[0]
        assert f'data-key="recipients">{arm.recipients}<' in row
        assert f'data-key="mature">{arm.mature}<' in row
        assert f'data-key="replied">{arm.replied}<' in row
    assert f'data-verdict="{report.verdict}"' in page.text
    assert "data-chart" in page.text and '"boxplot"' in page.text
    # The form: a draft script is refused with a message, approved variants create a draft.
    token = page_token(client, "/experiments/new")
    with session_factory(engine)() as s:
        scripts = add_scripts(s, ["A", "B"])
        s.commit()
    form = {
        "csrf_token": token,
        "name": "欢迎语测试",
        "source_type": "journey_step",
        "metric": "reply",
        "horizon_hours": "48",
        "alpha": "0.05",
        "power": "0.8",
        "baseline_rate": "0.2",
        "mde": "0.05",
        "arm0_label": "A",
        "arm0_script": str(scripts[0]),
        "arm0_weight": "1",
        "arm1_label": "B",
        "arm1_script": "",
    }
    refused = client.post("/experiments", data=form)
    assert refused.status_code == 422 and 'id="form-error"' in refused.text
    created = client.post(
        "/experiments", data={**form, "arm1_script": str(scripts[1])}, follow_redirects=False
    )
    assert created.status_code == 303, created.text
    new_id = int(created.headers["location"].rsplit("/", 1)[1])
    draft = client.get(f"/experiments/{new_id}")
    assert 'id="min-sample">1094<' in draft.text and 'data-verdict="collecting"' in draft.text
    started = client.post(f"/experiments/{new_id}/start", data={"csrf_token": token}, follow_redirects=False)
    assert started.status_code == 303
    assert 'id="stop-experiment"' in client.get(f"/experiments/{new_id}").text


def test_guides_cannot_open_experiments(client: TestClient, engine: Engine) -> None:
    _account(engine, "g", "guide")
    assert login(client, "g").status_code == 303
    assert client.get("/experiments").status_code in (403, 404)


def test_api_and_cli_agree_with_the_service(
    client: TestClient, auth: dict[str, str], engine: Engine, cli_env: str
) -> None:
    exp_id = _committed(engine)
    as_of = T0 + timedelta(days=30)
    body = client.get(
        f"/api/v1/experiments/{exp_id}/report", params={"as_of": as_of.isoformat()}, headers=auth
    )
    assert body.status_code == 200, body.text
    with session_factory(engine)() as s:
        report = experiment_report(s, SYSTEM_ACTOR, exp_id, as_of)
    assert json.loads(body.text)["arms"] == json.loads(report.model_dump_json())["arms"]
    assert body.json()["verdict"] in ("significant", "not_significant")
    listed = client.get("/api/v1/experiments", headers=auth).json()
    assert [e["id"] for e in listed] == [exp_id] and listed[0]["assigned"] == 240
    with session_factory(engine)() as s:
        scripts = add_scripts(s, ["A", "B", "C"])
        s.commit()
    payload = {
        "name": "A/B/C",
        "baseline_rate": 0.1,
        "mde": 0.05,
        "arms": [{"label": x, "script_id": i} for x, i in zip("ABC", scripts, strict=True)],
    }
    made = client.post("/api/v1/experiments", json=payload, headers=auth)
    assert made.status_code == 201, made.text
    assert client.post(f"/api/v1/experiments/{made.json()['id']}/stop", headers=auth).status_code == 409
    started = client.post(f"/api/v1/experiments/{made.json()['id']}/start", headers=auth)
    assert started.json()["status"] == "running"
    assigned = client.post(
        f"/api/v1/experiments/{made.json()['id']}/assign", json={"customer_ids": [1, 2, 3]}, headers=auth
    )
    assert assigned.status_code == 200 and len(assigned.json()) == 3
    runner = CliRunner()
    out = runner.invoke(app, ["journeys", "experiments", "list"])
    assert out.exit_code == 0, out.output
    assert re.search(rf"^{exp_id}\trunning\treply\tassigned=240\t", out.output, re.M)
    shown = runner.invoke(app, ["journeys", "experiments", "report", str(exp_id)])
    assert shown.exit_code == 0, shown.output
    assert "verdict:" in shown.output
    for arm in report.arms:
        assert f"{arm.label}\t{arm.recipients}\t" in shown.output
