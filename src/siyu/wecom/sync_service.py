"""WeCom sync runs: start, drive stage by stage with a committed checkpoint per page, resume, list."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models import WecomSyncRun
from siyu.models.wecom import SyncStatus
from siyu.org.permissions import Actor, PermissionRole

if TYPE_CHECKING:
    from siyu.channels.wecom.client import WecomClient

log = logging.getLogger(__name__)

KINDS = ("full", "incremental", "behaviour")
STAGES: dict[str, tuple[str, ...]] = {
    "full": ("staff", "tags", "contacts", "follows", "groups", "behaviour", "group_stats"),
    "incremental": ("staff", "tags", "changed_contacts", "groups", "behaviour", "group_stats"),
    "behaviour": ("staff", "behaviour", "group_stats"),
}
# Checkpoint keys that outlive their stage (the follow-user list is read once per run).
KEEP_KEYS = ("userids", "unknown_userids")
STALE_AFTER = timedelta(minutes=2)
SYNC_ROLES = (
    PermissionRole.admin,
    PermissionRole.private_domain_lead,
)  # who may start one  # a running run without a heartbeat this long is presumed dead


@dataclass
class SyncContext:
    """What a stage needs: the session, the client, the run, and the caller's commit (it owns the transaction)."""

    session: Session
    client: WecomClient
    run: WecomSyncRun
    commit: Callable[[], None]
    clock: Callable[[], datetime] = utcnow
    on_progress: Callable[[WecomSyncRun], None] | None = None
    calls_seen: int = field(default=0)

    @property
    def checkpoint(self) -> dict[str, Any]:
        """The run's checkpoint (read-only view; change it through save)."""
        return dict(self.run.checkpoint or {})

    def count(self, **deltas: int) -> None:
        """Add to the run's counts (saved with the next save)."""
        counts = dict(self.run.counts or {})
        for key, value in deltas.items():
            counts[key] = counts.get(key, 0) + int(value)
        self.run.counts = counts  # a new dict: JSON columns track assignment, not mutation

    def save(self, **checkpoint: Any) -> None:
        """Store the checkpoint, heartbeat and API call count, then commit: a crash resumes from here."""
        run = self.run
        if checkpoint:
            run.checkpoint = {**(run.checkpoint or {}), **checkpoint}
        run.api_calls = (run.api_calls or 0) + self.client.calls - self.calls_seen
        self.calls_seen = self.client.calls
        run.heartbeat_at = self.clock()
        self.commit()
        if self.on_progress is not None:
            self.on_progress(run)


def _latest(session: Session) -> WecomSyncRun | None:
    return session.scalars(
        select(WecomSyncRun).where(WecomSyncRun.kind.in_(KINDS)).order_by(WecomSyncRun.id.desc()).limit(1)
    ).first()


def start_run(session: Session, kind: str, now: datetime, actor: Actor | None = None) -> WecomSyncRun:
    """Create a sync run; refused while another one is alive (heartbeat younger than STALE_AFTER)."""
    if kind not in KINDS:
        raise Invalid(f"kind: a sync run is one of {', '.join(KINDS)}, not {kind!r}")
    alive = session.scalars(
        select(WecomSyncRun).where(
            WecomSyncRun.kind.in_(KINDS),
            WecomSyncRun.status == SyncStatus.running,
            WecomSyncRun.heartbeat_at > now - STALE_AFTER,
        )
    ).first()
    if alive is not None:
        raise Conflict(
            f"WeCom sync run {alive.id} ({alive.kind}, stage {alive.stage}) is still running: "
            "wait for it or resume it once it stops"
        )
    run = WecomSyncRun(
        kind=kind,
        status=SyncStatus.running,
        stage=STAGES[kind][0],
        checkpoint={},
        counts={},
        progress_done=0,
        progress_total=0,
        api_calls=0,
        started_at=now,
        heartbeat_at=now,
        started_by_account_id=actor.account_id if actor else None,
    )
    session.add(run)
    session.flush()
    # Interrupted runs nobody resumed are closed, so they stop showing as running.
    for old in session.scalars(
        select(WecomSyncRun).where(
            WecomSyncRun.kind.in_(KINDS), WecomSyncRun.status == SyncStatus.running, WecomSyncRun.id != run.id
        )
    ):
        old.status = SyncStatus.failed
        old.error = f"interrupted in stage {old.stage} and not resumed; superseded by run {run.id}"
    if actor is not None:
        audit(session, actor, "wecom.sync.start", "wecom_sync_run", run.id, {"kind": kind})
    return run


def resumable_run(
    session: Session, now: datetime, stale_after: timedelta = STALE_AFTER
) -> WecomSyncRun | None:
    """The latest run if it can be resumed: failed, or running without a heartbeat for stale_after."""
    run = _latest(session)
    if run is None or run.status is SyncStatus.done:
        return None
    if run.status is SyncStatus.running and run.heartbeat_at > now - stale_after:
        return None
    return run


def get_run(session: Session, run_id: int) -> WecomSyncRun:
    """One sync run or NotFound."""
    run = session.get(WecomSyncRun, run_id)
    if run is None or run.kind not in KINDS:
        raise NotFound(f"WeCom sync run {run_id} does not exist")
    return run


def list_runs(session: Session, limit: int = 20) -> list[WecomSyncRun]:
    """The latest sync runs, newest first."""
    return list(
        session.scalars(
            select(WecomSyncRun)
            .where(WecomSyncRun.kind.in_(KINDS))
            .order_by(WecomSyncRun.id.desc())
            .limit(limit)
        )
    )


