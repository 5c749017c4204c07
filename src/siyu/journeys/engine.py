"""The journey engine: claim due step runs in batches, check conditions, act, mark done and schedule the next step.

Everything happens in the caller's transaction, set-based per batch. PostgreSQL workers claim with
SELECT … FOR UPDATE SKIP LOCKED, so several processes share the queue; on SQLite the claim is an UPDATE,
which takes the database's single write lock first (other processes wait for the commit).
"""

from __future__ import annotations

import gc
import os
import socket
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, case, literal_column, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from siyu.journeys.contract import JourneyDefinition
from siyu.journeys.engine_actions import Item, run_actions
from siyu.journeys.engine_conditions import Due, failed_conditions
from siyu.journeys.engine_sql import ids_in, insert_pending_runs
from siyu.journeys.enrolment import (
    STEP_RUNS,
    definitions,
    exit_enrolments,
)
from siyu.journeys.schedule import step_due_at
from siyu.journeys.sending import DEFER_USAGE, bump_usage
from siyu.models import (
    EnrolmentStatus,
    Journey,
    JourneyEnrolment,
    JourneyStatus,
    JourneyStepRun,
    StepRunStatus,
)
from siyu.timeutil import brand_zone

# A run that raised this many times is marked failed; before that it is retried after RETRY_AFTER × attempts.
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(minutes=5)
DEFAULT_BATCH = 2000
# Journeys whose due runs are claimed: paused and draft journeys keep their runs pending.
_CLAIMABLE = (JourneyStatus.active.value, JourneyStatus.archived.value)
ENROLMENTS = cast(Table, JourneyEnrolment.__table__)
# Enum .value is a descriptor call: read once, not per run.
_ACTIVE, _ARCHIVED = EnrolmentStatus.active.value, JourneyStatus.archived.value
_DONE, _SKIPPED, _FAILED = StepRunStatus.done.value, StepRunStatus.skipped.value, StepRunStatus.failed.value


def default_worker_name() -> str:
    """host:pid, written on each finished run (who did it)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass
class _Batch:
    """What one batch decided, written at the end with grouped statements."""

    now: datetime
    worker: str
    marks: dict[tuple[str, str, str | None], list[int]] = field(default_factory=dict)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    advance: list[Due] = field(default_factory=list)  # runs done, skipped by a condition or failed for good
    done_enrolments: list[int] = field(default_factory=list)
    exits: dict[str, list[int]] = field(default_factory=dict)  # reason -> enrolment ids to exit
    counts: Counter[str] = field(default_factory=Counter)
    usage: Counter[int] = field(default_factory=Counter)  # script_id -> touches, written last (see _write)

    def mark(self, due: Due, status: str, detail: dict[str, Any], error: str | None = None) -> None:
        """Record a final status (a StepRunStatus value) for due's run, grouped by identical detail."""
        # repr is a cheap grouping key: the details are small dicts built in a fixed key order.
        text = repr(detail)
        self.details.setdefault(text, detail)
        self.marks.setdefault((status, text, error), []).append(due.run_id)
        self.counts[status] += 1


def _claimable_journeys(session: Session) -> dict[int, tuple[str, str]]:
    rows = session.execute(
        select(Journey.id, Journey.status, Journey.code).where(Journey.status.in_(_CLAIMABLE))
    ).all()
    return {int(i): (str(getattr(s, "value", s)), str(c)) for i, s, c in rows}


_DUE_COLUMNS = ("id", "enrolment_id", "journey_id", "customer_id", "step_index", "attempts")


