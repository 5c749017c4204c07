"""Binary COPY from NumPy columns: byte-exact against a row-by-row encoder, and stored like the text COPY."""

from __future__ import annotations

import struct
from datetime import date

import numpy as np
import pytest
from sqlalchemy import MetaData, Table, text
from sqlalchemy.orm import Session

from siyu.db.bulk import copy_rows
from siyu.db.pgcopy import Field, column_kinds, copy_binary, encode_rows
from siyu.insights import store

_FORMATS = {"int2": ">h", "int4": ">i", "int8": ">q", "float8": ">d", "date": ">i", "bool": ">?"}


def _reference(fields: list[Field]) -> bytes:
    """The same tuples encoded one value at a time with struct (the documented COPY BINARY layout)."""
    out = bytearray()
    n = len(fields[0].values)
    for i in range(n):
        out += struct.pack(">h", len(fields))
        for f in fields:
            if f.null is not None and f.null[i]:
                out += struct.pack(">i", -1)
                continue
            value = f.values[i]
            if f.kind == "text":
                data = str(value).encode()
            elif f.kind == "date":
                data = struct.pack(">i", int(value) - date(2000, 1, 1).toordinal())
            elif f.kind == "float8":
                data = struct.pack(">d", float(value))
            elif f.kind == "bool":
                data = struct.pack(">?", bool(value))
            else:
                data = struct.pack(_FORMATS[f.kind], int(value))
            out += struct.pack(">i", len(data)) + data
    return bytes(out)


def _columns(n: int, seed: int = 3) -> store.InsightColumns:
    rng = np.random.default_rng(seed)

    def ints(low: int, high: int, missing: float) -> np.ndarray:
        v = rng.integers(low, high, n)
        v[rng.random(n) < missing] = -1
        return v

    def floats(missing: float, scale: float) -> np.ndarray:
        v = rng.random(n) * scale
        v[rng.random(n) < missing] = np.nan
        return v

    segment = np.array(rng.choice(np.array(["important_value", "一般挽留", "r5f5m5", None], dtype=object), n))
    return store.InsightColumns(
        np.arange(1, n + 1), ints(1, 50, 0), ints(730_000, 740_000, 0.1), ints(730_000, 740_000, 0.1),
        ints(0, 900, 0.2), ints(0, 100, 0), ints(0, 10**12, 0), ints(1, 6, 0.3), ints(0, 2, 0.3),
        ints(1, 6, 0.3), segment, floats(0.2, 1.0), floats(0.2, 1e3), floats(0.2, 1e7), floats(0.2, 1e9),
        floats(0.2, 400.0), ints(0, 5000, 0.5), rng.random(n) < 0.3,
    )  # fmt: skip


def _kinds() -> dict[str, str]:
    names = store.INSIGHT_COLUMN_NAMES
    return dict(zip(names, column_kinds(store.INSIGHTS, names), strict=True))


def test_encoding_matches_a_value_by_value_encoder() -> None:
    fields = store._chunk_fields(_columns(500), 0, 500, 7, date(2026, 11, 1), _kinds())
    assert {f.kind for f in fields} == {"int4", "int8", "float8", "date", "bool", "text"}
    assert any(f.null is not None and f.null.any() for f in fields if f.kind == "text")
    assert encode_rows(fields) == _reference(fields)
    # Every value NULL, and no rows at all.
    empty = [
        Field("text", np.array([None, None], dtype=object), np.ones(2, bool)),
        Field("int4", np.zeros(2)),
    ]
    assert encode_rows(empty) == _reference(empty)
    assert encode_rows([Field("int8", np.zeros(0, dtype=np.int64))]) == b""


def test_a_value_too_wide_for_its_column_is_refused() -> None:
    with pytest.raises(ValueError, match="int4"):
        encode_rows([Field("int4", np.array([1, 2**31], dtype=np.int64))])


def test_binary_copy_stores_what_the_text_copy_stores(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    n = 3_000
    cols = _columns(n, seed=11)
    day = date(2026, 11, 1)
    tables = {}
    for name in ("ci_text", "ci_binary"):
        session.execute(text(f"CREATE TEMP TABLE {name} (LIKE customer_insights)"))
        tables[name] = Table(name, MetaData(), *[c._copy() for c in store.INSIGHTS.c])
    names = store.INSIGHT_COLUMN_NAMES
    copy_rows(session, tables["ci_text"], names, store._chunk_rows(cols, 0, n, 7, day.isoformat()))
    chunks = (
        encode_rows(store._chunk_fields(cols, a, min(n, a + 1000), 7, day, _kinds()))
        for a in range(0, n, 1000)
    )
    copy_binary(session, tables["ci_binary"], names, chunks)
    differ = session.scalar(
        text(
            "SELECT count(*) FROM ((TABLE ci_text EXCEPT ALL TABLE ci_binary)"
            " UNION ALL (TABLE ci_binary EXCEPT ALL TABLE ci_text)) d"
        )
    )
    stored = session.execute(
        text("SELECT count(*), count(p_alive), count(rfm_segment), sum(monetary_fen) FROM ci_binary")
    ).one()
    assert differ == 0
    assert stored == (
        n,
        int((~np.isnan(cols.p_alive)).sum()),
        sum(s is not None for s in cols.rfm_segment),
        int(cols.monetary_fen.sum()),
    )
