"""Re-detection over stored history (after rules change): a DetectionRun advanced chunk by chunk, resumable."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.compliance import incidents_store
from siyu.compliance.contract import Detector
from siyu.compliance.incidents_store import detect_stored
from siyu.db.types import utcnow
from siyu.errors import NotFound
from siyu.models import ChatMessage
from siyu.models.compliance import DetectionRun, RunStatus
from siyu.org.permissions import Actor

CHUNK = 5000


def running_run(session: Session) -> DetectionRun | None:
    """The run in progress, if any (there is at most one: starting another resumes it)."""
    return session.scalars(
        select(DetectionRun)
        .where(DetectionRun.status == RunStatus.running)
        .order_by(DetectionRun.id)
        .limit(1)
    ).first()


def start_run(session: Session, actor: Actor) -> DetectionRun:
    """Start a re-detection over every stored message, or return the one already running (no commit)."""
    run = running_run(session)
    if run is not None:
        return run
    total = session.scalar(select(func.count()).select_from(ChatMessage)) or 0
    run = DetectionRun(
        status=RunStatus.running,
        total=total,
        processed=0,
        incidents_found=0,
        last_message_id=0,
        started_by_account_id=actor.account_id,
    )
    session.add(run)
    session.flush()
    audit(session, actor, "compliance.rerun_started", "detection_run", run.id, {"total": total})
    return run


def get_run(session: Session, run_id: int) -> DetectionRun:
    """One run by id."""
    run = session.get(DetectionRun, run_id)
    if run is None:
        raise NotFound(f"detection run {run_id} does not exist")
    return run


def advance(session: Session, run: DetectionRun, engine: Detector, chunk: int = CHUNK) -> bool:
    """Detect over the next chunk of messages (by id, after last_message_id); True when the run is finished.

    The caller commits after each call, so progress is visible and a crash resumes from last_message_id.
    """
    ids = list(
        session.scalars(
            select(ChatMessage.id)
            .where(ChatMessage.id > run.last_message_id)
            .order_by(ChatMessage.id)
            .limit(chunk)
        )
    )
    if not ids:
        run.status = RunStatus.succeeded
        run.finished_at = utcnow()
        run.total = max(run.total, run.processed)
        return True
    outcome = detect_stored(session, ids, engine)
    run.processed += len(ids)
    run.incidents_found += outcome.incidents
    run.last_message_id = ids[-1]
    run.total = max(run.total, run.processed)  # messages ingested during the run are covered too
    return False


def fail(session: Session, run: DetectionRun, error: str) -> None:
    """Mark a run failed (the operator starts a new one; it resumes nothing)."""
    run.status = RunStatus.failed
    run.error = error[:2000]
    run.finished_at = utcnow()


def continue_running(session: Session) -> int:
    """Worker job: advance the running run by one chunk (the runner commits); returns messages processed."""
    run = running_run(session)
    if run is None:
        return 0
    before = run.processed
    advance(session, run, incidents_store.get_engine(session))
    return run.processed - before
