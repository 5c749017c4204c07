"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via SIYU_TEST_DATABASE_URL), sessions, clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from siyu.app import create_app
from siyu.db.base import Base
from siyu.db.engine import make_engine, session_factory
from siyu.db.migrate import upgrade
from siyu.org.accounts import create_account
from siyu.org.tokens import create_token


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("SIYU_TEST_DATABASE_URL")
    return with_private_schema(url) if url else f"sqlite:///{tmp_root / 'test.db'}"


def with_private_schema(url: str) -> str:
    """On PostgreSQL, create a schema for this test process and point url's search_path at it.

    Parallel runs (xdist workers, several developers on one server) then never collide, and the
    CLI, which only sees the URL, lands in the same schema.
    """
    if not url.startswith("postgresql"):
        return url
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def schema_of(engine: Engine) -> str:
    """The private schema of a PostgreSQL test engine."""
    options = str(engine.url.query.get("options", ""))
    return options.split("search_path=", 1)[1]


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the test database through Alembic on the engine's own connection (keeps search_path)."""
    with engine.begin() as conn:
        upgrade(str(engine.url), revision, connection=conn)


def reset_schema(engine: Engine) -> None:
    """Drop everything so a test can migrate from empty."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            schema = schema_of(engine)
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        else:
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")]
            for name in names:
                if not name.startswith("sqlite_"):
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def truncate_all(engine: Engine) -> None:
    """Empty every table, keeping the schema."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.exec_driver_sql(f'DELETE FROM "{name}"')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database_url(tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    reset_schema(engine)
    migrate(engine)
    yield engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema_of(engine)} CASCADE"))
    engine.dispose()


@pytest.fixture()
def engine(migrated_engine: Engine) -> Iterator[Engine]:
    """The migrated engine, emptied after each test."""
    yield migrated_engine
    truncate_all(migrated_engine)


@pytest.fixture()
def session(engine: Engine) -> Iterator[Session]:
    s = session_factory(engine)()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture()
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine)) as c:
        yield c


@pytest.fixture()
def admin_token(engine: Engine) -> str:
    """A token of an admin account with scope all."""
    with session_factory(engine)() as s:
        create_account(s, username="admin", password="admin-pass-1", role="admin", scope="all")
        token = create_token(s, "admin", "tests")
        s.commit()
    return token


@pytest.fixture()
def auth(admin_token: str) -> dict[str, str]:
    """Authorization header of the admin token."""
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture()
def cli_env(database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI (which reads settings from the environment) at the test database."""
    from siyu.config import get_settings
    from siyu.db.engine import get_engine

    monkeypatch.setenv("SIYU_DATABASE_URL", database_url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield database_url
    get_engine.cache_clear()
    get_settings.cache_clear()
