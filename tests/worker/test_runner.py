"""The worker: intervals and daily times are honoured, each job owns its transaction, a failing job stops nothing."""

from __future__ import annotations

import threading
import time as wall
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.app import create_app
from siyu.cli import app as cli
from siyu.db.engine import session_factory
from siyu.errors import Invalid
from siyu.models import LeaderboardWatermark
from siyu.worker import jobs
from siyu.worker.jobs import Job, register_builtin_jobs, register_job, registered_jobs, unregister_job
from siyu.worker.runner import Runner, start_in_thread

ZONE = ZoneInfo("Asia/Shanghai")


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _mark(name: str) -> Job:
    def write(session: Session) -> None:
        session.add(LeaderboardWatermark(name=name, last_event_id=0, updated_at=datetime.now(UTC)))
        session.flush()

    return Job(name, write, every_seconds=10)


def _count(engine: Engine, name: str) -> int:
    with session_factory(engine)() as s:
        return int(s.scalar(select(func.count()).where(LeaderboardWatermark.name.like(name + "%"))) or 0)


def test_interval_is_honoured(engine: Engine) -> None:
    calls: list[datetime] = []
    clock = Clock(datetime(2026, 5, 1, 0, 0, tzinfo=UTC))
    job = Job("tick", lambda s: calls.append(clock()), every_seconds=10)
    runner = Runner([job], engine, zone=ZONE, clock=clock)
    assert runner.run_due() == ["tick"]  # interval jobs run as soon as the worker starts
    clock.advance(9.9)
    assert runner.run_due() == [] and runner.seconds_to_next() == pytest.approx(0.1)
    clock.advance(0.1)
    assert runner.run_due() == ["tick"]
    clock.advance(35)
    assert runner.run_due() == ["tick"]  # a late worker catches up once, not three times
    assert len(calls) == 3


def test_a_failing_job_is_rolled_back_and_does_not_stop_the_others(engine: Engine) -> None:
    def broken(session: Session) -> None:
        session.add(LeaderboardWatermark(name="broken", last_event_id=0, updated_at=datetime.now(UTC)))
        session.flush()
        raise RuntimeError("boom")

    clock = Clock(datetime(2026, 5, 1, tzinfo=UTC))
    runner = Runner(
        [Job("a-broken", broken, every_seconds=5), _mark("b-good")], engine, zone=ZONE, clock=clock
    )
    assert runner.run_due() == ["a-broken", "b-good"]
    state = runner.states["a-broken"]
    assert state.failures == 1 and state.runs == 1 and "boom" in (state.last_error or "")
    assert _count(engine, "broken") == 0  # its write was rolled back
    assert _count(engine, "b-good") == 1  # the other job committed
    clock.advance(5)
    assert runner.run_due() == ["a-broken"]  # and the broken one is retried on schedule
    assert runner.states["a-broken"].failures == 2


def test_daily_job_runs_at_the_local_time_once_a_day(engine: Engine) -> None:
    runs: list[datetime] = []
    # 2026-05-01 07:00 Shanghai = 2026-04-30 23:00 UTC.
    clock = Clock(datetime(2026, 4, 30, 23, 0, tzinfo=UTC))
    job = Job("daily", lambda s: runs.append(clock()), daily_at=time(7, 30))
    runner = Runner([job], engine, zone=ZONE, clock=clock)
    assert runner.states["daily"].due == datetime(2026, 4, 30, 23, 30, tzinfo=UTC)
    assert runner.run_due() == []
    clock.advance(30 * 60)
    assert runner.run_due() == ["daily"]
    assert runner.states["daily"].due == datetime(2026, 5, 1, 23, 30, tzinfo=UTC)
    clock.advance(3600)
    assert runner.run_due() == [] and len(runs) == 1


def test_loop_runs_in_a_thread_and_stops_when_asked(engine: Engine) -> None:
    runner = Runner([Job("fast", lambda s: None, every_seconds=0.05)], engine, zone=ZONE)
    thread, stop = start_in_thread(runner)
    deadline = wall.monotonic() + 5
    while runner.states["fast"].runs < 3 and wall.monotonic() < deadline:
        wall.sleep(0.02)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert runner.states["fast"].runs >= 3


def test_registry_rejects_a_non_positive_interval_and_registers_builtins(cli_env: str) -> None:
    with pytest.raises(Invalid, match="every_seconds"):
        register_job("bad", 0, lambda s: None)
    names = {job.name for job in register_builtin_jobs()}
    assert {
        "leaderboard.apply_new_events",
        "leaderboard.rebuild",
        "report.daily",
        "reports.refresh_rollups",
    } <= names
    assert "reports.rebuild_rollups" in names
    assert next(j for j in registered_jobs() if j.name == "leaderboard.apply_new_events").every_seconds == 2.0
    unregister_job("report.daily")
    assert "report.daily" not in {job.name for job in registered_jobs()}
    jobs._JOBS.clear()


def test_worker_once_from_the_cli(cli_env: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from siyu.config import get_settings

    monkeypatch.setenv("SIYU_DAILY_REPORT_DIR", str(tmp_path))
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "leaderboard.apply_new_events\tok" in result.output and "report.daily\tok" in result.output
    assert "leaderboard.rebuild\tok" in result.output
    listed = CliRunner().invoke(cli, ["worker", "--list"])
    assert "every 2s" in listed.output and "daily at 07:30:00" in listed.output
    jobs._JOBS.clear()


def test_the_test_app_does_not_start_a_worker(engine: Engine) -> None:
    with TestClient(create_app(engine)) as client:
        assert client.get("/login").status_code == 200
        assert not [t for t in threading.enumerate() if t.name == "siyu-worker"]
