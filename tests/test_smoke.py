"""The app starts, the schema is at head, and errors are JSON."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect

from siyu.db.migrate import heads


def test_one_alembic_head() -> None:
    assert len(heads()) == 1


def test_schema_has_spine_tables(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert {"customers", "customer_identities", "orders", "events", "chat_messages", "org_units"} <= names


def test_console_needs_login(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")


def test_api_requires_token(client: TestClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
