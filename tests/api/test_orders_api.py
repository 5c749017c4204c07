"""Orders through /api/v1: filters, the business-day cut, pagination, money and lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from siyu.api.schemas import yuan
from siyu.db.engine import session_factory
from siyu.models import OrderChannel
from tests.api.conftest import World, add_order


def nos(client: TestClient, world: World, query: str, who: str = "admin") -> list[str]:
    response = client.get(f"/api/v1/orders{query}", headers=world.headers[who])
    assert response.status_code == 200, response.text
    return [o["external_no"] for o in response.json()["items"]]


def test_yuan() -> None:
    assert [yuan(v) for v in (0, 5, 99, 100, 12345, -1, -12345)] == [
        "0.00",
        "0.05",
        "0.99",
        "1.00",
        "123.45",
        "-0.01",
        "-123.45",
    ]


def test_list_is_latest_first_with_money(client: TestClient, world: World) -> None:
    body = client.get("/api/v1/orders", headers=world.headers["admin"]).json()
    assert [o["external_no"] for o in body["items"]] == ["o5", "o4", "o3", "o1", "o2"]
    o2 = body["items"][-1]
    assert (o2["amount_fen"], o2["amount"]) == (5000, "50.00")
    assert (o2["refund_fen"], o2["refund"], o2["net_fen"], o2["net"]) == (1000, "10.00", 4000, "40.00")
    assert o2["status"] == "partially_refunded"
    assert o2["paid_at"] == "2024-03-01T15:59:00Z"


def test_business_day_cut_in_shanghai(client: TestClient, world: World) -> None:
    # o1 was paid 2024-03-01T16:30Z = 2024-03-02 00:30 in Shanghai; o2 at 23:59 local on 03-01.
    assert nos(client, world, "?paid_from=2024-03-02&paid_to=2024-03-02") == ["o1"]
    assert nos(client, world, "?paid_from=2024-03-02") == ["o5", "o4", "o3", "o1"]
    assert nos(client, world, "?paid_to=2024-03-01") == ["o2"]
    assert nos(client, world, "?paid_from=2024-03-01&paid_to=2024-03-01") == ["o2"]
    # paid_to is inclusive: o4 at 2024-03-31T15:59Z is 23:59 on the 31st locally; o5 is April.
    assert nos(client, world, "?paid_from=2024-03-01&paid_to=2024-03-31") == ["o4", "o3", "o1", "o2"]
    body = client.get(
        "/api/v1/orders?paid_from=2024-03-02&paid_to=2024-03-02", headers=world.headers["admin"]
    ).json()
    assert body["items"][0]["paid_on"] == "2024-03-02"


def test_business_day_follows_the_configured_zone(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from siyu.config import get_settings

    monkeypatch.setenv("SIYU_TIME_ZONE", "UTC")
    get_settings.cache_clear()
    try:
        assert nos(client, world, "?paid_from=2024-03-01&paid_to=2024-03-01") == ["o1", "o2"]
    finally:
        monkeypatch.delenv("SIYU_TIME_ZONE")
        get_settings.cache_clear()


def test_filters(client: TestClient, world: World) -> None:
    assert nos(client, world, f"?customer_id={world.customers['c1']}") == ["o1", "o2"]
    assert nos(client, world, f"?store_id={world.units['sh01']}") == ["o4", "o1", "o2"]
    assert nos(client, world, f"?staff_id={world.staff['g1']}") == ["o2"]
    assert nos(client, world, "?channel=miniprogram") == ["o3"]
    assert nos(client, world, "?status=partially_refunded") == ["o2"]
    assert nos(client, world, f"?store_id={world.units['sh01']}&paid_from=2024-03-02") == ["o4", "o1"]
    assert nos(client, world, "?channel=live") == []


def test_scoped_lists(client: TestClient, world: World) -> None:
    assert nos(client, world, "", who="guide_g1") == ["o1", "o2"]
    assert nos(client, world, "", who="mgr_sh01") == ["o4", "o1", "o2"]
    assert nos(client, world, "", who="lead_east") == ["o5", "o4", "o1", "o2"]
    assert nos(client, world, f"?customer_id={world.customers['c4']}", who="guide_g1") == []


@pytest.mark.parametrize("limit", [1, 2, 5, 9])
def test_walk_all_pages_with_ties(client: TestClient, engine: Engine, world: World, limit: int) -> None:
    """Many orders share a paid_at: the (paid_at, id) keyset neither repeats nor skips any."""
    same = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    with session_factory(engine)() as s:
        for i in range(17):
            when = same if i % 3 else same + timedelta(microseconds=i)
            add_order(
                s, f"t{i}", world.customers["c2"], paid_at=when, amount_fen=100 + i, channel=OrderChannel.live
            )
        s.commit()
    for who in ("admin", "mgr_sh01"):
        expected = nos(client, world, "?limit=200", who)
        seen: list[str] = []
        cursor = None
        while True:
            query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            body = client.get(f"/api/v1/orders{query}", headers=world.headers[who]).json()
            assert len(body["items"]) <= limit
            seen += [o["external_no"] for o in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
        assert len(seen) == len(set(seen))
    # Filters keep working across pages.
    live = nos(client, world, "?channel=live&limit=200")
    first = client.get("/api/v1/orders?channel=live&limit=10", headers=world.headers["admin"]).json()
    rest = client.get(
        f"/api/v1/orders?channel=live&limit=10&cursor={first['next_cursor']}", headers=world.headers["admin"]
    ).json()
    assert [o["external_no"] for o in first["items"] + rest["items"]] == live
    assert len(live) == 17


def test_detail_with_lines(client: TestClient, world: World) -> None:
    body = client.get(f"/api/v1/orders/{world.orders['o2']}", headers=world.headers["guide_g1"]).json()
    assert body["external_no"] == "o2"
    assert body["customer_name"] == "张三"
    assert body["store_name"] == "上海一店"
    assert body["staff_name"] == "导购g1"
    assert body["paid_on"] == "2024-03-01"
    assert body["lines"] == [
        {
            "id": body["lines"][0]["id"],
            "sku": "SKU-o2",
            "name": "面霜",
            "quantity": 1,
            "amount_fen": 5000,
            "amount": "50.00",
        }
    ]
    assert (
        client.get(f"/api/v1/orders/{world.orders['o3']}", headers=world.headers["guide_g1"]).status_code
        == 404
    )
    # Visible to the store manager through the store, though the customer is not theirs.
    assert (
        client.get(f"/api/v1/orders/{world.orders['o4']}", headers=world.headers["mgr_sh01"]).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/customers/{world.customers['c4']}", headers=world.headers["mgr_sh01"]
        ).status_code
        == 404
    )
