"""Authentication, roles and the JSON error bodies of /api/v1."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from siyu.commerce.api import router as commerce_router
from siyu.customers.api import router as customers_router
from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.models import Account, ApiToken
from siyu.org.api import router as org_router
from tests.api.conftest import World

OUR_ROUTES = [
    (method, route.path)
    for router in (org_router, customers_router, commerce_router)
    for route in router.routes
    if isinstance(route, APIRoute)
    for method in route.methods or ()
]


def concrete(path: str) -> str:
    return "/api/v1" + re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize(("method", "path"), OUR_ROUTES)
def test_every_route_needs_a_token(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, concrete(path))
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthorized"
    assert "bearer" in response.json()["message"].lower()


@pytest.mark.parametrize(("method", "path"), OUR_ROUTES)
def test_bad_token_is_401(client: TestClient, method: str, path: str) -> None:
    response = client.request(
        method, concrete(path), headers={"Authorization": "Bearer siyu_not-a-real-token"}
    )
    assert response.status_code == 401
    assert response.json() == {"code": "unauthorized", "message": "unknown API token"}


def test_openapi_is_public_and_complete(client: TestClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    for path in (
        "/api/v1/customers",
        "/api/v1/customers/{customer_id}",
        "/api/v1/orders",
        "/api/v1/tags/{tag_id}/apply",
    ):
        assert path in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert {"CustomerDetail", "OrderDetail", "UnitDetail", "StaffDetail", "TagChange", "ErrorBody"} <= set(
        schemas
    )
    order = schemas["OrderOut"]["properties"]
    assert {"amount_fen", "amount", "net_fen", "net"} <= set(order)
    listing = spec["paths"]["/api/v1/customers"]["get"]
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "Page_CustomerOut_"
    )
    assert "404" in listing["responses"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert listing["security"] == [{"HTTPBearer": []}]
    assert client.get("/api/v1/docs").status_code == 200


def test_revoked_token_and_disabled_account(client: TestClient, engine: Engine, world: World) -> None:
    h = world.headers["analyst"]
    assert client.get("/api/v1/customers", headers=h).status_code == 200
    with session_factory(engine)() as s:
        account_id = s.scalar(select(Account.id).where(Account.username == "analyst"))
        s.execute(update(ApiToken).where(ApiToken.account_id == account_id).values(revoked_at=utcnow()))
        s.commit()
    response = client.get("/api/v1/customers", headers=h)
    assert response.status_code == 401
    assert response.json()["message"] == "API token has been revoked"
    with session_factory(engine)() as s:
        s.execute(update(Account).where(Account.username == "guide_g1").values(active=False))
        s.commit()
    response = client.get("/api/v1/customers", headers=world.headers["guide_g1"])
    assert response.status_code == 401
    assert "disabled" in response.json()["message"]


@pytest.mark.parametrize("who", ["analyst", "guide_g1"])
def test_read_only_roles_get_403_on_writes(client: TestClient, world: World, who: str) -> None:
    h = world.headers[who]
    c1 = world.customers["c1"]
    for method, path, body in [
        ("POST", "/api/v1/tag-groups", {"name": "肤质"}),
        ("POST", "/api/v1/tags", {"group_id": 1, "name": "干皮"}),
        ("POST", f"/api/v1/customers/{c1}/tags", {"tag_ids": [1]}),
        ("POST", "/api/v1/org/units", {"code": "sh09", "name": "x", "kind": "store", "parent_code": "east"}),
    ]:
        response = client.request(method, path, json=body, headers=h)
        assert response.status_code == 403, (path, response.text)
        role = "analyst" if who == "analyst" else "guide"
        assert response.json() == {"code": "forbidden", "message": f"role {role!r} may not change data"}
    # Reading is fine.
    assert client.get(f"/api/v1/customers/{c1}", headers=h).status_code == 200


def test_404_body(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/customers/424242", headers=world.headers["admin"])
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "customer 424242 does not exist"}


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/api/v1/customers/abc", "path.customer_id"),
        ("/api/v1/customers/0", "path.customer_id"),
        ("/api/v1/customers/99999999999999999999999", "path.customer_id"),
        ("/api/v1/customers?limit=201", "query.limit"),
        ("/api/v1/customers?limit=0", "query.limit"),
        ("/api/v1/customers?source=tv", "query.source"),
        ("/api/v1/customers?cursor=not-a-cursor", "query parameter 'cursor'"),
        ("/api/v1/customers?cursor=WyJ4Il0", "query parameter 'cursor'"),
        ("/api/v1/customers?phone=12", "query.phone"),
        ("/api/v1/customers?tag=nope:nothing", "query.tag"),
        ("/api/v1/customers?q=%00", "query.q"),
        ("/api/v1/orders?paid_from=2024-02-30", "query.paid_from"),
        ("/api/v1/orders?paid_from=2024-03-05&paid_to=2024-03-01", "query.paid_from"),
        ("/api/v1/orders?cursor=WyJ4IiwxXQ", "query parameter 'cursor'"),
        ("/api/v1/staff?status=fired", "query.status"),
    ],
)
def test_422_says_where_and_why(client: TestClient, world: World, path: str, where: str) -> None:
    response = client.get(path, headers=world.headers["admin"])
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid"
    assert where in body["message"]
    if "details" in body:
        assert all({"where", "why"} <= set(d) for d in body["details"])


def test_422_on_bad_json_body(client: TestClient, world: World) -> None:
    response = client.post("/api/v1/tag-groups", json={"name": ""}, headers=world.headers["admin"])
    assert response.status_code == 422
    assert response.json()["details"][0]["where"] == "body.name"
    response = client.post("/api/v1/tags", json={"group_id": -1, "name": "x"}, headers=world.headers["admin"])
    assert response.status_code == 422
    assert response.json()["details"][0]["where"] == "body.group_id"
