"""The engine's bulk SQL: one-parameter id filters (names kept; siyu.db.bulk.any_of does it) and run inserts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, text
from sqlalchemy.orm import Session

from siyu.db.bulk import any_of, datetime_adapter, insert_rows, pg_array


def ids_in(session: Session, column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """column is one of ids, bound as a single parameter (siyu.db.bulk.any_of)."""
    return any_of(session, column, ids)


def keys_in(session: Session, column: Any, keys: Iterable[str]) -> ColumnElement[bool]:
    """column is one of keys (strings), bound as a single parameter (siyu.db.bulk.any_of)."""
    return any_of(session, column, [str(k) for k in keys])


_UNNEST_STEP_RUNS = text(
    "INSERT INTO journey_step_runs (enrolment_id, journey_id, customer_id, step_index, due_at, status, attempts)"
    " SELECT e, j, c, s, d, 'pending', 0 FROM unnest(CAST(:e AS BIGINT[]), CAST(:j AS BIGINT[]),"
    " CAST(:c AS BIGINT[]), CAST(:s AS INTEGER[]), CAST(:d AS TIMESTAMPTZ[])) AS t(e, j, c, s, d)"
)


def insert_pending_runs(session: Session, rows: Sequence[tuple[int, int, int, int, datetime]]) -> None:
    """Insert pending step runs (enrolment, journey, customer, step index, aware due_at) in one statement.

    PostgreSQL takes five arrays through unnest (five parameters whatever the row count); SQLite goes
    through siyu.db.bulk.insert_rows.
    """
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        e, j, c, s, d = (list(col) for col in zip(*rows, strict=True))
        arrays = {"e": e, "j": j, "c": c, "s": s, "d": d}
        session.execute(_UNNEST_STEP_RUNS, {k: pg_array(v) for k, v in arrays.items()})
        return
    from siyu.journeys.enrolment import STEP_RUN_COLUMNS, STEP_RUNS

    to_db = datetime_adapter(session)
    insert_rows(
        session,
        STEP_RUNS,
        STEP_RUN_COLUMNS,
        [(e, j, c, s, to_db(d), 0) for e, j, c, s, d in rows],
        constants={"status": "pending"},
    )