def _claim(session: Session, now: datetime, limit: int, worker: str, journey_ids: Sequence[int]) -> list[Due]:
    """Lock up to limit pending runs due by now (oldest first) and join their enrolments."""
    r, e = STEP_RUNS.c, ENROLMENTS.c
    is_pg = session.get_bind().dialect.name == "postgresql"
    # SQLite would rather search the journey_id index and sort every run (done ones too) of the journeys:
    # "+ 0" keeps that term off any index, so it walks the pending-only index in due_at order.
    journey = r.journey_id if is_pg else r.journey_id + 0
    due = (
        select(r.id)
        .where(
            # A literal, not a parameter: the planners match it to the pending-only index's predicate.
            r.status == literal_column("'pending'"),
            r.due_at <= now,
            journey.in_(sorted(journey_ids)),
        )
        .order_by(r.due_at)  # not (due_at, id): a tie-break would sort every run sharing a due_at
        .limit(limit)
    )
    enrolment_cols = (e.status, e.version, e.staff_id, e.entered_at)
    if is_pg:
        # One statement: the runs walked in due order off the pending-only index, each joined to its
        # enrolment by primary key. FOR UPDATE OF the runs only (other workers skip them, not wait); an
        # "id IN (locked subquery)" form made the planner hash-join a scan of the whole step-run table.
        claim = (
            due.with_only_columns(*(r[c] for c in _DUE_COLUMNS), *enrolment_cols, r.due_at)
            .join_from(STEP_RUNS, ENROLMENTS, e.id == r.enrolment_id)
            .with_for_update(skip_locked=True, of=STEP_RUNS)
        )
        # Runs sharing a due_at come back in whatever order the plan gives (it changes with the table's
        # statistics); the batch runs them in (due_at, id) order so ids, caps and results do not.
        rows = sorted(session.execute(claim).all(), key=lambda row: (row[-1], row[0]))
        return [_due(row[:6], row[6:10]) for row in rows]
    # SQLite: a write first, so this transaction holds the write lock before it reads what to do.
    stmt = (
        update(STEP_RUNS)
        .where(r.id.in_(due.scalar_subquery()))
        .values(worker=worker[:64])
        .returning(*(r[c] for c in _DUE_COLUMNS))
    )
    claimed = session.execute(stmt).all()
    if not claimed:
        return []
    enrolments = {
        int(row[0]): row[1:]
        for row in session.execute(
            select(e.id, *enrolment_cols).where(ids_in(session, e.id, {int(c[1]) for c in claimed}))
        ).all()
    }
    return [_due(row, enrolments[int(row[1])]) for row in claimed]


def _due(run: Sequence[Any], en: Sequence[Any]) -> Due:
    run_id, enrolment_id, journey_id, customer_id, step_index, attempts = run
    status, version, staff_id, entered_at = en
    return Due(
        int(run_id),
        int(enrolment_id),
        int(journey_id),
        int(customer_id),
        int(step_index),
        int(attempts or 0),
        int(version),
        None if staff_id is None else int(staff_id),
        entered_at,
        status.value if isinstance(status, EnrolmentStatus) else str(status),
    )


