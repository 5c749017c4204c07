"""Customers through /api/v1: filters, pagination, the profile, phone masking and audited reveals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, select, update

from siyu.db.engine import session_factory
from siyu.models import (
    AcquisitionSource,
    AuditLog,
    Channel,
    ChannelMembership,
    Customer,
    CustomerIdentity,
    CustomerTag,
    IdentityKind,
    LifecycleStage,
    Tag,
    TagAppliedBy,
    TagGroup,
)
from siyu.privacy import mask_phone
from tests.api.conftest import World, add_customer


def ids(client: TestClient, world: World, query: str, who: str = "admin") -> set[int]:
    response = client.get(f"/api/v1/customers{query}", headers=world.headers[who])
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["items"]}


def test_mask_phone() -> None:
    assert mask_phone("+8613812341234") == "+86 138****1234"
    assert mask_phone("+14155550123") == "+1 415***0123"
    assert mask_phone("+85261234567") == "+852 612*4567"
    assert mask_phone("12345") == "***45"
    assert mask_phone(None) is None


def test_list_shows_masked_phone_and_tags(client: TestClient, engine: Engine, world: World) -> None:
    with session_factory(engine)() as s:
        group = TagGroup(name="肤质", exclusive=True, sort_order=0)
        s.add(group)
        s.flush()
        tag = Tag(group_id=group.id, name="干皮")
        s.add(tag)
        s.flush()
        s.add(
            CustomerTag(
                customer_id=world.customers["c1"],
                tag_id=tag.id,
                applied_by=TagAppliedBy.import_,
                applied_at=datetime(2024, 1, 1, tzinfo=UTC),
            )
        )
        s.commit()
    body = client.get("/api/v1/customers", headers=world.headers["admin"]).json()
    first = body["items"][0]
    assert first["id"] == world.customers["c1"]
    assert first["phone"] == "+86 138****1234"
    assert first["tags"] == [{"id": tag.id, "group": "肤质", "name": "干皮"}]
    assert body["items"][2]["phone"] is None
    assert "13812341234" not in client.get("/api/v1/customers", headers=world.headers["admin"]).text


def test_filters(client: TestClient, engine: Engine, world: World) -> None:
    c = world.customers
    with session_factory(engine)() as s:
        s.execute(
            update(Customer).where(Customer.id == c["c3"]).values(lifecycle_stage=LifecycleStage.sleeping)
        )
        s.execute(update(Customer).where(Customer.id == c["c4"]).values(source=AcquisitionSource.ad))
        s.add(
            ChannelMembership(
                customer_id=c["c2"], channel=Channel.group, joined_at=datetime(2024, 1, 1, tzinfo=UTC)
            )
        )
        group = TagGroup(name="兴趣", exclusive=False, sort_order=1)
        s.add(group)
        s.flush()
        tag = Tag(group_id=group.id, name="抗老")
        s.add(tag)
        s.flush()
        s.add(
            CustomerTag(
                customer_id=c["c7"], tag_id=tag.id, applied_by=TagAppliedBy.rule, applied_at=datetime.now(UTC)
            )
        )
        s.commit()
    assert ids(client, world, "?q=张") == {c["c1"]}
    assert ids(client, world, "?q=%E5%9B%9B") == {c["c2"]}  # 四
    assert ids(client, world, "?phone=%2B8613812341234") == {c["c1"]}
    assert ids(client, world, "?phone=138 1234 1234") == {c["c1"]}
    assert ids(client, world, "?phone=1234") == {c["c1"]}
    assert ids(client, world, "?phone=5678") == {c["c2"]}
    assert ids(client, world, "?phone=13900000000") == set()
    assert ids(client, world, f"?tag={tag.id}") == {c["c7"]}
    assert ids(client, world, "?tag=兴趣:抗老") == {c["c7"]}
    assert ids(client, world, "?source=ad") == {c["c4"]}
    assert ids(client, world, "?channel=wecom") == {c["c1"], c["c5"]}  # c6 left
    assert ids(client, world, "?channel=group") == {c["c2"]}
    assert ids(client, world, f"?owner_staff_id={world.staff['g3']}") == {c["c3"], c["c7"]}
    assert ids(client, world, f"?store_id={world.units['bj01']}") == {c["c4"], c["c6"], c["c7"]}
    assert ids(client, world, "?lifecycle_stage=sleeping") == {c["c3"]}
    assert ids(client, world, f"?store_id={world.units['bj01']}&owner_staff_id={world.staff['g4']}") == {
        c["c4"],
        c["c6"],
    }
    # Filters narrow inside the scope, never widen it.
    assert ids(client, world, "?phone=5678", who="guide_g1") == set()


def test_merged_customers_are_not_listed(client: TestClient, engine: Engine, world: World) -> None:
    with session_factory(engine)() as s:
        s.execute(
            update(Customer)
            .where(Customer.id == world.customers["c2"])
            .values(merged_into_id=world.customers["c1"])
        )
        s.commit()
    assert world.customers["c2"] not in ids(client, world, "")
    detail = client.get(f"/api/v1/customers/{world.customers['c2']}", headers=world.headers["admin"]).json()
    assert detail["merged_into_id"] == world.customers["c1"]


@pytest.mark.parametrize("limit", [1, 3, 7, 200])
def test_walk_all_pages(client: TestClient, engine: Engine, world: World, limit: int) -> None:
    with session_factory(engine)() as s:
        for i in range(23):
            add_customer(s, f"批量{i}", owner=world.staff["g1"], store=world.units["sh01"])
        s.commit()
    for who in ("admin", "guide_g1"):
        expected = ids(client, world, "?limit=200", who)
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            body = client.get(f"/api/v1/customers{query}", headers=world.headers[who]).json()
            assert len(body["items"]) <= limit
            seen += [item["id"] for item in body["items"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)), "a customer appeared twice"
        assert set(seen) == expected, "a customer was missed"
        assert seen == sorted(seen)
        assert pages == max(1, -(-len(expected) // limit))


def test_cursor_is_stable_when_rows_are_added(client: TestClient, engine: Engine, world: World) -> None:
    h = world.headers["admin"]
    first = client.get("/api/v1/customers?limit=3", headers=h).json()
    with session_factory(engine)() as s:
        new = add_customer(s, "新来的").id
        s.commit()
    rest: list[int] = []
    cursor = first["next_cursor"]
    while cursor:
        body = client.get(f"/api/v1/customers?limit=3&cursor={cursor}", headers=h).json()
        rest += [c["id"] for c in body["items"]]
        cursor = body["next_cursor"]
    assert [c["id"] for c in first["items"]] + rest == sorted([*world.customers.values(), new])


def test_detail(client: TestClient, engine: Engine, world: World) -> None:
    c1 = world.customers["c1"]
    with session_factory(engine)() as s:
        s.add(CustomerIdentity(customer_id=c1, kind=IdentityKind.unionid, value="oUNION123"))
        s.commit()
    body = client.get(f"/api/v1/customers/{c1}", headers=world.headers["guide_g1"]).json()
    assert body["name"] == "张三"
    assert body["owner"] == {"id": world.staff["g1"], "name": "导购g1"}
    assert body["phone"] == "+86 138****1234"
    assert [(i["kind"], i["value"]) for i in body["identities"]] == [
        ("phone", "+86 138****1234"),
        ("unionid", "oUNION123"),
    ]
    [membership] = body["memberships"]
    assert membership["channel"] == "wecom"
    assert membership["staff_name"] == "导购g1"
    assert membership["present"] is True and membership["left_at"] is None
    assert [o["external_no"] for o in body["recent_orders"]] == ["o1", "o2"]
    assert body["recent_orders"][0]["amount_fen"] == 12345
    assert body["recent_orders"][0]["amount"] == "123.45"
    assert body["totals"] == {
        "orders": 2,
        "amount_fen": 17345,
        "amount": "173.45",
        "refund_fen": 1000,
        "refund": "10.00",
        "net_fen": 16345,
        "net": "163.45",
        "first_paid_at": "2024-03-01T15:59:00Z",
        "last_paid_at": "2024-03-01T16:30:00Z",
    }
    left = client.get(f"/api/v1/customers/{world.customers['c6']}", headers=world.headers["admin"]).json()
    [gone] = left["memberships"]
    assert gone["present"] is False
    assert gone["leave_reason"] == "customer_deleted_staff"
    assert left["totals"]["orders"] == 0 and left["totals"]["amount"] == "0.00"


def test_reveal_is_audited(client: TestClient, engine: Engine, world: World) -> None:
    c1 = world.customers["c1"]
    body = client.get(f"/api/v1/customers/{c1}?reveal=true", headers=world.headers["mgr_sh01"]).json()
    assert body["phone"] == "+8613812341234"
    assert body["identities"][0]["value"] == "+8613812341234"
    page = client.get("/api/v1/customers?reveal=true", headers=world.headers["lead_east"]).json()
    assert {c["phone"] for c in page["items"]} == {"+8613812341234", "+8613900005678", None}
    with session_factory(engine)() as s:
        rows = s.scalars(
            select(AuditLog).where(AuditLog.action == "customer.phone.reveal").order_by(AuditLog.id)
        ).all()
        accounts = {
            a: n
            for a, n in s.execute(select(AuditLog.account_id, func.count()).group_by(AuditLog.account_id))
        }
    # One row per customer whose phone was shown: c1 by the manager; c1 and c2 by the lead (c3, c7 have none).
    assert [(r.detail or {}).get("actor") for r in rows] == ["mgr_sh01", "lead_east", "lead_east"]
    assert [r.target_id for r in rows] == [c1, c1, world.customers["c2"]]
    assert all(r.target_type == "customer" and r.at is not None for r in rows)
    assert len(accounts) == 2
    # Without ?reveal nothing is audited and phones stay masked.
    client.get(f"/api/v1/customers/{c1}", headers=world.headers["admin"])
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(AuditLog)) == 3


@pytest.mark.parametrize("who", ["guide_g1", "analyst"])
def test_reveal_refused_for_roles_without_the_right(
    client: TestClient, engine: Engine, world: World, who: str
) -> None:
    response = client.get(
        f"/api/v1/customers/{world.customers['c1']}?reveal=true", headers=world.headers[who]
    )
    assert response.status_code == 403
    assert "may not reveal phone numbers" in response.json()["message"]
    assert client.get("/api/v1/customers?reveal=true", headers=world.headers[who]).status_code == 403
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(AuditLog)) == 0


@pytest.mark.parametrize(
    "q",
    [
        "'; DROP TABLE customers; --",
        "' OR '1'='1",
        '" OR 1=1 --',
        "%",
        "_",
        "\\",
        "<script>alert(1)</script>",
        "张%",
        "*",
    ],
)
def test_q_filter_injection_is_inert(client: TestClient, engine: Engine, world: World, q: str) -> None:
    response = client.get("/api/v1/customers", params={"q": q}, headers=world.headers["admin"])
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert "customers" in inspect(engine).get_table_names()
    assert len(ids(client, world, "")) == len(world.customers)


def test_q_matches_special_characters_literally(client: TestClient, engine: Engine, world: World) -> None:
    with session_factory(engine)() as s:
        odd = add_customer(s, "100%_<b>真</b>'x").id
        s.commit()
    for q in ("100%", "%_", "<b>真</b>", "'x", "_<"):
        assert ids(client, world, "?" + "&".join([f"q={q}"]).replace("%", "%25").replace("<", "%3C")) == {odd}
    body = client.get(f"/api/v1/customers/{odd}", headers=world.headers["admin"])
    assert body.headers["content-type"] == "application/json"
    assert body.json()["name"] == "100%_<b>真</b>'x"
