"""`siyu worker`: run the registered jobs until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import typer

from siyu.worker.jobs import register_builtin_jobs
from siyu.worker.runner import Runner


def worker(
    once: bool = typer.Option(False, "--once", help="run every job once now and exit"),
    list_jobs: bool = typer.Option(False, "--list", help="print the registered jobs and exit"),
) -> None:
    """Run periodic jobs (leaderboard refresh every few seconds, daily reports) until stopped."""
    jobs = register_builtin_jobs()
    if list_jobs:
        for job in jobs:
            when = f"every {job.every_seconds:g}s" if job.every_seconds else f"daily at {job.daily_at}"
            typer.echo(f"{job.name}\t{when}")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    runner = Runner(jobs)
    if once:
        runner.run_all()
        failed = [s for s in runner.states.values() if s.failures]
        for state in runner.states.values():
            typer.echo(
                f"{state.job.name}\t{'failed: ' + (state.last_error or '') if state.failures else 'ok'}"
            )
        raise typer.Exit(1 if failed else 0)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        # Finish the job in hand, then leave the loop: no transaction is cut in half.
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    runner.run(stop)
