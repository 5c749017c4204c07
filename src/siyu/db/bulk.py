"""Fast set-based inserts through the DBAPI cursor, for importers and the demo builder."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from itertools import chain
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    event,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType


class _IntArrayLiteral(str):
    """A bigint[] literal ('{1,2}') that psycopg sends as-is, typed int8[] (see _register_array_dumpers)."""


class _TextArrayLiteral(str):
    """A text[] literal that psycopg sends as-is, typed text[]."""


def _register_array_dumpers() -> None:
    # psycopg's list dumper quotes element by element in Python; these send our literal unchanged.
    try:
        import psycopg
        from psycopg.adapt import Dumper
    except ImportError:  # SQLite-only installs
        return

    class _IntArrayDumper(Dumper):
        oid = 1016  # int8[]

        def dump(self, obj: Any) -> bytes:
            return str(obj).encode()

    class _TextArrayDumper(Dumper):
        oid = 1009  # text[]

        def dump(self, obj: Any) -> bytes:
            return str(obj).encode()

    psycopg.adapters.register_dumper(_IntArrayLiteral, _IntArrayDumper)
    psycopg.adapters.register_dumper(_TextArrayLiteral, _TextArrayDumper)


_register_array_dumpers()


def pg_array(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal ('{1,2}', '{"a","b"}') for ints, strings or aware datetimes (None = NULL).

    Bound as one text parameter and cast on the server: psycopg's list dumper quotes element by element
    in Python (a regex per element), several times slower for 5,000-element arrays.
    """
    items = values if isinstance(values, list) else list(values)
    if all(type(v) is int for v in items):  # the usual case (ids): no per-element branching
        return "{" + ",".join(map(str, items)) + "}"
    parts: list[str] = []
    for v in items:
        if v is None:
            parts.append("NULL")
        elif isinstance(v, bool):
            parts.append("t" if v else "f")
        elif isinstance(v, int):
            parts.append(str(v))
        elif isinstance(v, datetime):
            parts.append('"' + v.isoformat() + '"')
        else:
            parts.append('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


def any_of(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """column is one of values (ints or strings), bound as ONE parameter whatever their number.

    PostgreSQL: `= ANY(CAST(:p AS type[]))` with p an array literal; SQLite: `IN (SELECT value FROM
    json_each(:p))`. A 5,000-value IN-list costs more to build, bind and parse (expanding parameters,
    psycopg's query splitting) than the query takes to run; one text parameter costs almost nothing.
    """
    items = list(values)
    # The column's type decides (an empty list must still be a text[] for a text column).
    text_values = isinstance(getattr(column, "type", None), String) or (
        bool(items) and isinstance(items[0], str)
    )
    items = [str(v) for v in items] if text_values else [int(v) for v in items]
    if session.get_bind().dialect.name == "postgresql":
        literal = (_TextArrayLiteral if text_values else _IntArrayLiteral)(pg_array(items))
        # A real bigint[]/text[] parameter (not CAST(text AS …)): the planner folds it into a constant
        # and hashes the = ANY lookup; a cast of a text parameter stays an expression scanned linearly.
        return column == any_(bindparam(None, literal, type_=NullType()))
    each = func.json_each(bindparam(None, json.dumps(items, ensure_ascii=False))).table_valued("value")
    return column.in_(select(literal_column("value")).select_from(each))


def datetime_adapter(session: Session) -> Callable[[datetime | None], Any]:
    """Return a function turning an aware datetime into what this dialect's driver stores.

    SQLite gets the same text SQLAlchemy writes (UTC, microseconds always present, so text
    comparison orders correctly); PostgreSQL gets the aware datetime itself.
    """
    if session.get_bind().dialect.name == "sqlite":

        def to_sqlite(value: datetime | None) -> Any:
            if value is None:
                return None
            if value.tzinfo is UTC:  # already UTC (the usual case): format and drop the "+00:00"
                return value.isoformat(" ", "microseconds")[:26]
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return to_sqlite

    def to_pg(value: datetime | None) -> Any:
        return value

    return to_pg


def _literal(value: Any, dialect_name: str) -> str:
    # Constants are inlined as SQL literals; only plain values of known types, quoted here.
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if dialect_name == "postgresql" else str(int(value))
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat(" ", "microseconds")
        if dialect_name == "sqlite":
            text = text.removesuffix("+00:00")
        return "'" + text + "'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot inline a constant of type {type(value).__name__}")


# Bound parameters per multi-row INSERT: below SQLite's and psycopg's limits, and large enough
# that the per-statement cost vanishes.
_PARAMS_PER_STATEMENT = 960


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert rows (tuples in column order, already in driver form) through executemany.

    constants: columns with the same value in every row (None, bool, int, str or aware
    datetime), written once into the SQL instead of bound per row: binding dominates the cost.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    prep = dialect.identifier_preparer
    fixed = dict(constants or {})
    quoted = ", ".join(prep.quote(c) for c in [*columns, *fixed])
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    one = "(" + ", ".join([marker] * len(columns) + [_literal(v, dialect.name) for v in fixed.values()]) + ")"
    head = f"INSERT INTO {prep.format_table(table)} ({quoted}) VALUES "  # noqa: S608
    per_statement = max(1, _PARAMS_PER_STATEMENT // max(1, len(columns)))
    cursor = connection.connection.cursor()
    try:
        full = len(rows) - len(rows) % per_statement
        if full and per_statement > 1 and columns:
            sql = head + ", ".join([one] * per_statement)
            batches = (
                list(chain.from_iterable(rows[i : i + per_statement])) for i in range(0, full, per_statement)
            )
            cursor.executemany(sql, batches)  # type: ignore[arg-type]  # both drivers take any iterable
        else:
            full = 0
        rest = rows[full:]
        if len(rest) > 1 and columns:  # the remainder as one statement too: executemany would send a row each
            cursor.execute(head + ", ".join([one] * len(rest)), list(chain.from_iterable(rest)))
        elif rest:
            cursor.executemany(head + one, rest)
    finally:
        cursor.close()


def copy_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """insert_rows, but through COPY … FROM STDIN on PostgreSQL (one stream, no statement to parse).

    For hot batch writers (the send path): the server builds the rows in bulk and the client encodes
    them in C. Constants are appended to every row. SQLite (and any other dialect) goes to insert_rows.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        insert_rows(session, table, columns, rows, constants=constants)
        return
    fixed = dict(constants or {})
    prep = connection.dialect.identifier_preparer
    names = ", ".join(prep.quote(c) for c in [*columns, *fixed])
    tail = tuple(fixed.values())
    cursor: Any = connection.connection.cursor()
    try:
        with cursor.copy(f"COPY {prep.format_table(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((*row, *tail) if tail else row)
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


def insert_returning_ids(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert rows through the ORM's types (JSON, enums, UTC times, defaults) and return their ids in row order.

    PostgreSQL: ids reserved from the sequence first, so the batched INSERT needs no ordered RETURNING.
    SQLite: INSERT … RETURNING in parameter order (one writer at a time, so no reservation race).
    """
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        ids = next_ids(session, table, len(rows))
        session.execute(insert(table), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(i) for i in session.scalars(stmt, list(rows))]


@contextmanager
def deferred_indexes(
    session: Session, tables: Sequence[Table], new_rows: int, min_rows: int = 50_000
) -> Iterator[None]:
    """On SQLite, drop the secondary indexes of tables during a large load and rebuild them at the end.

    Building an index once by sorting costs about a quarter of maintaining it row by row. Only
    tables that will at least double are touched (rebuilding a big table for a few rows would be
    slower), only plain non-unique indexes are dropped (constraints keep being enforced), and the
    exact DDL read from sqlite_master is replayed. It all happens inside the caller's transaction,
    so a rollback restores the indexes too. PostgreSQL is left alone.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite" or new_rows < min_rows:
        yield
        return
    saved: list[tuple[str, str]] = []
    for table in tables:
        quoted = connection.dialect.identifier_preparer.format_table(table)
        present = connection.exec_driver_sql(f"SELECT COALESCE(MAX(rowid), 0) FROM {quoted}").scalar_one()  # noqa: S608
        if int(present) > new_rows:
            continue
        rows = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table.name,),
        ).all()
        for name, sql in rows:
            if not str(sql).lstrip().upper().startswith("CREATE UNIQUE"):
                saved.append((name, sql))
    for name, _ in saved:
        connection.exec_driver_sql(f"DROP INDEX {connection.dialect.identifier_preparer.quote(name)}")
    try:
        yield
    except BaseException:
        # The caller will roll back, which restores the indexes anyway; keep its error visible.
        with suppress(Exception):
            for _, sql in saved:
                connection.exec_driver_sql(sql)
        raise
    # The sorter may use helper threads for the rebuild: the index builds are sort-bound.
    threads = int(connection.exec_driver_sql("PRAGMA threads").scalar_one())
    connection.exec_driver_sql(f"PRAGMA threads={min(4, os.cpu_count() or 1)}")
    try:
        for _, sql in saved:
            connection.exec_driver_sql(sql)
    finally:
        connection.exec_driver_sql(f"PRAGMA threads={threads}")


_FK_OFF = "siyu_foreign_keys_off"


def _restore_foreign_keys(dbapi_connection: Any, record: Any) -> None:
    # Runs when the connection goes back to the pool (after the import's commit or rollback),
    # so no later user of the pooled connection ever sees foreign keys off.
    if record.info.pop(_FK_OFF, False):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def suspend_foreign_keys(session: Session, new_rows: int, min_rows: int = 50_000) -> bool:
    """On SQLite, skip per-row foreign-key checks for the large load about to start; True if done.

    Only for writers whose references are built by construction (ids just created or looked up,
    the rest re-checked by the caller inside the transaction). SQLite can only switch the checks
    before a transaction begins; they come back on when the connection returns to the pool.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite" or new_rows < min_rows:
        return False
    raw = connection.connection.dbapi_connection
    if raw is None or getattr(raw, "in_transaction", True):
        return False
    if not event.contains(connection.engine, "checkin", _restore_foreign_keys):
        event.listen(connection.engine, "checkin", _restore_foreign_keys)
    connection.connection.info[_FK_OFF] = True
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    return True


def insert_if_absent(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING on both dialects: the rows really inserted."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing()
    stmt = stmt.returning(*(table.c[name] for name in returning))
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), 500):
        part = rows[start : start + 500]
        out += [tuple(r) for r in session.execute(stmt, list(part)).all()]
    return out
