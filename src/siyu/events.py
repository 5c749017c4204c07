"""The append-only event log: every write that feeds a KPI or an SOP trigger records one here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

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
