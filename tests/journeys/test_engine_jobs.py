"""The worker job and `siyu journeys run-due`: batches in their own transactions until nothing is due."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.journeys.contract import EnrolRequest
from siyu.journeys.enrolment import enrol
from siyu.journeys.jobs import JOB_NAME, run_due_steps, run_until_empty
from siyu.models import JourneyStepRun, StaffTask, StepRunStatus
from siyu.worker.jobs import register_builtin_jobs, registered_jobs
from tests.journeys.engine_world import build, journey, steps

TASK = {"kind": "create_task", "title": "跟进"}


def _seed(engine: Engine, customers: int) -> None:
    with session_factory(engine)() as s:
        w = build(s, customers=customers)
        jid = journey(s, steps([TASK]))
        at = utcnow() - timedelta(minutes=1)
        enrol(s, jid, [EnrolRequest(c, "k", at) for c in w.customer_ids], at)
        s.commit()


def _done(engine: Engine) -> int:
    with session_factory(engine)() as s:
        where = JourneyStepRun.status == StepRunStatus.done
        return int(s.execute(select(func.count()).select_from(JourneyStepRun).where(where)).scalar_one())


def test_job_is_registered_and_drains_in_batches(engine: Engine) -> None:
    register_builtin_jobs()
    assert JOB_NAME in {j.name for j in registered_jobs()}
    _seed(engine, 7)
    totals = run_until_empty(engine, batch_size=3, worker_name="t")
    assert totals["batches"] == 3 and totals["claimed"] == 7 and totals["done"] == 7
    assert _done(engine) == 7
    with session_factory(engine)() as s:
        assert run_due_steps(s)["claimed"] == 0
        assert s.execute(select(func.count()).select_from(StaffTask)).scalar_one() == 7


def test_cli_run_due(engine: Engine, cli_env: str) -> None:
    _seed(engine, 5)
    runner = CliRunner()
    one = runner.invoke(app, ["journeys", "run-due", "--batch", "2"])
    assert one.exit_code == 0, one.output
    assert json.loads(one.output)["claimed"] == 2
    rest = runner.invoke(app, ["journeys", "run-due", "--batch", "2", "--until-empty"])
    assert rest.exit_code == 0, rest.output
    assert json.loads(rest.output)["done"] == 3
    assert _done(engine) == 5
