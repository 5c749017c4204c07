"""The cycle API (/api/v1/talent/...) and `siyu talent cycles …`: same service, same scope, same numbers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.db.engine import session_factory
from siyu.models.talent import Assessment, CompetencyModel
from siyu.org.tokens import create_token
from siyu.talent.assessment_logic import parse_thresholds, score
from siyu.talent.competency import dimensions_of
from tests.talent.cycle_world import ASSESSED, R1_SUBTREE, World, build


@pytest.fixture()
def world(engine: Engine) -> World:
    return build(engine)


def _token(engine: Engine, username: str) -> dict[str, str]:
    with session_factory(engine)() as s:
        token = create_token(s, username, "tests")
        s.commit()
    return {"Authorization": f"Bearer {token}"}


def test_api_create_list_score_submit_and_scope(client: TestClient, engine: Engine, world: World) -> None:
    lead, region, store, guide = (_token(engine, u) for u in ("lead", "region", "store", "guide"))
    body = {
        "name": "2026 Q3",
        "first_day": "2026-07-01",
        "last_day": "2026-09-30",
        "thresholds": {"promote_min": 4.0},
    }
    assert client.post("/api/v1/talent/cycles", json=body, headers=region).status_code == 403
    bad = client.post("/api/v1/talent/cycles", json={**body, "last_day": "2026-06-01"}, headers=lead)
    assert bad.status_code == 422
    created = client.post("/api/v1/talent/cycles", json=body, headers=lead)
    assert created.status_code == 201, created.text
    cycle = created.json()
    assert cycle["assessments"] == len(ASSESSED) and cycle["thresholds"]["promote_min"] == 4.0
    listed = client.get("/api/v1/talent/cycles", headers=region).json()
    assert listed[0]["assessments"] == len(R1_SUBTREE)
    assert client.get("/api/v1/talent/cycles", headers=guide).status_code == 403
    people = client.get(f"/api/v1/talent/cycles/{cycle['id']}/assessments", headers=region).json()
    assert {p["staff_id"] for p in people} == {world.staff[c] for c in R1_SUBTREE}
    target = next(p for p in people if p["staff_id"] == world.staff["G3"])
    with session_factory(engine)() as s:
        model = s.get(CompetencyModel, target["competency_model_id"])
        assert model is not None
        dims = dimensions_of(model)
    scores = {d.code: {"score": 1 + i % 5, "comment": "ok"} for i, d in enumerate(dims)}
    url = f"/api/v1/talent/assessments/{target['id']}"
    assert (
        client.put(f"{url}/scores", json={"scores": scores}, headers=store).status_code == 404
    )  # other store
    assert (
        client.put(f"{url}/scores", json={"scores": {dims[0].code: {"score": 6}}}, headers=region).status_code
        == 422
    )
    saved = client.put(f"{url}/scores", json={"scores": scores}, headers=region)
    assert saved.status_code == 200 and len(saved.json()["scores"]) == len(dims)
    done = client.post(f"{url}/submit", headers=region)
    assert done.status_code == 200
    expected = score(dims, {k: v["score"] for k, v in scores.items()}, parse_thresholds({"promote_min": 4.0}))
    assert done.json()["outcome"] == expected.outcome.value
    assert done.json()["weighted_score"] == expected.weighted_score
    assert client.post(f"{url}/submit", headers=region).status_code == 422
    own = next(p for p in people if p["staff_id"] == world.staff["RM1"])
    refused = client.put(
        f"/api/v1/talent/assessments/{own['id']}/scores", json={"scores": scores}, headers=region
    )
    assert refused.status_code == 403


def test_cli_open_list_export_close(cli_env: str, engine: Engine, world: World, tmp_path: Path) -> None:
    runner = CliRunner()
    opened = runner.invoke(app, ["talent", "cycles", "open", "--name", "2026 Q3", "--from", "2026-07-01",
                                 "--to", "2026-09-30"])  # fmt: skip
    assert opened.exit_code == 0, opened.output
    assert f"{len(ASSESSED)} draft assessments" in opened.output
    listed = runner.invoke(app, ["talent", "cycles", "list"])
    assert "2026 Q3" in listed.output and f"0/{len(ASSESSED)} submitted" in listed.output
    out = tmp_path / "cycle.csv"
    exported = runner.invoke(app, ["talent", "cycles", "export", "1", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    with session_factory(engine)() as s:
        ids = set(s.scalars(select(Assessment.id).where(Assessment.cycle_id == 1)))
    assert {int(r["assessment_id"]) for r in rows} == ids
    assert runner.invoke(app, ["talent", "cycles", "close", "1"]).exit_code == 0
    again = runner.invoke(app, ["talent", "cycles", "close", "1"])
    assert again.exit_code != 0
    bad = runner.invoke(
        app, ["talent", "cycles", "open", "--name", "x", "--from", "2026-13-01", "--to", "2026-09-30"]
    )
    assert bad.exit_code != 0
