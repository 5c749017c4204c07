"""/api/v1/insights: scoped figures against brute-force counts, 404 out of scope, settings round trip."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from siyu.db.engine import session_factory
from siyu.org.tokens import create_token
from tests.insights.console_data import AS_OF, DAY_BEFORE, MONTH_AGO, Brand, build_brand

SCOPES = {"admin": "all", "guide": "g1", "store": "sh01"}


@pytest.fixture()
def brand(engine: Engine) -> Brand:
    return build_brand(engine)


@pytest.fixture()
def headers(engine: Engine, brand: Brand) -> dict[str, dict[str, str]]:
    out = {}
    with session_factory(engine)() as s:
        for username in ("admin", "operator", "analyst", "guide", "store"):
            out[username] = {"Authorization": f"Bearer {create_token(s, username, 'tests')}"}
        s.commit()
    return out


def test_latest_run(client: TestClient, brand: Brand, headers: dict[str, dict[str, str]]) -> None:
    body = client.get("/api/v1/insights/runs/latest", headers=headers["guide"]).json()
    assert body["id"] == brand.run_id and body["as_of"] == AS_OF.isoformat()
    assert body["models"]["bgnbd"]["r"] == 0.6
    assert client.get("/api/v1/insights/runs/latest").status_code == 401


def test_no_run_is_a_404(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/api/v1/insights/runs/latest", headers=auth)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.parametrize("username", ["admin", "guide", "store"])
def test_rfm_is_scoped(
    client: TestClient, brand: Brand, headers: dict[str, dict[str, str]], username: str
) -> None:
    body = client.get("/api/v1/insights/rfm", headers=headers[username]).json()
    ids = brand.scope_ids(SCOPES[username])
    expected = Counter(
        r["rfm_segment"] for r in brand.insights if r["customer_id"] in ids and r["rfm_segment"]
    )
    assert {s["segment"]: s["customers"] for s in body["segments"]} == dict(expected)
    assert body["scored"] == sum(expected.values())
    money = {s["segment"]: s["monetary_fen"] for s in body["segments"]}
    for segment in expected:
        assert money[segment] == sum(
            r["monetary_fen"]
            for r in brand.insights
            if r["customer_id"] in ids and r["rfm_segment"] == segment
        )
    assert body["definition"]["window_days"] == 365 and body["definition"]["cuts"]["frequency"] == 2.2


@pytest.mark.parametrize("username", ["admin", "guide"])
def test_movement_is_scoped(
    client: TestClient, brand: Brand, headers: dict[str, dict[str, str]], username: str
) -> None:
    query = f"/api/v1/insights/movement?from={MONTH_AGO.isoformat()}&to={DAY_BEFORE.isoformat()}"
    body = client.get(query, headers=headers[username]).json()
    ids = brand.scope_ids(SCOPES[username])
    a = {cid: seg for d, cid, seg in brand.snapshots if d == MONTH_AGO and cid in ids}
    b = {cid: seg for d, cid, seg in brand.snapshots if d == DAY_BEFORE and cid in ids}
    expected = Counter((a.get(c), b.get(c)) for c in set(a) | set(b))
    assert {(c["from_segment"], c["to_segment"]): c["customers"] for c in body["cells"]} == dict(expected)


def test_movement_needs_computed_days(
    client: TestClient, brand: Brand, headers: dict[str, dict[str, str]]
) -> None:
    response = client.get("/api/v1/insights/movement?from=2020-01-01&to=2026-03-31", headers=headers["admin"])
    assert response.status_code == 422 and "'from'" in response.json()["message"]
    assert (
        client.get("/api/v1/insights/movement?from=2026-03-31", headers=headers["admin"]).status_code == 422
    )


def test_customer_scores_and_scope_404(
    client: TestClient, brand: Brand, headers: dict[str, dict[str, str]]
) -> None:
    ids = brand.scope_ids("g1")
    inside = next(r for r in brand.insights if r["customer_id"] in ids)
    outside = next(r for r in brand.insights if r["customer_id"] not in ids)
    body = client.get(f"/api/v1/insights/customers/{inside['customer_id']}", headers=headers["guide"]).json()
    assert body["scores"]["p_alive"] == inside["p_alive"] and body["scores"]["clv_fen"] == inside["clv_fen"]
    assert body["scores"]["rfm_segment"] == inside["rfm_segment"]
    changes = [c for c in brand.changes if c["customer_id"] == inside["customer_id"]]
    assert len(body["lifecycle"]) == len(changes)
    opened = [
        w for w in brand.warnings if w["customer_id"] == inside["customer_id"] and w["status"] == "open"
    ]
    assert (body["open_warning"] is not None) == bool(opened)
    response = client.get(f"/api/v1/insights/customers/{outside['customer_id']}", headers=headers["guide"])
    assert response.status_code == 404
    unknown = client.get("/api/v1/insights/customers/999999", headers=headers["guide"])
    assert unknown.status_code == 404 and unknown.json() == {**unknown.json(), "code": "not_found"}
    assert (
        client.get(
            f"/api/v1/insights/customers/{outside['customer_id']}", headers=headers["admin"]
        ).status_code
        == 200
    )


@pytest.mark.parametrize("username", ["admin", "guide", "store"])
def test_warnings_are_scoped(
    client: TestClient, brand: Brand, headers: dict[str, dict[str, str]], username: str
) -> None:
    ids = brand.scope_ids(SCOPES[username])
    mine = [w for w in brand.warnings if w["customer_id"] in ids]
    body = client.get("/api/v1/insights/warnings?limit=200", headers=headers[username]).json()
    assert body["total"] == len(mine) and {w["id"] for w in body["items"]} == {w["id"] for w in mine}
    assert body["day"] == max(w["warned_on"] for w in mine).isoformat()
    opened = client.get("/api/v1/insights/warnings?status=open", headers=headers[username]).json()
    assert opened["total"] == sum(1 for w in mine if w["status"] == "open")
    recall = {r["days"]: r for r in body["recall"]}
    assert recall[90]["warned"] == sum(recall[90][k] for k in ("recalled", "open", "expired"))


def test_settings_round_trip_and_roles(
    client: TestClient, brand: Brand, headers: dict[str, dict[str, str]]
) -> None:
    body = client.get("/api/v1/insights/settings", headers=headers["guide"]).json()
    assert body["version"] is None and body["settings"]["rfm"]["window_days"] == 365
    settings = body["settings"]
    settings["rfm"]["window_days"] = 90
    denied = client.put("/api/v1/insights/settings", json={"settings": settings}, headers=headers["analyst"])
    assert denied.status_code == 403
    bad = {**settings, "churn": {**settings["churn"], "p_alive_below": 2}}
    response = client.put("/api/v1/insights/settings", json={"settings": bad}, headers=headers["operator"])
    assert response.status_code == 422
    assert response.json()["details"][0]["field"] == "churn.p_alive_below"
    saved = client.put(
        "/api/v1/insights/settings", json={"settings": settings, "note": "api"}, headers=headers["operator"]
    )
    assert saved.status_code == 200 and saved.json()["version"] == 1
    assert (
        client.get("/api/v1/insights/settings", headers=headers["admin"]).json()["settings"]["rfm"][
            "window_days"
        ]
        == 90
    )
