"""The loop: run each due job in its own unit of work; a failing job is logged and never stops the others."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from siyu.db.engine import unit_of_work
from siyu.db.types import utcnow
from siyu.timeutil import brand_zone
from siyu.worker.jobs import Job

log = logging.getLogger("siyu.worker")


@dataclass
class JobState:
    """A job's schedule and record inside one runner."""

    job: Job
    due: datetime
    runs: int = 0
    failures: int = 0
    last_error: str | None = None


class Runner:
    """Runs registered jobs when due; the clock is injectable so schedules are testable without sleeping."""

    def __init__(
        self,
        jobs: Sequence[Job],
        engine: Engine | None = None,
        *,
        zone: ZoneInfo | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.zone = zone or brand_zone()
        self.clock = clock
        now = clock()
        self.states = {job.name: JobState(job, job.first_due(now, self.zone)) for job in jobs}

    def run_due(self) -> list[str]:
        """Run every job whose time has come (earliest first); returns the names run."""
        now = self.clock()
        due = sorted((s for s in self.states.values() if s.due <= now), key=lambda s: (s.due, s.job.name))
        for state in due:
            self._run(state)
        return [s.job.name for s in due]

    def run_all(self) -> list[str]:
        """Run every job once now, whatever its schedule (`siyu worker --once`)."""
        for state in self.states.values():
            self._run(state)
        return list(self.states)

    def _run(self, state: JobState) -> None:
        started = self.clock()
        try:
            # Each job owns its transaction: commit on success, roll back on any error.
            with unit_of_work(self.engine) as session:
                state.job.fn(session)
            state.last_error = None
        except Exception as exc:  # a job's failure must not end the loop
            state.failures += 1
            state.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("job %s failed", state.job.name)
        state.runs += 1
        state.due = state.job.next_due(started, self.clock(), self.zone)

    def seconds_to_next(self) -> float:
        """Seconds until the earliest due job (0 when one is overdue)."""
        if not self.states:
            return 60.0
        earliest = min(s.due for s in self.states.values())
        return max(0.0, (earliest - self.clock()).total_seconds())

    def run(self, stop: threading.Event, max_sleep: float = 1.0) -> None:
        """Loop until stop is set, sleeping until the next due job (at most max_sleep at a time)."""
        log.info("worker started with jobs: %s", ", ".join(sorted(self.states)) or "none")
        while not stop.is_set():
            self.run_due()
            stop.wait(min(max_sleep, self.seconds_to_next()))
        log.info("worker stopped")


def start_in_thread(runner: Runner) -> tuple[threading.Thread, threading.Event]:
    """Run runner in a daemon thread (the embedded worker of `siyu serve`); set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), name="siyu-worker", daemon=True)
    thread.start()
    return thread, stop
