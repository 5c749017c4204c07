"""Migrations go up and down on both databases, and the models match the migrated schema."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from siyu.db.base import Base
from siyu.db.engine import make_engine
from siyu.db.migrate import current, downgrade, heads, upgrade
from tests.conftest import schema_of, with_private_schema


@pytest.fixture()
def fresh_engine(tmp_path: Path) -> Engine:
    url = os.environ.get("SIYU_TEST_DATABASE_URL")
    engine = make_engine(with_private_schema(url) if url else f"sqlite:///{tmp_path / 'mig.db'}")
    yield engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema_of(engine)} CASCADE"))
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return {t for t in inspect(engine).get_table_names() if t != "alembic_version"}


def test_upgrade_downgrade_upgrade(fresh_engine: Engine) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    upgrade(url)
    assert _tables(fresh_engine) == set(Base.metadata.tables)
    with fresh_engine.connect() as conn:
        assert current(conn) == heads()[0]
    downgrade(url, "base")
    assert _tables(fresh_engine) == set()
    upgrade(url)
    assert _tables(fresh_engine) == set(Base.metadata.tables)


def test_models_match_migrations(fresh_engine: Engine) -> None:
    upgrade(fresh_engine.url.render_as_string(hide_password=False))
    with fresh_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], (
        f"models differ from migrations; run tools/regen_initial_migration.sh or add one: {diff}"
    )


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
