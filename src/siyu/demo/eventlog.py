"""Events of the demo history, written in bulk beside the rows they describe (same transaction)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from siyu.demo.writer import Column, Const, Ints, Lazy, Times, Writer
from siyu.models import Event

# The event kinds the demo writes; KPIs and SOP triggers read them.
JOINED_CHANNEL = "joined_channel"
LEFT_CHANNEL = "left_channel"
ORDERED = "ordered"
REFUNDED = "refunded"
TAGGED = "tagged"
TASK_DONE = "task_done"
REFERRED = "referred"
STORE_VISIT = "store_visit"
EVENT_KINDS = (JOINED_CHANNEL, LEFT_CHANNEL, ORDERED, REFUNDED, TAGGED, TASK_DONE, REFERRED, STORE_VISIT)


def emit(
    writer: Writer,
    kind: str,
    occurred: np.ndarray,
    *,
    customer: np.ndarray | None = None,
    staff: np.ndarray | None = None,
    unit: np.ndarray | None = None,
    subject_type: str | None = None,
    subject_id: np.ndarray | None = None,
    data: Callable[[int, int], Sequence[str | None]] | None = None,
) -> None:
    """Append one event per element of occurred; id arrays use -1 for NULL; data yields JSON text per chunk."""
    count = len(occurred)
    if count == 0:
        return
    # recorded_at = occurred_at: the history is backfilled, and a wall-clock value would break determinism.
    times = Times(occurred)

    def ids(values: np.ndarray | None) -> Column:
        return Const(None) if values is None else Ints(values, nullable=True)

    writer.write(
        Event.__table__,  # type: ignore[arg-type]
        count,
        {
            "kind": Const(kind),
            "occurred_at": times,
            "recorded_at": times,
            "customer_id": ids(customer),
            "staff_id": ids(staff),
            "unit_id": ids(unit),
            "subject_type": Const(subject_type),
            "subject_id": ids(subject_id),
            "data": Const(None) if data is None else Lazy(data),
        },
    )


def json_text(template: str, *columns: Sequence[object] | np.ndarray) -> Callable[[int, int], list[str]]:
    """A chunked JSON-text maker: template uses {0}, {1}… for the columns' values (already JSON-safe)."""

    def make(a: int, b: int) -> list[str]:
        parts = [c[a:b].tolist() if isinstance(c, np.ndarray) else c[a:b] for c in columns]
        return [template.format(*row) for row in zip(*parts, strict=True)]

    return make
