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


def test_home_page_counts(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert 'id="customers">0<' in response.text


def test_api_requires_token(client: TestClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