def _stage_functions() -> dict[str, Callable[[SyncContext], None]]:
    from siyu.wecom import sync_groups, sync_stages, sync_stats

    return {
        "staff": sync_stages.stage_staff,
        "tags": sync_stages.stage_tags,
        "contacts": sync_stages.stage_contacts,
        "follows": sync_stages.stage_close_unseen,
        "changed_contacts": sync_stages.stage_changed_contacts,
        "groups": sync_groups.stage_groups,
        "behaviour": sync_stats.stage_behaviour,
        "group_stats": sync_stats.stage_group_stats,
    }


def drive(
    session: Session,
    run: WecomSyncRun,
    client: WecomClient,
    commit: Callable[[], None],
    *,
    clock: Callable[[], datetime] = utcnow,
    on_progress: Callable[[WecomSyncRun], None] | None = None,
) -> WecomSyncRun:
    """Run (or continue) a run from its stage and checkpoint to the end, committing after every page.

    A failure marks the run failed with the error (committed) and re-raises; a killed process leaves it
    running with a stale heartbeat. Either way drive() on the same run continues from the last checkpoint.
    """
    functions = _stage_functions()
    stages = STAGES[run.kind]
    ctx = SyncContext(session, client, run, commit, clock, on_progress, client.calls)
    run.status, run.error, run.finished_at = SyncStatus.running, None, None
    ctx.save()
    try:
        while run.stage != "done":
            functions[run.stage](ctx)
            position = stages.index(run.stage)
            run.stage = stages[position + 1] if position + 1 < len(stages) else "done"
            run.checkpoint = {k: v for k, v in (run.checkpoint or {}).items() if k in KEEP_KEYS}
            run.progress_done = run.progress_total = 0
            if run.stage == "done":
                run.status, run.finished_at = SyncStatus.done, clock()
            ctx.save()
    except Exception as exc:
        session.rollback()
        run.status = SyncStatus.failed
        run.error = f"{type(exc).__name__} in stage {run.stage}: {exc}"[:2000]
        run.heartbeat_at = clock()
        commit()
        log.warning("WeCom sync run %s failed: %s", run.id, run.error)
        raise
    return run


def sync_now(
    session: Session,
    client: WecomClient,
    kind: str,
    commit: Callable[[], None],
    *,
    actor: Actor | None = None,
    resume: bool = False,
    clock: Callable[[], datetime] = utcnow,
    on_progress: Callable[[WecomSyncRun], None] | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> WecomSyncRun:
    """Start a run of kind (or, with resume, continue the latest interrupted one) and drive it to the end."""
    run = resumable_run(session, clock(), stale_after) if resume else None
    if resume and run is None:
        raise NotFound("no WeCom sync run to resume (the latest one finished, or is still alive)")
    if run is None:
        run = start_run(session, kind, clock(), actor)
        commit()
    elif actor is not None:
        audit(session, actor, "wecom.sync.resume", "wecom_sync_run", run.id, {"stage": run.stage})
    return drive(session, run, client, commit, clock=clock, on_progress=on_progress)


def _job(kind: str) -> Callable[[Session], Any]:
    def job(session: Session) -> Any:
        from siyu.wecom.credentials import client_for, load_app

        config = load_app(session)
        if config is None or not config.enabled:
            return None  # not configured: nothing to do, not an error
        now = utcnow()
        stale = resumable_run(session, now)
        with client_for(session) as client:
            if stale is not None and stale.kind == kind:
                return drive(session, stale, client, session.commit).id
            try:
                run = start_run(session, kind, now)
            except Conflict:
                return None  # another run is alive; the next tick tries again
            session.commit()
            return drive(session, run, client, session.commit).id

    job.__name__ = f"wecom_{kind}_sync"
    return job


def register_sync_jobs() -> None:
    """wecom.incremental_sync hourly, wecom.behaviour_snapshots daily, wecom.push_tags every minute."""
    from datetime import time

    from siyu.wecom.sync_tag_push import push_tags_job
    from siyu.worker.jobs import register_daily_job, register_job

    register_job("wecom.incremental_sync", 3600, _job("incremental"))
    register_daily_job("wecom.behaviour_snapshots", time(6, 30), _job("behaviour"))
    register_job("wecom.push_tags", 60, push_tags_job)


def start_from_console(session: Session, actor: Actor, kind: str, *, resume: bool = False) -> WecomSyncRun:
    """Start (or pick the interrupted run to resume) for a request; the caller commits, then runs it."""
    from siyu.wecom.credentials import require_app

    if actor.role not in SYNC_ROLES:
        raise Forbidden("WeCom sync: only an admin or the private-domain lead may start a sync")
    require_app(session)  # fail now with "WeCom is not configured", not later in the background
    now = utcnow()
    if resume:
        run = resumable_run(session, now)
        if run is None:
            raise NotFound("no WeCom sync run to resume (the latest one finished, or is still alive)")
        audit(session, actor, "wecom.sync.resume", "wecom_sync_run", run.id, {"stage": run.stage})
        run.heartbeat_at = now  # claimed: a second click now sees it alive
        return run
    return start_run(session, kind, now, actor)


def run_in_background(sessions: Callable[[], Session], run_id: int) -> None:
    """Drive a committed run in its own session (a BackgroundTask after the response); failures are logged."""
    from siyu.wecom.credentials import client_for

    with sessions() as session:
        run = session.get(WecomSyncRun, run_id)
        if run is None or run.status is SyncStatus.done:
            return
        try:
            with client_for(session) as client:
                drive(session, run, client, session.commit)
        except Exception:  # drive() stored the error on the run; the page shows it
            log.exception("WeCom sync run %s stopped", run_id)
