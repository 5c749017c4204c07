"""Multi-row INSERTs for the sync's page-sized batches (≈100 rows), one statement each on both dialects.

SQLAlchemy's executemany sends one statement per row on psycopg (pipeline) and whenever RETURNING must keep
row order; a page of contacts then costs hundreds of round trips. These build one VALUES list instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from siyu.db.bulk import datetime_adapter, next_ids

_MAX_PARAMS = 960  # below SQLite's and psycopg's limits per statement


def core_table(model: Any) -> Table:
    """The Core table of a model."""
    return model.__table__


def _driver_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Columns (the rows' keys + scalar Python defaults they leave out) and the values in driver form."""
    columns = list(rows[0])
    defaults = {
        c.name: c.default.arg  # type: ignore[attr-defined]
        for c in table.columns
        if c.name not in columns and c.name != "id" and c.default is not None and c.default.is_scalar
    }
    to_db = datetime_adapter(session)

    def driver(value: Any) -> Any:
        if isinstance(value, datetime):
            return to_db(value)
        return value.value if isinstance(value, Enum) else value

    extra = [driver(v) for v in defaults.values()]
    return [*columns, *defaults], [(*(driver(row[c]) for c in columns), *extra) for row in rows]


def _insert_values(
    session: Session,
    table: Table,
    columns: list[str],
    values: list[tuple[Any, ...]],
    *,
    ignore_conflicts: bool = False,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    connection = session.connection()
    dialect = connection.dialect
    prep = dialect.identifier_preparer
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([marker] * len(columns)) + ")"
    head = f"INSERT INTO {prep.format_table(table)} ({', '.join(prep.quote(c) for c in columns)}) VALUES "  # noqa: S608
    tail = (" ON CONFLICT DO NOTHING" if ignore_conflicts else "") + (
        " RETURNING " + ", ".join(prep.quote(c) for c in returning) if returning else ""
    )
    per = max(1, _MAX_PARAMS // max(1, len(columns)))
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(values), per):
        part = values[start : start + per]
        params = tuple(v for row in part for v in row)
        result = connection.exec_driver_sql(head + ", ".join([one] * len(part)) + tail, params)
        if returning:
            out += [tuple(r) for r in result]
    return out


def insert_with_ids(session: Session, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their ids in row order.

    PostgreSQL: ids reserved from the sequence, then multi-row VALUES. SQLite: INSERT … RETURNING in
    parameter order (SQLite has one writer at a time, and max(id)+1 reservations could meet a concurrent one).
    """
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        ids = next_ids(session, table, len(rows))
        columns, values = _driver_rows(
            session, table, [{"id": i, **row} for row, i in zip(rows, ids, strict=True)]
        )
        _insert_values(session, table, columns, values)
        return ids
    return list(session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))


def insert_ignore(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING RETURNING returning: the rows really inserted."""
    if not rows:
        return []
    columns, values = _driver_rows(session, table, rows)
    return _insert_values(session, table, columns, values, ignore_conflicts=True, returning=returning)


def insert_all(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT … VALUES (…), (…): every row, a conflict is an error (the caller's transaction fails)."""
    if rows:
        columns, values = _driver_rows(session, table, rows)
        _insert_values(session, table, columns, values)
