"""Tag groups, tags and applying them to customers through /api/v1."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, select

from siyu.db.engine import session_factory
from siyu.models import AuditLog, CustomerTag, Event, TagAppliedBy
from tests.api.conftest import World


def post(client: TestClient, world: World, path: str, body: dict[str, Any], who: str = "admin") -> Any:
    response = client.post(f"/api/v1{path}", json=body, headers=world.headers[who])
    return response


def make_tags(
    client: TestClient,
    world: World,
    group: str = "兴趣",
    names: tuple[str, ...] = ("抗老", "美白"),
    exclusive: bool = False,
) -> tuple[int, list[int]]:
    g = post(client, world, "/tag-groups", {"name": group, "exclusive": exclusive})
    assert g.status_code == 201, g.text
    tag_ids = []
    for name in names:
        t = post(client, world, "/tags", {"group_id": g.json()["id"], "name": name})
        assert t.status_code == 201, t.text
        tag_ids.append(t.json()["id"])
    return g.json()["id"], tag_ids


def events(engine: Engine) -> list[tuple[str, int | None, int | None]]:
    with session_factory(engine)() as s:
        rows = s.execute(select(Event.kind, Event.customer_id, Event.subject_id).order_by(Event.id)).all()
    return [(k, c, t) for k, c, t in rows]


def audit_actions(engine: Engine) -> list[str]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_vocabulary_crud(client: TestClient, engine: Engine, world: World) -> None:
    h = world.headers["admin"]
    group_id, (anti_age, whitening) = make_tags(client, world)
    groups = client.get("/api/v1/tag-groups", headers=world.headers["guide_g1"]).json()
    assert [(g["name"], [t["name"] for t in g["tags"]]) for g in groups] == [("兴趣", ["抗老", "美白"])]
    renamed = client.patch(f"/api/v1/tags/{whitening}", json={"name": "  提亮  "}, headers=h)
    assert renamed.status_code == 200 and renamed.json()["name"] == "提亮"
    clash = client.patch(f"/api/v1/tags/{whitening}", json={"name": "抗老"}, headers=h)
    assert clash.status_code == 409
    assert clash.json() == {"code": "conflict", "message": "tag '抗老' already exists in group '兴趣'"}
    dup = post(client, world, "/tags", {"group_id": group_id, "name": "抗老"})
    assert dup.status_code == 409
    # The same name in another group is fine.
    other_group, _ = make_tags(client, world, group="功效", names=("抗老",))
    assert post(client, world, "/tag-groups", {"name": "兴趣"}).status_code == 409
    moved = client.patch(
        f"/api/v1/tag-groups/{other_group}", json={"name": "功效2", "sort_order": -1}, headers=h
    )
    assert moved.json()["name"] == "功效2"
    assert [g["name"] for g in client.get("/api/v1/tag-groups", headers=h).json()] == ["功效2", "兴趣"]
    assert (
        client.patch(f"/api/v1/tag-groups/{other_group}", json={"name": "兴趣"}, headers=h).status_code == 409
    )
    # A group holding tags cannot go; its tags can, then the group.
    busy = client.delete(f"/api/v1/tag-groups/{group_id}", headers=h)
    assert busy.status_code == 409
    assert client.delete(f"/api/v1/tags/{anti_age}", headers=h).status_code == 204
    assert client.delete(f"/api/v1/tags/{whitening}", headers=h).status_code == 204
    assert client.delete(f"/api/v1/tag-groups/{group_id}", headers=h).status_code == 204
    assert client.delete(f"/api/v1/tag-groups/{group_id}", headers=h).status_code == 404
    assert client.patch(f"/api/v1/tags/{anti_age}", json={"name": "x"}, headers=h).status_code == 404
    assert post(client, world, "/tags", {"group_id": 999999, "name": "x"}).status_code == 404
    assert audit_actions(engine) == [
        "tag_group.create",
        "tag.create",
        "tag.create",
        "tag.rename",
        "tag_group.create",
        "tag.create",
        "tag_group.update",
        "tag.delete",
        "tag.delete",
        "tag_group.delete",
    ]


def test_vocabulary_deletes_need_scope_all(client: TestClient, world: World) -> None:
    group_id, (tag_id, _) = make_tags(client, world)
    response = client.delete(f"/api/v1/tags/{tag_id}", headers=world.headers["lead_east"])
    assert response.status_code == 403
    assert "data scope 'all'" in response.json()["message"]
    assert (
        client.delete(f"/api/v1/tag-groups/{group_id}", headers=world.headers["mgr_sh01"]).status_code == 403
    )
    # Creating and renaming is open to every writer.
    assert (
        post(client, world, "/tags", {"group_id": group_id, "name": "门店"}, who="mgr_sh01").status_code
        == 201
    )


def test_apply_and_remove_on_one_customer_is_idempotent(
    client: TestClient, engine: Engine, world: World
) -> None:
    _, (a, b) = make_tags(client, world)
    c1 = world.customers["c1"]
    first = post(client, world, f"/customers/{c1}/tags", {"tag_ids": [a, b, a]}, who="operator_g1")
    assert first.status_code == 200, first.text
    assert first.json() == {
        "added": [{"customer_id": c1, "tag_id": a}, {"customer_id": c1, "tag_id": b}],
        "removed": [],
        "unchanged": [],
    }
    again = post(client, world, f"/customers/{c1}/tags", {"tag_ids": [a]}, who="operator_g1").json()
    assert again == {"added": [], "removed": [], "unchanged": [{"customer_id": c1, "tag_id": a}]}
    with session_factory(engine)() as s:
        rows = s.scalars(select(CustomerTag).where(CustomerTag.customer_id == c1)).all()
        assert {r.tag_id for r in rows} == {a, b}
        account = (
            s.execute(select(AuditLog.account_id).where(AuditLog.action == "customer.tags.apply"))
            .scalars()
            .first()
        )
        assert all(r.applied_by is TagAppliedBy.account and r.applied_by_id == account for r in rows)
    detail = client.get(f"/api/v1/customers/{c1}", headers=world.headers["admin"]).json()
    assert [(t["name"], t["applied_by"]) for t in detail["tags"]] == [
        ("抗老", "account"),
        ("美白", "account"),
    ]
    removed = client.delete(
        f"/api/v1/customers/{c1}/tags?tag_id={a}", headers=world.headers["operator_g1"]
    ).json()
    assert removed == {"added": [], "removed": [{"customer_id": c1, "tag_id": a}], "unchanged": []}
    twice = client.delete(
        f"/api/v1/customers/{c1}/tags?tag_id={a}&tag_id={b}", headers=world.headers["admin"]
    ).json()
    assert twice == {
        "added": [],
        "removed": [{"customer_id": c1, "tag_id": b}],
        "unchanged": [{"customer_id": c1, "tag_id": a}],
    }
    # One event per real change, none for the no-ops.
    assert events(engine) == [("tagged", c1, a), ("tagged", c1, b), ("untagged", c1, a), ("untagged", c1, b)]
    with session_factory(engine)() as s:
        event = s.scalars(select(Event).order_by(Event.id)).first()
        assert event is not None and event.staff_id == world.staff["g1"] and event.subject_type == "tag"
        assert event.data == {
            "tag": "抗老",
            "group": "兴趣",
            "by": "account",
            "account_id": event.data["account_id"],
        }
    assert audit_actions(engine)[-4:] == [
        "customer.tags.apply",
        "customer.tags.apply",
        "customer.tags.remove",
        "customer.tags.remove",
    ]


def test_bulk_apply_through_the_tag(client: TestClient, engine: Engine, world: World) -> None:
    _, (a, _b) = make_tags(client, world)
    c = world.customers
    response = post(client, world, f"/tags/{a}/apply", {"customer_ids": [c["c1"], c["c2"]]}, who="mgr_sh01")
    assert response.status_code == 200
    assert [p["customer_id"] for p in response.json()["added"]] == [c["c1"], c["c2"]]
    again = post(
        client, world, f"/tags/{a}/apply", {"customer_ids": [c["c2"], c["c1"]]}, who="mgr_sh01"
    ).json()
    assert again["added"] == [] and len(again["unchanged"]) == 2
    ids = {
        x["id"]
        for x in client.get(f"/api/v1/customers?tag={a}", headers=world.headers["admin"]).json()["items"]
    }
    assert ids == {c["c1"], c["c2"]}
    removed = post(client, world, f"/tags/{a}/remove", {"customer_ids": [c["c1"], c["c3"]]}).json()
    assert removed["removed"] == [{"customer_id": c["c1"], "tag_id": a}]
    assert removed["unchanged"] == [{"customer_id": c["c3"], "tag_id": a}]
    with session_factory(engine)() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "tag.apply").order_by(AuditLog.id)).first()
        assert row is not None and row.target_type == "tag" and row.target_id == a
        assert row.detail and row.detail["customer_ids"] == sorted([c["c1"], c["c2"]])
    assert [e[0] for e in events(engine)] == ["tagged", "tagged", "untagged"]


def test_apply_outside_scope_is_404_naming_the_id_and_writes_nothing(
    client: TestClient, engine: Engine, world: World
) -> None:
    _, (a, _b) = make_tags(client, world)
    c = world.customers
    before = audit_actions(engine)
    response = post(
        client, world, f"/tags/{a}/apply", {"customer_ids": [c["c1"], c["c3"], 987654]}, who="mgr_sh01"
    )
    assert response.status_code == 404
    body = response.json()
    assert body["message"] == f"customer {c['c3']}, 987654 does not exist"
    assert [d["value"] for d in body["details"]] == [c["c3"], 987654]
    one = post(client, world, f"/customers/{c['c3']}/tags", {"tag_ids": [a]}, who="mgr_sh01")
    assert one.status_code == 404
    assert one.json()["message"] == f"customer {c['c3']} does not exist"
    gone = client.delete(f"/api/v1/customers/{c['c4']}/tags?tag_id={a}", headers=world.headers["operator_g1"])
    assert gone.status_code == 404
    missing_tag = post(client, world, f"/customers/{c['c1']}/tags", {"tag_ids": [a, 55555]})
    assert missing_tag.status_code == 404
    assert missing_tag.json()["message"] == "tag 55555 does not exist"
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(CustomerTag)) == 0
    assert events(engine) == []
    assert audit_actions(engine) == before


def test_exclusive_group_keeps_one_tag(client: TestClient, engine: Engine, world: World) -> None:
    _, (dry, oily) = make_tags(client, world, group="肤质", names=("干皮", "油皮"), exclusive=True)
    c1 = world.customers["c1"]
    post(client, world, f"/customers/{c1}/tags", {"tag_ids": [dry]})
    switched = post(client, world, f"/customers/{c1}/tags", {"tag_ids": [oily]}).json()
    assert switched["added"] == [{"customer_id": c1, "tag_id": oily}]
    assert switched["removed"] == [{"customer_id": c1, "tag_id": dry}]
    both = post(client, world, f"/customers/{c1}/tags", {"tag_ids": [dry, oily]})
    assert both.status_code == 422
    assert "exclusive" in both.json()["message"]
    assert events(engine) == [("tagged", c1, dry), ("untagged", c1, dry), ("tagged", c1, oily)]


def test_deleting_a_tag_untags_everyone_with_events(client: TestClient, engine: Engine, world: World) -> None:
    _, (a, b) = make_tags(client, world)
    c = world.customers
    post(client, world, f"/tags/{a}/apply", {"customer_ids": [c["c1"], c["c4"]]})
    post(client, world, f"/tags/{b}/apply", {"customer_ids": [c["c1"]]})
    assert client.delete(f"/api/v1/tags/{a}", headers=world.headers["admin"]).status_code == 204
    with session_factory(engine)() as s:
        assert set(s.execute(select(CustomerTag.customer_id, CustomerTag.tag_id)).all()) == {(c["c1"], b)}
        detail = s.scalars(select(AuditLog.detail).where(AuditLog.action == "tag.delete")).one()
        assert detail and detail["customers"] == 2
    assert events(engine)[-2:] == [("untagged", c["c1"], a), ("untagged", c["c4"], a)]


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert('x')</script>",
        "'; DROP TABLE tags; --",
        '" OR 1=1 --',
        "<img src=x onerror=alert(1)>",
        "50%_off",
    ],
)
def test_tag_names_are_stored_verbatim_and_inert(
    client: TestClient, engine: Engine, world: World, name: str
) -> None:
    group_id, (tag_id,) = make_tags(client, world, group=name, names=(name,))
    groups = client.get("/api/v1/tag-groups", headers=world.headers["admin"])
    assert groups.headers["content-type"] == "application/json"
    assert groups.json()[0]["name"] == name and groups.json()[0]["tags"][0]["name"] == name
    assert {"tags", "tag_groups", "customers"} <= set(inspect(engine).get_table_names())
    post(client, world, f"/customers/{world.customers['c1']}/tags", {"tag_ids": [tag_id]})
    found = client.get("/api/v1/customers", params={"tag": f"{name}:{name}"}, headers=world.headers["admin"])
    assert [x["id"] for x in found.json()["items"]] == [world.customers["c1"]]
    assert group_id


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"name": "   "}, "body.name"),
        ({"name": "a\x00b"}, "body.name"),
        ({"name": "x" * 65}, "body.name"),
        ({}, "body.name"),
    ],
)
def test_bad_tag_names_are_422(client: TestClient, world: World, body: dict[str, Any], where: str) -> None:
    response = post(client, world, "/tag-groups", body)
    assert response.status_code == 422
    assert response.json()["details"][0]["where"] == where


def test_bulk_limits_are_422(client: TestClient, world: World) -> None:
    _, (a, _b) = make_tags(client, world)
    assert post(client, world, f"/tags/{a}/apply", {"customer_ids": []}).status_code == 422
    assert post(client, world, f"/tags/{a}/apply", {"customer_ids": list(range(1, 1002))}).status_code == 422
    assert (
        post(client, world, f"/customers/{world.customers['c1']}/tags", {"tag_ids": [0]}).status_code == 422
    )
    assert (
        client.delete(
            f"/api/v1/customers/{world.customers['c1']}/tags", headers=world.headers["admin"]
        ).status_code
        == 422
    )