class _Engine:
    """One process_due call: the definitions and journey statuses of the batch, and the bisection."""

    def __init__(
        self,
        session: Session,
        now: datetime,
        worker: str,
        journeys: dict[int, tuple[str, str]],
        defs: dict[tuple[int, int], JourneyDefinition],
    ) -> None:
        self.session, self.now, self.worker, self.journeys, self.defs = session, now, worker, journeys, defs

    def process(self, dues: Sequence[Due], batch: _Batch) -> None:
        """Run dues in a savepoint; if that raises, split in halves until the failing runs are alone."""
        if not dues:
            return
        trial = _Batch(now=batch.now, worker=batch.worker)
        # queue_touches adds Script.usage_count increments to this trial's counter; _write writes them last.
        self.session.info[DEFER_USAGE] = trial.usage
        try:
            with self.session.begin_nested():
                self._execute(dues, trial)
                _write(self.session, trial, self.defs)
        except (OperationalError, InterfaceError):
            raise  # the database itself is unwell (lost connection, lock timeout): the whole batch retries
        except Exception as exc:  # one bad run must not sink the batch
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                raise
            if len(dues) == 1:
                self._fail(dues[0], exc, batch)
                return
            mid = len(dues) // 2
            self.process(dues[:mid], batch)
            self.process(dues[mid:], batch)
            return
        finally:
            self.session.info.pop(DEFER_USAGE, None)
        batch.counts.update(trial.counts)

    def _fail(self, due: Due, exc: Exception, batch: _Batch) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        attempt = due.attempts + 1
        if attempt >= MAX_ATTEMPTS:
            final = _Batch(now=batch.now, worker=batch.worker)
            final.mark(due, _FAILED, {"failed": "error", "attempts": attempt}, error)
            final.advance.append(due)
            try:
                with self.session.begin_nested():
                    _write(self.session, final, self.defs)
            except (OperationalError, InterfaceError):
                raise
            except Exception:  # scheduling the next step failed too: record the failure alone
                alone = _Batch(now=batch.now, worker=batch.worker)
                alone.mark(due, _FAILED, {"failed": "error", "attempts": attempt}, error)
                _write(self.session, alone, self.defs)
            batch.counts["failed"] += 1
            return
        self.session.execute(
            update(JourneyStepRun)
            .where(JourneyStepRun.id == due.run_id)
            .values(
                attempts=attempt,
                error=error,
                worker=batch.worker,
                due_at=batch.now + RETRY_AFTER * attempt,
            )
            .execution_options(synchronize_session=False)
        )
        batch.counts["retry"] += 1

    def _exits_firing(self, live: Sequence[tuple[Due, Item]]) -> dict[int, str]:
        """enrolment_id -> exit reason, for the batch's enrolments an exit rule of their version fires for.

        Checked when the step falls due, so a customer who bought since entry is not touched even if
        the periodic exit scan has not run yet. One query per (journey version, rule), batch ids only.
        """
        from siyu.journeys.exits import rule_clause

        by_version: dict[tuple[int, int], list[int]] = {}
        for due, _item in live:
            by_version.setdefault((due.journey_id, due.version), []).append(due.enrolment_id)
        out: dict[int, str] = {}
        e = JourneyEnrolment
        for pair, enrolment_ids in by_version.items():
            definition = self.defs[pair]
            for rule in definition.exit_rules:
                reason = rule.kind if rule.tag_id is None else f"{rule.kind}:{rule.tag_id}"
                hits = self.session.execute(
                    select(e.id).where(ids_in(self.session, e.id, enrolment_ids), rule_clause(rule))
                ).scalars()
                for enrolment_id in hits:
                    out.setdefault(int(enrolment_id), reason)
        return out

    def _execute(self, dues: Sequence[Due], batch: _Batch) -> None:
        live: list[tuple[Due, Item]] = []
        for due in dues:
            status, code = self.journeys.get(due.journey_id, ("", ""))
            definition = self.defs.get((due.journey_id, due.version))
            if due.enrolment_status != _ACTIVE:
                batch.mark(due, _SKIPPED, {"skipped": f"enrolment_{due.enrolment_status}"})
            elif status == _ARCHIVED:
                batch.mark(due, _SKIPPED, {"skipped": "journey_archived"})
                batch.exits.setdefault("journey_archived", []).append(due.enrolment_id)
            elif definition is None or due.step_index >= len(definition.steps):
                why = f"journey {due.journey_id} version {due.version} has no step {due.step_index}"
                batch.mark(due, _FAILED, {"failed": "definition"}, why)
            else:
                step = definition.steps[due.step_index]
                live.append((due, Item(due, step, code, definition.marketing)))
        exiting = self._exits_firing(live)
        for due, _item in live:
            if due.enrolment_id in exiting:
                reason = exiting[due.enrolment_id]
                batch.mark(due, _SKIPPED, {"skipped": "exited", "reason": reason})
                batch.exits.setdefault(reason, []).append(due.enrolment_id)
        live = [(d, i) for d, i in live if d.enrolment_id not in exiting]
        failed = failed_conditions(self.session, [(d, i.step) for d, i in live], self.now)
        acting: list[Item] = []
        for due, item in live:
            if due.run_id in failed:
                batch.mark(due, _SKIPPED, {"skipped": "condition", "conditions": failed[due.run_id]})
                batch.advance.append(due)
            else:
                acting.append(item)
        results = run_actions(self.session, acting, self.now)
        for item in acting:
            batch.mark(item.due, _DONE, {"actions": results[item.due.run_id]})
            batch.advance.append(item.due)
            batch.done_enrolments.append(item.due.enrolment_id)


