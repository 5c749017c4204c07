"""Columnar, chunked bulk writes for the demo builder (executemany on SQLite, COPY on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Table
from sqlalchemy.orm import Session

from siyu.db.bulk import insert_rows
from siyu.demo.timeline import NO_TIME, TimeText

CHUNK = 50_000


class Reporter(Protocol):
    """Receives progress from the builder (the CLI shows it with Rich)."""

    def step(self, label: str) -> None:
        """A generation step starts."""

    def table(self, name: str, total: int) -> None:
        """Writing total rows of table name starts."""

    def advance(self, rows: int) -> None:
        """rows more rows of the current table are written."""


class NullReporter:
    """A reporter that shows nothing (tests, benchmarks)."""

    def step(self, label: str) -> None:
        """Ignore."""

    def table(self, name: str, total: int) -> None:
        """Ignore."""

    def advance(self, rows: int) -> None:
        """Ignore."""


class Column(Protocol):
    """A source of one column's values, sliced per chunk."""

    def take(self, a: int, b: int, times: TimeText) -> Sequence[Any]:
        """Values of rows [a, b) in driver form."""


@dataclass(frozen=True)
class Ints:
    """Integers; with nullable, negative values are NULL (ids are positive)."""

    values: np.ndarray
    nullable: bool = False

    def take(self, a: int, b: int, times: TimeText) -> Sequence[Any]:
        """Slice as Python ints (None for negatives when nullable)."""
        part = self.values[a:b]
        if not self.nullable:
            return part.tolist()
        out = part.astype(object)
        out[part < 0] = None
        return out.tolist()


@dataclass(frozen=True)
class Bools:
    """Booleans (Python bool, which both drivers accept)."""

    values: np.ndarray

    def take(self, a: int, b: int, times: TimeText) -> Sequence[Any]:
        """Slice as Python bools."""
        return self.values[a:b].astype(bool).tolist()


@dataclass(frozen=True)
class Times:
    """Epoch seconds (UTC); NO_TIME is NULL."""

    values: np.ndarray

    def take(self, a: int, b: int, times: TimeText) -> Sequence[Any]:
        """Slice as dialect text."""
        return times.format(self.values[a:b])


@dataclass(frozen=True)
class Codes:
    """Indices into a vocabulary of values; -1 is NULL."""

    codes: np.ndarray
    vocab: Sequence[Any]

    def take(self, a: int, b: int, times: TimeText) -> Sequence[Any]:
        """Slice as vocabulary values."""
        vocab = np.asarray([*self.vocab, None], dtype=object)
        part = self.codes[a:b]
        return vocab[np.where(part < 0, len(vocab) - 1, part)].tolist()


@dataclass(frozen=True)
class Values:
    """A ready Python list (or tuple) of values."""

    values: Sequence[Any]

    def take(self, a: int, b: int, times: TimeText) -> Sequence[Any]:
        """Slice."""
        return self.values[a:b]


@dataclass(frozen=True)
class Const:
    """The same value in every row."""

    value: Any

    def take(self, a: int, b: int, times: TimeText) -> Sequence[Any]:
        """Repeat."""
        return [self.value] * (b - a)


@dataclass(frozen=True)
class Lazy:
    """Values computed per chunk (chat text, JSON payloads), so big tables never sit in memory as str."""

    make: Callable[[int, int], Sequence[Any]]

    def take(self, a: int, b: int, times: TimeText) -> Sequence[Any]:
        """Compute rows [a, b)."""
        return self.make(a, b)


class Writer:
    """Writes tables column-wise in chunks inside the caller's transaction; counts rows per table."""

    def __init__(self, session: Session, reporter: Reporter | None = None) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.times = TimeText(self.dialect)
        self.reporter: Reporter = reporter or NullReporter()
        self.counts: dict[str, int] = {}

    def reserve(self, table: Table, count: int) -> int:
        """Reserve count consecutive ids of table; returns the first (the builder owns an empty database)."""
        if count <= 0:
            return 1
        connection = self.session.connection()
        if self.dialect == "postgresql":
            seq = connection.exec_driver_sql(
                f"SELECT pg_get_serial_sequence('{table.name}', 'id')"
            ).scalar_one()
            last = connection.exec_driver_sql(
                "SELECT setval(%s, nextval(%s) + %s - 1)", (seq, seq, count)
            ).scalar_one()
            return int(last) - count + 1
        start = connection.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table.name}").scalar_one()  # noqa: S608
        return int(start)

    @contextmanager
    def bulk_load(self, tables: Sequence[Table], cache_mib: int) -> Iterator[None]:
        """Load tables with their non-unique indexes dropped (rebuilt at the end) and a bigger SQLite cache."""
        # One sort per index at the end is several times faster than maintaining every index row by
        # row; DDL is transactional on both dialects, so a failed build leaves the schema intact.
        connection = self.session.connection()
        previous_cache = None
        if self.dialect == "sqlite":
            if not connection.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
                # pysqlite opens transactions only before DML; without this the DROPs would autocommit.
                connection.exec_driver_sql("BEGIN")
            # A cache that holds the hot b-tree pages avoids re-reading spilled pages from a huge WAL.
            previous_cache = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
            connection.exec_driver_sql(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")
        indexes = [i for t in tables for i in sorted(t.indexes, key=lambda i: str(i.name)) if not i.unique]
        try:
            for index in indexes:
                index.drop(connection)
            yield
            self.reporter.step("building indexes")
            for index in indexes:
                index.create(connection)
        finally:
            if previous_cache is not None:
                connection.exec_driver_sql(f"PRAGMA cache_size={int(previous_cache)}")

    def write(self, table: Table, count: int, columns: Mapping[str, Column]) -> None:
        """Insert count rows whose columns come from columns, CHUNK rows at a time."""
        self.reporter.table(table.name, count)
        names = list(columns)
        sources = list(columns.values())
        for a in range(0, count, CHUNK):
            b = min(count, a + CHUNK)
            rows = list(zip(*(s.take(a, b, self.times) for s in sources), strict=True))
            self._insert(table, names, rows)
            self.reporter.advance(b - a)
        self.counts[table.name] = self.counts.get(table.name, 0) + count

    def _insert(self, table: Table, names: list[str], rows: list[tuple[Any, ...]]) -> None:
        if self.dialect != "postgresql":
            insert_rows(self.session, table, names, rows)
            return
        # COPY is ~10x faster than executemany on PostgreSQL; text values are parsed by the server.
        raw = self.session.connection().connection.driver_connection
        assert raw is not None
        quoted = ", ".join(f'"{n}"' for n in names)
        with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)


def times_or_null(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """values where keep, NO_TIME elsewhere."""
    return np.where(keep, values, NO_TIME)
