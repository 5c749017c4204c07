"""Re-detection over history: chunked, resumable, idempotent, reviewed incidents untouched."""

from __future__ import annotations

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.compliance.ingest import ingest_records
from siyu.compliance.rerun import advance, continue_running, get_run, start_run
from siyu.db.engine import session_factory
from siyu.models.compliance import DetectionRun, IncidentStatus, RunStatus, SensitiveIncident
from siyu.org.permissions import SYSTEM_ACTOR
from tests.compliance.c4_support import StubEngine, World, count, ms, send, world_fixture  # noqa: F401

T0 = ms(2026, 3, 2, 2, 0)


def _seed(engine: Engine) -> None:
    texts = ["加微信", "好的", "私单", "谢谢", "加微信吧", "嗯", "再见"]
    with session_factory(engine)() as s:
        records = [
            send(f"m{i}", "zhangsan" if i % 2 == 0 else "wmCust0001", "wmCust0001" if i % 2 == 0 else "zhangsan", t, T0 + i * 1000)
            for i, t in enumerate(texts)
        ]  # fmt: skip
        ingest_records(s, records, SYSTEM_ACTOR, detect=False)
        s.commit()


def test_rerun_resumes_after_a_crash_and_is_idempotent(engine: Engine, world: World) -> None:
    _seed(engine)
    with session_factory(engine)() as s:
        run = start_run(s, SYSTEM_ACTOR)
        s.commit()
        assert (run.total, run.processed) == (7, 0)
        assert advance(s, run, StubEngine(), chunk=3) is False
        s.commit()
        run_id = run.id
        assert run.processed == 3
    # "Crash": a new process picks the run up from last_message_id.
    with session_factory(engine)() as s:
        assert start_run(s, SYSTEM_ACTOR).id == run_id  # starting again resumes the running one
        run = get_run(s, run_id)
        stub = StubEngine()
        while not advance(s, run, stub, chunk=3):
            s.commit()
        s.commit()
        assert (run.status, run.processed, run.incidents_found) == (RunStatus.succeeded, 7, 3)
        assert run.finished_at is not None
        assert count(s, SensitiveIncident) == 3
        # A reviewer confirms one; a new run adds nothing and leaves the review alone.
        first = s.scalars(select(SensitiveIncident).order_by(SensitiveIncident.id)).first()
        assert first is not None
        first.status, first.review_note = IncidentStatus.confirmed, "seen"
        s.commit()
        again = start_run(s, SYSTEM_ACTOR)
        assert again.id != run_id
        while not advance(s, again, StubEngine(), chunk=100):
            pass
        s.commit()
        assert again.incidents_found == 0 and count(s, SensitiveIncident) == 3
        s.refresh(first)
        assert (first.status, first.review_note) == (IncidentStatus.confirmed, "seen")


def test_resume_skips_processed_messages(engine: Engine, world: World) -> None:
    _seed(engine)
    with session_factory(engine)() as s:
        run = start_run(s, SYSTEM_ACTOR)
        advance(s, run, StubEngine(), chunk=4)
        s.commit()
        stub = StubEngine()
        advance(s, run, stub, chunk=100)
        assert sorted(x for batch in stub.seen for x in batch) == ["m4", "m5", "m6"]


def test_worker_job_continues_a_running_run(engine: Engine, world: World) -> None:
    _seed(engine)
    with session_factory(engine)() as s:
        assert continue_running(s) == 0  # nothing running
        start_run(s, SYSTEM_ACTOR)
        assert continue_running(s) == 7
        continue_running(s)
        s.commit()
        run = s.scalars(select(DetectionRun)).one()
        assert run.status == RunStatus.succeeded and count(s, SensitiveIncident) == 3


def test_rerun_cli(cli_env: str, engine: Engine, world: World) -> None:
    _seed(engine)
    result = CliRunner().invoke(app, ["compliance", "rerun", "-q", "--chunk", "2"])
    assert result.exit_code == 0, result.output
    assert "7 messages, 3 new incidents" in result.output


def test_compliance_jobs_are_registered() -> None:
    from siyu.compliance.jobs import register_compliance_jobs
    from siyu.worker.jobs import registered_jobs, unregister_job

    register_compliance_jobs()
    try:
        jobs = {j.name: j for j in registered_jobs()}
        assert jobs["compliance.rerun"].every_seconds == 5.0
        assert (
            jobs["compliance.behaviour"].daily_at is not None
            and jobs["compliance.purge"].daily_at is not None
        )
    finally:
        for name in ("compliance.rerun", "compliance.behaviour", "compliance.purge"):
            unregister_job(name)