def _write(session: Session, batch: _Batch, defs: dict[tuple[int, int], JourneyDefinition]) -> None:
    """Mark the runs, count done steps, schedule next steps or complete enrolments, apply exits."""
    for (status, detail, error), ids in batch.marks.items():
        values: dict[str, Any] = {
            "status": status,
            "detail": batch.details[detail],
            "done_at": batch.now,
            "worker": batch.worker[:64],
            "attempts": JourneyStepRun.attempts + 1,
        }
        if error is not None:
            values["error"] = error
        session.execute(
            update(JourneyStepRun)
            .where(ids_in(session, JourneyStepRun.id, ids))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    zone = brand_zone()
    next_rows: list[tuple[int, int, int, int, datetime]] = []
    finished: set[int] = set()
    for due in batch.advance:
        definition = defs.get((due.journey_id, due.version))
        nxt = due.step_index + 1
        if definition is None or nxt >= len(definition.steps):
            finished.add(due.enrolment_id)
            continue
        at = step_due_at(due.entered_at, definition.steps[nxt].delay, definition.quiet_hours, zone)
        next_rows.append((due.enrolment_id, due.journey_id, due.customer_id, nxt, at))
    # Enrolments first: the new runs' foreign-key checks then find rows this transaction already updated,
    # and lock nothing more (locking them first would write a lock record to each enrolment row).
    _update_enrolments(session, set(batch.done_enrolments), finished)
    insert_pending_runs(session, next_rows)
    for reason, enrolment_ids in batch.exits.items():
        exit_enrolments(session, enrolment_ids, reason, batch.now)
    # Last, so the script rows every worker updates stay locked only until the commit that follows.
    bump_usage(session, batch.usage)


def _update_enrolments(session: Session, done: set[int], finished: set[int]) -> None:
    """steps_done + 1 for done steps, completed after the last step: each enrolment row updated once."""
    e = JourneyEnrolment
    completed = case((e.status == EnrolmentStatus.active, EnrolmentStatus.completed.value), else_=e.status)
    groups = (
        (done & finished, {"steps_done": e.steps_done + 1, "status": completed}),
        (done - finished, {"steps_done": e.steps_done + 1}),
        (finished - done, {"status": completed}),
    )
    for ids, values in groups:
        if ids:
            session.execute(
                update(e)
                .where(ids_in(session, e.id, ids))
                .values(**values)
                .execution_options(synchronize_session=False)
            )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch runs.

    A batch allocates tens of thousands of small containers that live until its end; the collector
    would scan them again and again (≈ 30 µs per step, a quarter of the engine's Python time). Their
    cycles are few and are collected once the batch is over.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def process_due(
    session: Session, now: datetime, batch_size: int = DEFAULT_BATCH, worker_name: str | None = None
) -> dict[str, int]:
    """Claim and run one batch of due step runs in the caller's transaction; counts by outcome.

    claimed = done + skipped + failed + retry (retry: raised, left pending for a later attempt).
    """
    worker = worker_name or default_worker_name()
    counts = {"claimed": 0, "done": 0, "skipped": 0, "failed": 0, "retry": 0}
    journeys = _claimable_journeys(session)
    if not journeys:
        return counts
    dues = _claim(session, now, batch_size, worker, list(journeys))
    if not dues:
        return counts
    defs = definitions(session, {(d.journey_id, d.version) for d in dues})
    batch = _Batch(now=now, worker=worker)
    with _gc_paused():
        _Engine(session, now, worker, journeys, defs).process(dues, batch)
    counts["claimed"] = len(dues)
    for k in ("done", "skipped", "failed", "retry"):
        counts[k] = int(batch.counts.get(k, 0))
    return counts
