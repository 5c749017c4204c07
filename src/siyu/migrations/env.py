"""Alembic environment: runs migrations on Siyu's own engine settings."""

from __future__ import annotations

from alembic import context

import siyu.models  # noqa: F401  (registers every table on Base.metadata)
from siyu.db.base import Base
from siyu.db.engine import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations with a live connection (render_as_batch lets SQLite alter tables)."""
    url = config.get_main_option("sqlalchemy.url") or "sqlite:///./siyu.db"
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
