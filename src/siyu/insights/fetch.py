"""All-integer query results straight into NumPy, without a Python object per row.

The table is read in id ranges; the database concatenates each range's rows into one value, decoded
in bulk: PostgreSQL as big-endian 8-byte integers (string_agg of int8send), SQLite as fixed-width
hexadecimal text (group_concat of printf('%016x…')). Fetching 10M order rows as Python tuples (or
COPY, which psycopg hands over one row per read) cost more per row than the scan itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import BigInteger, LargeBinary, Select, cast, func, literal, select
from sqlalchemy.orm import Session

# Ids per range: one value of 250,000 rows × columns × 8 bytes (PostgreSQL) or 16 hex digits (SQLite).
ID_CHUNK = 250_000
_HEX = np.zeros(256, dtype=np.uint8)
_HEX[ord("0") : ord("9") + 1] = np.arange(10, dtype=np.uint8)
_HEX[ord("a") : ord("f") + 1] = np.arange(10, 16, dtype=np.uint8)


def fetch_int64(session: Session, query: Select[Any] | Any, id_column: Any) -> NDArray[np.int64]:
    """Rows of an all-integer, null-free query as an (n, columns) int64 array (row order not kept).

    id_column: an integer key of the scanned table; the table is read in ranges of it.
    """
    columns = len(query.selected_columns)
    postgres = session.get_bind().dialect.name == "postgresql"
    low, high = session.execute(select(func.min(id_column), func.max(id_column))).one()
    parts = [np.zeros((0, columns), dtype=np.int64)]
    if low is None:
        return parts[0]
    for start in range(int(low), int(high) + 1, ID_CHUNK):
        inner = query.where(id_column.between(start, start + ID_CHUNK - 1)).subquery()
        if postgres:
            # Big-endian 8-byte values, concatenated by the server: one bytea per range.
            packed = func.string_agg(_pg_bytes(inner.c), literal(b"", LargeBinary))
            data = session.scalar(select(packed))
            if data:
                parts.append(np.frombuffer(data, dtype=">i8").astype(np.int64).reshape(-1, columns))
            continue
        text = session.scalar(
            select(cast(func.group_concat(func.printf("%016x" * columns, *inner.c), ""), LargeBinary))
        )
        if text:
            digits = _HEX[np.frombuffer(text, dtype=np.uint8)].reshape(-1, 16 * columns)
            pairs = (digits[:, 0::2] << 4) | digits[:, 1::2]  # two hex digits → one byte, big-endian
            parts.append(np.ascontiguousarray(pairs).view(">i8").astype(np.int64))
    return np.concatenate(parts)


def _pg_bytes(columns: Any) -> Any:
    out: Any = None
    for column in columns:
        part = func.int8send(cast(column, BigInteger))
        out = part if out is None else out.op("||")(part)
    return out
