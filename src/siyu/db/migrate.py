"""Alembic driven from code, so `siyu db upgrade` works wherever the package is installed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and at url."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _config(url: str, connection: Connection | None) -> Config:
    cfg = alembic_config(url)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "head", *, connection: Connection | None = None) -> None:
    """Migrate the database at url (or on an open connection) up to revision."""
    command.upgrade(_config(url, connection), revision)


def downgrade(url: str, revision: str, *, connection: Connection | None = None) -> None:
    """Migrate the database at url (or on an open connection) down to revision."""
    command.downgrade(_config(url, connection), revision)


def current(connection: Connection) -> str | None:
    """The revision the connected database is at (None when unversioned)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def heads(url: str = "sqlite://") -> list[str]:
    """The current head revisions of the migration scripts."""
    return list(ScriptDirectory.from_config(alembic_config(url)).get_heads())
