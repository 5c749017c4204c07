"""PostgreSQL binary COPY built from NumPy columns, without a Python object per value.

Each row of the stream is a 16-bit field count, then per field a 32-bit length (-1 for NULL) and the
value's big-endian bytes. The rows are first laid out at their widest (every field present, text at
its longest) in one byte matrix filled column by column, then the absent bytes (NULL values, text
padding) are dropped by one boolean mask: the kept bytes, read row by row, are the stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" * 2  # signature, flags, header extension
TRAILER = b"\xff\xff"
_PG_EPOCH_ORDINAL = date(2000, 1, 1).toordinal()
# PostgreSQL type name (as SQLAlchemy renders the column) → binary kind.
_KINDS = {
    "SMALLINT": "int2",
    "INTEGER": "int4",
    "BIGINT": "int8",
    "FLOAT": "float8",
    "DOUBLE PRECISION": "float8",
    "DATE": "date",
    "BOOLEAN": "bool",
    "VARCHAR": "text",
    "TEXT": "text",
}
_INT_WIDTH = {"int2": 2, "int4": 4, "int8": 8}


@dataclass
class Field:
    """One column's values and its NULL positions (null None: no NULLs).

    Values by kind: int2/int4/int8 integers, float8 floats, date date ordinals (date.toordinal()), bool
    booleans, text an object array of str (entries at NULL positions are ignored).
    """

    kind: str
    values: NDArray[np.generic]
    null: NDArray[np.bool_] | None = None


def column_kinds(table: Table, names: Sequence[str]) -> list[str]:
    """The binary kind of each named column of table, from its PostgreSQL type."""
    dialect = postgresql.dialect()
    kinds = []
    for name in names:
        rendered = table.c[name].type.compile(dialect=dialect).split("(")[0].strip().upper()
        if rendered not in _KINDS:
            raise ValueError(
                f"binary COPY into {table.name}.{name}: no encoder for PostgreSQL type {rendered}"
            )
        kinds.append(_KINDS[rendered])
    return kinds


def _fixed(field: Field, n: int) -> NDArray[np.uint8]:
    """The (n, width) big-endian bytes of a fixed-width field."""
    kind, values = field.kind, field.values
    if kind in _INT_WIDTH:
        ints = np.asarray(values).astype(np.int64)
        bits = 8 * _INT_WIDTH[kind]
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        present = ints if field.null is None else ints[~field.null]
        if present.size and (int(present.min()) < low or int(present.max()) > high):
            raise ValueError(
                f"binary COPY: a value does not fit {kind} ({int(present.min())}…{int(present.max())})"
            )
        raw = ints.astype(f">i{bits // 8}")
    elif kind == "float8":
        raw = np.asarray(values, dtype=np.float64).astype(">f8")
    elif kind == "date":
        raw = (np.asarray(values).astype(np.int64) - _PG_EPOCH_ORDINAL).astype(">i4")
    elif kind == "bool":
        raw = np.asarray(values).astype(bool).astype(np.uint8)
    else:
        raise ValueError(f"binary COPY: unknown kind {kind}")
    return np.ascontiguousarray(raw).view(np.uint8).reshape(n, -1)


def _text(field: Field, n: int) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """The (n, longest) UTF-8 bytes of a text field, zero-padded, and each row's byte length."""
    null = field.null if field.null is not None else np.zeros(n, dtype=bool)
    values = np.asarray(field.values, dtype=object)
    present = values[~null]
    distinct = sorted(set(present.tolist()))
    encoded = [str(v).encode() for v in distinct]
    longest = max((len(e) for e in encoded), default=0)
    table = np.array(encoded or [b""], dtype=f"S{max(longest, 1)}")
    code = np.zeros(n, dtype=np.int64)
    if distinct:
        code[~null] = np.searchsorted(np.array(distinct, dtype=object), present)
    lengths = np.array([len(e) for e in encoded] or [0], dtype=np.int64)[code]
    raw = table[code].view(np.uint8).reshape(n, -1)[:, :longest]
    return raw, np.where(null, 0, lengths)


def encode_rows(fields: Sequence[Field]) -> bytes:
    """The rows of aligned fields as binary COPY tuples (no signature or trailer)."""
    n = int(fields[0].values.shape[0]) if fields else 0
    if n == 0:
        return b""
    count = np.frombuffer(len(fields).to_bytes(2, "big"), dtype=np.uint8)
    blocks: list[NDArray[np.uint8]] = [np.broadcast_to(count, (n, 2))]
    keeps: list[NDArray[np.bool_]] = [np.ones((n, 2), dtype=bool)]
    for field in fields:
        null = field.null if field.null is not None else np.zeros(n, dtype=bool)
        if field.kind == "text":
            data, length = _text(field, n)
            present = np.arange(data.shape[1])[None, :] < length[:, None]
        else:
            data = _fixed(field, n)
            length = np.full(n, data.shape[1], dtype=np.int64)
            present = np.broadcast_to(~null[:, None], data.shape)
        header = np.where(null, -1, length).astype(">i4").view(np.uint8).reshape(n, 4)
        blocks += [header, data]
        keeps += [np.ones((n, 4), dtype=bool), present]
    matrix = np.concatenate(blocks, axis=1)
    keep = np.concatenate(keeps, axis=1)
    return matrix[keep].tobytes()


def copy_binary(session: Session, table: Table, names: Sequence[str], chunks: Iterable[bytes]) -> None:
    """COPY table (names) FROM STDIN in binary format, the encoded rows given chunk by chunk."""
    connection = session.connection()
    prep = connection.dialect.identifier_preparer
    quoted = ", ".join(prep.quote(n) for n in names)
    sql = f"COPY {prep.format_table(table)} ({quoted}) FROM STDIN (FORMAT BINARY)"
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        copy.write(SIGNATURE)
        for chunk in chunks:
            if chunk:
                copy.write(chunk)
        copy.write(TRAILER)
