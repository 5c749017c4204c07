"""Org units and staff through /api/v1."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from siyu.db.engine import session_factory
from siyu.models import AuditLog, Staff, StaffStatus
from tests.api.conftest import World


def test_list_units_and_subtree_filter(client: TestClient, world: World) -> None:
    h = world.headers["admin"]
    body = client.get("/api/v1/org/units", headers=h).json()
    assert [u["code"] for u in body["items"]] == ["hq", "east", "north", "sh01", "sh02", "bj01"]
    assert body["next_cursor"] is None
    east = client.get("/api/v1/org/units?under=east", headers=h).json()
    assert {u["code"] for u in east["items"]} == {"east", "sh01", "sh02"}
    stores = client.get("/api/v1/org/units?kind=store&under=hq", headers=h).json()
    assert {u["code"] for u in stores["items"]} == {"sh01", "sh02", "bj01"}
    missing = client.get("/api/v1/org/units?under=nowhere", headers=h)
    assert missing.status_code == 404
    assert missing.json()["message"] == "org unit 'nowhere' does not exist"
    # Outside the caller's scope looks exactly like missing.
    outside = client.get("/api/v1/org/units?under=north", headers=world.headers["lead_east"])
    assert outside.status_code == 404


def test_units_pagination(client: TestClient, world: World) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/v1/org/units", params=params, headers=world.headers["admin"]).json()
        seen += [u["id"] for u in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(world.units.values())


def test_unit_detail(client: TestClient, world: World) -> None:
    body = client.get(f"/api/v1/org/units/{world.units['sh01']}", headers=world.headers["admin"]).json()
    assert body["code"] == "sh01"
    assert [p["code"] for p in body["parents"]] == ["hq", "east"]
    assert body["children"] == []
    assert body["counts"] == {"children": 0, "descendants": 0, "active_staff": 3}
    east = client.get(f"/api/v1/org/units/{world.units['east']}", headers=world.headers["admin"]).json()
    assert [c["code"] for c in east["children"]] == ["sh01", "sh02"]
    assert east["counts"] == {"children": 2, "descendants": 2, "active_staff": 4}
    # The parent chain stops where the caller's scope does.
    scoped = client.get(f"/api/v1/org/units/{world.units['sh01']}", headers=world.headers["lead_east"]).json()
    assert [p["code"] for p in scoped["parents"]] == ["east"]


def test_create_unit(client: TestClient, engine: Engine, world: World) -> None:
    h = world.headers["lead_east"]
    response = client.post(
        "/api/v1/org/units",
        json={"code": "sh03", "name": "上海三店", "kind": "store", "parent_code": "east"},
        headers=h,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["path"].startswith(f"/{world.units['hq']}/{world.units['east']}/")
    assert [p["code"] for p in body["parents"]] == ["east"]
    with session_factory(engine)() as s:
        row = s.scalar(select(AuditLog).where(AuditLog.action == "org_unit.create"))
        assert row is not None and row.target_id == body["id"] and row.detail
        assert row.detail["actor"] == "lead_east"
    dup = client.post(
        "/api/v1/org/units",
        json={"code": "sh03", "name": "重复", "kind": "store", "parent_code": "east"},
        headers=h,
    )
    assert dup.status_code == 409
    assert dup.json() == {"code": "conflict", "message": "org unit code 'sh03' already exists"}
    # Parent outside the subtree: 404, not 403.
    outside = client.post(
        "/api/v1/org/units",
        json={"code": "bj02", "name": "北京二店", "kind": "store", "parent_code": "north"},
        headers=h,
    )
    assert outside.status_code == 404
    root = client.post("/api/v1/org/units", json={"code": "hq2", "name": "x", "kind": "company"}, headers=h)
    assert root.status_code == 403
    unit_scoped = client.post(
        "/api/v1/org/units",
        json={"code": "sh01a", "name": "x", "kind": "team", "parent_code": "sh01"},
        headers=world.headers["mgr_sh01"],
    )
    assert unit_scoped.status_code == 403
    bad = client.post(
        "/api/v1/org/units", json={"code": "a b", "name": "x", "kind": "shop"}, headers=world.headers["admin"]
    )
    assert bad.status_code == 422
    assert {d["where"] for d in bad.json()["details"]} == {"body.code", "body.kind"}


def test_staff_list_filters_and_pagination(client: TestClient, engine: Engine, world: World) -> None:
    h = world.headers["admin"]
    with session_factory(engine)() as s:
        g2 = s.get(Staff, world.staff["g2"])
        assert g2 is not None
        g2.status = StaffStatus.left
        s.commit()

    def codes(query: str) -> list[str]:
        return [x["code"] for x in client.get(f"/api/v1/staff{query}", headers=h).json()["items"]]

    assert codes("") == ["g1", "g2", "m1", "g3", "g4"]
    assert codes("?unit=sh01") == ["g1", "g2", "m1"]
    assert codes("?unit=east") == ["g1", "g2", "m1", "g3"]
    assert codes("?role=store_manager") == ["m1"]
    assert codes("?status=left") == ["g2"]
    assert codes("?unit=east&role=guide&status=active") == ["g1", "m1", "g3"]
    assert client.get("/api/v1/staff?unit=zz", headers=h).status_code == 404
    first = client.get("/api/v1/staff?limit=2", headers=h).json()
    assert [x["code"] for x in first["items"]] == ["g1", "g2"]
    second = client.get(f"/api/v1/staff?limit=2&cursor={first['next_cursor']}", headers=h).json()
    third = client.get(f"/api/v1/staff?limit=2&cursor={second['next_cursor']}", headers=h).json()
    assert [x["code"] for x in second["items"] + third["items"]] == ["m1", "g3", "g4"]
    assert third["next_cursor"] is None
    item = first["items"][0]
    assert item["unit"] == {"id": world.units["sh01"], "code": "sh01", "name": "上海一店"}
    assert item["roles"] == ["guide"]


def test_staff_detail_masks_and_reveals_phone(client: TestClient, engine: Engine, world: World) -> None:
    with session_factory(engine)() as s:
        m1 = s.get(Staff, world.staff["m1"])
        assert m1 is not None
        m1.phone = "+8613611112222"
        s.commit()
    url = f"/api/v1/staff/{world.staff['m1']}"
    body = client.get(url, headers=world.headers["admin"]).json()
    assert body["phone"] == "+86 136****2222"
    assert body["roles"] == ["guide", "store_manager"]
    assert client.get(url, headers=world.headers["mgr_sh01"]).status_code == 200
    revealed = client.get(f"{url}?reveal=true", headers=world.headers["admin"]).json()
    assert revealed["phone"] == "+8613611112222"
    with session_factory(engine)() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "staff.phone.reveal")).all()
        assert [(r.target_type, r.target_id) for r in rows] == [("staff", world.staff["m1"])]
    # The guide sees only themselves.
    assert client.get(url, headers=world.headers["guide_g1"]).status_code == 404
    assert (
        client.get(f"/api/v1/staff/{world.staff['g1']}", headers=world.headers["guide_g1"]).status_code == 200
    )
