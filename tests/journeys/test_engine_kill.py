"""kill -9 a running engine mid-batch, rerun it (two processes), and count every effect: once each, none lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.journeys.contract import EnrolRequest
from siyu.journeys.enrolment import enrol
from siyu.models import (
    EnrolmentStatus,
    JourneyEnrolment,
    JourneyStepRun,
    OutboundMessage,
    StaffTask,
    StepRunStatus,
)
from tests.journeys.engine_world import build, journey, steps

N = 1500
SIYU = str(Path(sys.executable).parent / "siyu")


def _done(engine: Engine) -> int:
    with session_factory(engine)() as s:
        return int(
            s.execute(
                select(func.count())
                .select_from(JourneyStepRun)
                .where(JourneyStepRun.status == StepRunStatus.done)
            ).scalar_one()
        )


def _run(database_url: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SIYU_DATABASE_URL": database_url}
    return subprocess.Popen(
        [SIYU, "journeys", "run-due", "--until-empty", "--batch", "25", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_kill_9_mid_run_then_rerun_loses_and_duplicates_nothing(engine: Engine, database_url: str) -> None:
    with session_factory(engine)() as s:
        w = build(s, customers=N)
        send = {"kind": "send_script", "channel": "loopback", "script_id": w.script_id}
        jid = journey(s, steps([send, {"kind": "create_task", "title": "跟进"}]))
        entered = utcnow() - timedelta(hours=1)
        assert (
            enrol(s, jid, [EnrolRequest(c, "k", entered) for c in w.customer_ids], entered)["enrolled"] == N
        )
        s.commit()

    first = _run(database_url, "--worker", "victim")
    deadline = time.monotonic() + 120
    while _done(engine) < 100 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert first.poll() is None, (
        first.stderr.read() if first.stderr else b""
    )  # still running: a real mid-run kill
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    killed_at = _done(engine)
    assert 0 < killed_at < N

    rerun = [_run(database_url, "--worker", f"r{i}") for i in range(2)]
    for p in rerun:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()

    with session_factory(engine)() as s:
        _check_exactly_once(s)


def _check_exactly_once(s: Session) -> None:
    runs = s.execute(select(JourneyStepRun.id, JourneyStepRun.status, JourneyStepRun.attempts)).all()
    assert len(runs) == N
    assert {st for _, st, _ in runs} == {StepRunStatus.done}
    # attempts counts committed tries: the killed batch rolled back, so every run was finished exactly once.
    assert {a for _, _, a in runs} == {1}
    ids = {int(i) for i, _, _ in runs}
    out_keys = s.execute(
        select(OutboundMessage.idempotency_key, func.count()).group_by(OutboundMessage.idempotency_key)
    ).all()
    assert {k for k, _ in out_keys} == {f"step:{i}:0" for i in ids}
    assert {n for _, n in out_keys} == {1}
    task_keys = s.execute(
        select(StaffTask.idempotency_key, func.count()).group_by(StaffTask.idempotency_key)
    ).all()
    assert {k for k, _ in task_keys} == {f"step:{i}:1" for i in ids}
    assert {n for _, n in task_keys} == {1}
    # Brute force: every outbound row belongs to one run, and every enrolment completed its one step.
    assert s.execute(select(func.count()).select_from(OutboundMessage)).scalar_one() == N
    statuses = s.execute(select(JourneyEnrolment.status, JourneyEnrolment.steps_done)).all()
    assert set(statuses) == {(EnrolmentStatus.completed, 1)} and len(statuses) == N
    workers = set(s.execute(select(JourneyStepRun.worker)).scalars())
    assert workers <= {"victim", "r0", "r1"}
