"""The append-only event log: every write that feeds a KPI or an SOP trigger records one here."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, text
from sqlalchemy.orm import Session, aliased

from siyu.db.bulk import datetime_adapter, insert_rows
from siyu.db.types import utcnow
from siyu.models import Event

EVENT_COLUMNS = (
    "kind",
    "occurred_at",
    "recorded_at",
    "customer_id",
    "staff_id",
    "unit_id",
    "subject_type",
    "subject_id",
    "data",
)


# Watermark readers (journey triggers, the live leaderboard, rollups, the WeCom tag push) scan events by
# id. On PostgreSQL ids come from a sequence when a row is inserted, not when it commits, so a long
# transaction (an order import) can commit ids below what a reader has already passed. Every event
# writer therefore holds an advisory lock in shared mode until it commits or rolls back. A reader that
# can take it exclusively for an instant knows no writer is in flight: every id up to max(id) is
# committed. Otherwise it moves only through ids it can see without a gap: a missing id may belong to a
# writer still in flight. SQLite has one writer at a time, so ids commit in order there.
# The key also holds the events table's oid, so schemas sharing one database (parallel test workers,
# several brands) never wait on each other's writers.
EVENT_WRITE_LOCK = 0x5359_4556  # "SYEV"
SETTLE_WINDOW = 100_000  # ids walked per call when a writer is in flight
_KEY = "(CAST(:k AS bigint) << 32) | CAST(CAST('events' AS regclass) AS oid)::bigint"


def hold_event_write_lock(session: Session) -> None:
    """Mark the caller's transaction as an event writer (PostgreSQL; released at commit or rollback)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock_shared({_KEY})"), {"k": EVENT_WRITE_LOCK})


def _max_id(session: Session) -> int:
    return int(session.scalar(select(func.max(Event.id))) or 0)


def quiet_event_id(session: Session, wait_seconds: float = 0.0) -> int | None:
    """max(events.id) when no event writer is in flight (retried for up to wait_seconds), else None."""
    if session.get_bind().dialect.name != "postgresql":
        return _max_id(session)
    deadline = time.monotonic() + wait_seconds
    while True:
        # A session-level try-lock: it never queues, so writers are not held up behind a waiting reader.
        if session.scalar(text(f"SELECT pg_try_advisory_lock({_KEY})"), {"k": EVENT_WRITE_LOCK}):
            try:
                return _max_id(session)
            finally:
                session.execute(text(f"SELECT pg_advisory_unlock({_KEY})"), {"k": EVENT_WRITE_LOCK})
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def settled_event_id(session: Session, after: int, *, window: int = SETTLE_WINDOW) -> int:
    """The highest id s ≥ after such that every event with after < id ≤ s is committed and visible.

    after: the caller's watermark. With no writer in flight that is max(id); otherwise the end of the
    gap-free run of ids after the watermark, looked for within `window` ids (a rolled-back id then holds
    the reader back until the next quiet instant, which is safe, never wrong).
    """
    quiet = quiet_event_id(session)
    if quiet is not None:
        return max(quiet, after)
    e, successor = aliased(Event), aliased(Event)
    first = session.scalar(select(func.min(e.id)).where(e.id > after))
    if first is None or first != after + 1:
        return after  # nothing after the mark, or its very next id is not visible
    # The first visible id whose successor is not: the run after the mark ends there. Bounded: an index
    # probe per id (≈ 1.5 µs), so a window of ids costs ~0.15 s at most; the next call goes on from there.
    end = session.scalar(
        select(e.id)
        .where(e.id > after, e.id <= after + window, ~exists().where(successor.id == e.id + 1))
        .order_by(e.id)
        .limit(1)
    )
    # None: every id of the window has a visible successor, so by induction after + window + 1 is visible.
    return int(end) if end is not None else after + window


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append."""

    kind: str
    occurred_at: datetime
    customer_id: int | None = None
    staff_id: int | None = None
    unit_id: int | None = None
    subject_type: str | None = None
    subject_id: int | None = None
    data: dict[str, Any] | None = None


def record_events(session: Session, events: Sequence[NewEvent]) -> int:
    """Append events in the caller's transaction (set-based); returns how many were written."""
    if not events:
        return 0
    hold_event_write_lock(session)
    to_db = datetime_adapter(session)
    now = to_db(utcnow())
    rows = [
        (
            e.kind,
            to_db(e.occurred_at),
            now,
            e.customer_id,
            e.staff_id,
            e.unit_id,
            e.subject_type,
            e.subject_id,
            None if e.data is None else json.dumps(e.data, ensure_ascii=False),
        )
        for e in events
    ]
    insert_rows(session, Event.__table__, EVENT_COLUMNS, rows)  # type: ignore[arg-type]
    return len(rows)
