"""The journey engine's worker job: drain due step runs batch by batch, each batch its own transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.db.engine import unit_of_work
from siyu.db.types import utcnow
from siyu.journeys.engine import DEFAULT_BATCH, default_worker_name, process_due

JOB_NAME = "journeys.run_due_steps"
EVERY_SECONDS = 5.0
# One job run gives the other jobs of the same worker a turn after this long, even with a backlog.
BUDGET_SECONDS = 30.0


def run_until_empty(
    engine: Engine | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
    budget_seconds: float | None = BUDGET_SECONDS,
    worker_name: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    max_batches: int | None = None,
) -> dict[str, int]:
    """Run process_due in a fresh committed transaction per batch until nothing is due or the budget is spent."""
    worker = worker_name or default_worker_name()
    totals = {"batches": 0, "claimed": 0, "done": 0, "skipped": 0, "failed": 0, "retry": 0}
    started = time.monotonic()
    while True:
        with unit_of_work(engine) as session:
            counts = process_due(session, clock(), batch_size, worker)
        if counts["claimed"] == 0:
            break
        totals["batches"] += 1
        for k, v in counts.items():
            totals[k] += v
        if max_batches is not None and totals["batches"] >= max_batches:
            break
        if budget_seconds is not None and time.monotonic() - started >= budget_seconds:
            break
    return totals


def run_due_steps(session: Session) -> dict[str, int]:
    """The worker job: the runner's own session stays idle, each batch commits on its own."""
    bind: Any = session.get_bind()
    return run_until_empty(getattr(bind, "engine", bind))


def register_journey_jobs() -> None:
    """Register journeys.run_due_steps (every few seconds; several workers share the queue on PostgreSQL)."""
    from siyu.worker.jobs import register_job

    register_job(JOB_NAME, EVERY_SECONDS, run_due_steps)
