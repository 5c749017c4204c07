"""Refresh runs as the console and CLI read them, and the failure record an edge writes after a rollback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.models.insights import InsightRun


def latest_run(session: Session, *, done_only: bool = True) -> InsightRun | None:
    """The newest run (by default the newest finished one: the run whose scores are in the tables)."""
    query = select(InsightRun).order_by(InsightRun.id.desc()).limit(1)
    if done_only:
        query = query.where(InsightRun.status == "done")
    return session.scalars(query).first()


def run_history(session: Session, limit: int = 30) -> Sequence[InsightRun]:
    """The newest runs first, failed ones included."""
    return session.scalars(select(InsightRun).order_by(InsightRun.id.desc()).limit(max(1, limit))).all()


def record_failed_run(session: Session, as_of: date, message: str) -> InsightRun:
    """Write a failed run (in a fresh transaction, after the refresh's own was rolled back)."""
    now = utcnow()
    run = InsightRun(as_of=as_of, status="failed", message=message[:2000], started_at=now, finished_at=now)
    session.add(run)
    session.flush()
    return run
