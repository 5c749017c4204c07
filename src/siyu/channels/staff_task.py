"""The staff-task adapter: each touch becomes a task for the guide, who sends the text by hand and marks it done.

The outbound row stays queued until the task is done; journeys.sending.confirm_for_tasks then confirms it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from siyu.channels.contract import Delivery, DeliveryResult, register_adapter
from siyu.db.bulk import copy_rows, next_ids
from siyu.models import StaffTask
from siyu.models.enums import TaskStatus

TASK_KIND = "send_message"
_TITLE_CHARS = 60
_COLUMNS = (
    "id",
    "staff_id",
    "customer_id",
    "group_id",
    "title",
    "body",
    "script_id",
    "idempotency_key",
    "origin",
)


def task_key(outbound_id: int) -> str:
    """The staff task's idempotency key for one outbound row."""
    return f"out:{outbound_id}"


def _title(text: str) -> str:
    # The inbox lists titles; the first line of the text, shortened, tells the guide what to send.
    first = text.strip().splitlines()[0] if text.strip() else "发送消息"
    return first if len(first) <= _TITLE_CHARS else first[: _TITLE_CHARS - 1] + "…"


class StaffTaskAdapter:
    """Writes one StaffTask per delivery (bulk) for the sending staff member; due after `window`."""

    name = "staff_task"

    def __init__(self, window: timedelta = timedelta(hours=24)) -> None:
        self.window = window

    def deliver(
        self, session: Session, deliveries: Sequence[Delivery], now: datetime
    ) -> list[DeliveryResult]:
        """One task per delivery with a staff member; a delivery without one fails, naming why."""
        doable = [d for d in deliveries if d.staff_id is not None]
        ids = next_ids(session, StaffTask.__table__, len(doable))  # type: ignore[arg-type]
        task_of = {d.outbound_id: task_id for d, task_id in zip(doable, ids, strict=True)}
        rows = [
            (
                task_of[d.outbound_id],
                d.staff_id,
                d.customer_id,
                d.group_id,
                _title(d.text),
                d.text,
                d.script_id,
                task_key(d.outbound_id),
                f"{d.source_type}:{d.source_id}" if d.source_id is not None else d.source_type,
            )
            for d in doable
        ]
        copy_rows(
            session,
            StaffTask.__table__,  # type: ignore[arg-type]
            _COLUMNS,
            rows,
            constants={
                "kind": TASK_KIND,
                "status": TaskStatus.open.value,
                "due_at": now + self.window,
                "created_at": now,
            },
        )
        results: list[DeliveryResult] = []
        for d in deliveries:
            task_id = task_of.get(d.outbound_id)
            if task_id is None:
                results.append(
                    DeliveryResult(d.outbound_id, "failed", reason="no staff member to send it (no owner)")
                )
            else:
                results.append(DeliveryResult(d.outbound_id, "queued", task_id=task_id))
        return results


STAFF_TASK = StaffTaskAdapter()
register_adapter(STAFF_TASK)
