"""Engine construction and the unit of work owned by each edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from siyu.config import get_settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the console read while an import writes; FKs are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # Takes effect only when the file is created (before WAL is on); 16 KiB pages make bulk loads
    # of wide order rows ~5% faster and are a no-op on existing databases.
    cursor.execute("PRAGMA page_size=16384")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine for url with the per-dialect settings Siyu relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, echo=echo, pool_pre_ping=True)


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    """Process-wide engine for url (default: the configured database)."""
    settings = get_settings()
    return make_engine(url or settings.database_url, echo=settings.sql_echo)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    """A sessionmaker bound to engine; objects stay usable after commit."""
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False, autoflush=False)


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """Open a session, commit once on success, roll back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
