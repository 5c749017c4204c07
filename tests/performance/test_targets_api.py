"""Targets over the API and the CLI: create, read with progress, change, bulk, roll-up, score, delete."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.db.engine import session_factory
from siyu.models import KpiSet, Target
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import Period, SubjectKind
from siyu.performance.kpi_seed import SEED_SETS
from tests.performance.test_leaderboard_world import DAY, World, build

MAY = Period.month(DAY)


def _world(engine: Engine) -> World:
    with session_factory(engine)() as s:
        w = build(s)
        s.commit()
    return w


def test_targets_api_round_trip(client: TestClient, engine: Engine, auth: dict[str, str]) -> None:
    w = _world(engine)
    body = {"subject_kind": "staff", "subject_id": w.staff["A"], "metric_code": "gmv", "period_kind": "month",
            "first": DAY.isoformat(), "target_value": 300_000, "incentive_note": "超额奖 5%"}  # fmt: skip
    r = client.post("/api/v1/targets", json=body, headers=auth)
    assert r.status_code == 201, r.text
    created = r.json()
    with session_factory(engine)() as s:
        value = compute_metrics(s, ["gmv"], MAY, SubjectKind.staff).get("gmv", w.staff["A"])
    assert created["actual"] == (value.value if value else 0)
    assert created["first"] == "2026-05-01" and created["last"] == "2026-05-31"
    assert client.post("/api/v1/targets", json=body, headers=auth).status_code == 409
    r = client.put(f"/api/v1/targets/{created['id']}", json={**body, "target_value": 1, "exceed_percent": 150},
                   headers=auth)  # fmt: skip
    assert r.status_code == 200 and r.json()["tier"] == "exceeded" and r.json()["exceed_percent"] == 150
    bulk = {**body, "unit_id": w.units["ST1"], "target_value": 100_000}
    r = client.post("/api/v1/targets/bulk", json=bulk, headers=auth)
    assert r.json() == {"created": 1, "skipped_staff_codes": ["A"]}
    unit = {**body, "subject_kind": "unit", "subject_id": w.units["ST1"], "target_value": 250_000}
    assert client.post("/api/v1/targets", json=unit, headers=auth).status_code == 201
    r = client.get(
        "/api/v1/targets/rollup", params={"unit_id": w.units["ST1"], "first": "2026-05-01"}, headers=auth
    )
    assert r.json() == [{"metric_code": "gmv", "unit_target": 250_000, "staff_sum": 100_001, "staff_count": 2,
                         "gap": -149_999}]  # fmt: skip
    listed = client.get("/api/v1/targets", params={"first": "2026-05-01", "last": "2026-05-31"}, headers=auth)
    assert len(listed.json()) == 3
    r = client.get(
        "/api/v1/targets/score", params={"staff_id": w.staff["A"], "first": "2026-05-01"}, headers=auth
    )
    assert r.status_code == 200 and r.json()["kpi_set_id"] is None  # no KPI set yet
    assert client.get("/api/v1/targets/999999", headers=auth).status_code == 404
    assert client.delete(f"/api/v1/targets/{created['id']}", headers=auth).status_code == 204
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Target)) == 2


def test_cli_seed_show_and_assign(cli_env: str, engine: Engine) -> None:
    _world(engine)
    runner = CliRunner()
    r = runner.invoke(app, ["kpi", "seed", "--effective-from", "2026-01-01"])
    assert r.exit_code == 0, r.output
    assert f"{len(SEED_SETS)} new versions" in r.output
    r = runner.invoke(app, ["kpi", "stage", "growth", "--effective-from", "2026-03-01"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["kpi", "show", "--day", "2026-05-01"])
    assert "stage growth" in r.output and "store_visit_rate" in r.output
    r = runner.invoke(app, ["targets", "assign", "--unit", "ST1", "--metric", "orders", "--value", "10",
                            "--day", DAY.isoformat()])  # fmt: skip
    assert r.exit_code == 0 and "2 targets created" in r.output, r.output
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(KpiSet)) == len(SEED_SETS)
        assert (
            s.scalar(select(func.count()).select_from(Target).where(Target.first_day == date(2026, 5, 1)))
            == 2
        )


def test_every_kpi_route_needs_a_token(client: TestClient) -> None:
    from fastapi.routing import APIRoute

    from siyu.performance.kpi_api import router

    routes = [(m, r.path) for r in router.routes if isinstance(r, APIRoute) for m in r.methods or ()]
    assert len(routes) >= 12
    for method, path in routes:
        response = client.request(
            method,
            "/api/v1"
            + path.replace("{target_id}", "1").replace("{role_code}", "guide").replace("{stage}", "growth"),
        )
        assert response.status_code == 401, (method, path, response.text)
