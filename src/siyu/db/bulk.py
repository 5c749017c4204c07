"""Fast set-based inserts through the DBAPI cursor, for importers and the demo builder."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session


def datetime_adapter(session: Session) -> Callable[[datetime | None], Any]:
    """Return a function turning an aware datetime into what this dialect's driver stores.

    SQLite gets the same text SQLAlchemy writes (UTC, microseconds always present, so text
    comparison orders correctly); PostgreSQL gets the aware datetime itself.
    """
    if session.get_bind().dialect.name == "sqlite":

        def to_sqlite(value: datetime | None) -> Any:
            if value is None:
                return None
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return to_sqlite

    def to_pg(value: datetime | None) -> Any:
        return value

    return to_pg


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows (tuples in column order, already in driver form) in one executemany."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    quoted = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    placeholders = ", ".join(marker for _ in columns)
    sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({quoted}) VALUES ({placeholders})"  # noqa: S608
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def next_ids(session: Session, table: Table, count: int) -> list[int]:
    """Reserve count primary keys for table inside the current transaction.

    PostgreSQL: taken from the table's sequence. SQLite: max(id)+1 onwards; a concurrent
    writer would fail on the primary key rather than interleave silently.
    """
    if count <= 0:
        return []
    connection = session.connection()
    name = table.name
    if connection.dialect.name == "postgresql":
        seq = connection.exec_driver_sql(f"SELECT pg_get_serial_sequence('{name}', 'id')").scalar_one()
        rows = connection.exec_driver_sql(
            "SELECT nextval(%s) FROM generate_series(1, %s)", (seq, count)
        ).scalars()
        return sorted(int(v) for v in rows)
    start = connection.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {name}").scalar_one()  # noqa: S608
    return list(range(int(start), int(start) + count))
