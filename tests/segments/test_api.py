"""/api/v1/segments: bad paths in 422s, versions, preview, keyset members, export, scope and write rights."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from siyu.db.engine import session_factory
from siyu.models import AuditLog
from tests.segments.brute import Brute
from tests.segments.world import World

Auth = Callable[..., dict[str, str]]
RULE: dict[str, Any] = {
    "version": 1,
    "rule": {
        "any": [{"field": "consent", "op": "is", "value": True}, {"field": "last_order_days", "op": "never"}]
    },
}


def test_create_rejects_a_bad_rule_with_its_path(client: TestClient, token_for: Auth) -> None:
    auth = token_for("ops", "operator")
    bad = {
        "version": 1,
        "rule": {
            "all": [
                {"field": "consent", "op": "is", "value": True},
                {"any": [{"field": "tag", "op": "any", "value": "vip"}]},
            ]
        },
    }
    response = client.post("/api/v1/segments", json={"name": "x", "rule": bad}, headers=auth)
    assert response.status_code == 422
    body = response.json()
    assert body["message"] == "rule.all[1].any[0].value: expected a list of tag ids"
    assert body["details"][0]["where"] == "rule.all[1].any[0].value"


def test_segment_lifecycle_preview_members_and_export(
    client: TestClient, token_for: Auth, world: World, engine: Engine
) -> None:
    auth = token_for("ops", "manager")
    created = client.post("/api/v1/segments", json={"name": "沉睡或同意", "rule": RULE}, headers=auth)
    assert created.status_code == 201, created.text
    segment = created.json()
    assert segment["current_version"] == 1 and segment["rule"] == RULE
    changed = {"version": 1, "rule": {"field": "consent", "op": "is", "value": True}}
    patched = client.patch(
        f"/api/v1/segments/{segment['id']}", json={"rule": changed, "note": "only consent"}, headers=auth
    )
    assert patched.json()["current_version"] == 2
    assert [v["version"] for v in patched.json()["versions"]] == [2, 1]

    # members and preview are counted now, so compare with a brute force over the same moment's rows
    from siyu.db.types import utcnow

    expected = Brute(world, utcnow()).ids(changed)
    preview = client.post("/api/v1/segments/preview", json={"rule": changed}, headers=auth).json()
    assert preview["count"] == len(expected)
    assert preview["sample"][0]["phone"].startswith("+86 138****")
    ids: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/api/v1/segments/{segment['id']}/members", params=params, headers=auth).json()
        ids += [row["id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert ids == expected

    exported = client.get(f"/api/v1/segments/{segment['id']}/export", params={"fmt": "csv"}, headers=auth)
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [int(r[0]) for r in rows[1:]] == expected
    with session_factory(engine)() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "segment.export")).one()
    # managers may reveal, like the customer export: the audit row says so
    assert (
        audit.detail is not None
        and audit.detail["rows"] == len(expected)
        and audit.detail["phones"] == "revealed"
    )
    xlsx = client.get(f"/api/v1/segments/{segment['id']}/export", params={"fmt": "xlsx"}, headers=auth)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert (
        client.get(
            f"/api/v1/segments/{segment['id']}/export", params={"fmt": "pdf"}, headers=auth
        ).status_code
        == 422
    )

    listed = client.get("/api/v1/segments", headers=auth).json()
    assert [s["id"] for s in listed] == [segment["id"]]
    archived = client.post(f"/api/v1/segments/{segment['id']}/archive", headers=auth)
    assert archived.json()["archived_at"] is not None
    assert client.get("/api/v1/segments", headers=auth).json() == []
    assert client.get("/api/v1/segments/999", headers=auth).status_code == 404


def test_a_guide_previews_their_own_customers_and_may_not_save(
    client: TestClient, token_for: Auth, world: World
) -> None:
    guide = token_for("g1", "guide", "self", "S1")
    admin = token_for("root", "admin")
    everyone = client.post("/api/v1/segments/preview", json={"rule": RULE}, headers=admin).json()["count"]
    mine = client.post("/api/v1/segments/preview", json={"rule": RULE}, headers=guide).json()
    staff = world.staff["S1"]
    own = {c["id"] for c in world.customers if c["owner_staff_id"] == staff} | {
        m["customer_id"] for m in world.memberships if m["staff_id"] == staff and m["left_at"] is None
    }
    from siyu.db.types import utcnow

    assert mine["count"] == len(Brute(world, utcnow()).ids(RULE, lambda c: c["id"] in own))
    assert 0 < mine["count"] < everyone
    assert all(row["phone"].startswith("+86 138****") for row in mine["sample"])
    assert client.post("/api/v1/segments", json={"name": "x", "rule": RULE}, headers=guide).status_code == 403
