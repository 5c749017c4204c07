"""`siyu insights refresh | runs | settings`, and the worker's nightly insights job."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.cli import app
from siyu.config import get_settings
from siyu.errors import Invalid
from siyu.insights.refresh import refresh_job
from siyu.models import AuditLog
from siyu.models.insights import CustomerInsight, InsightRun, InsightSettingsVersion
from siyu.worker import jobs
from tests.insights.refresh_world import AS_OF, build_world

runner = CliRunner()


def test_refresh_runs_and_settings_from_the_cli(cli_env: str, session: Session, tmp_path: Path) -> None:
    build_world(session, customers=120)
    session.commit()
    result = runner.invoke(app, ["insights", "refresh", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    run = session.scalars(select(InsightRun)).one()
    assert f"run {run.id} as of {AS_OF.isoformat()}: done" in result.output
    scored = session.scalar(select(func.count()).select_from(CustomerInsight))
    assert scored and f"customers scored {scored:,}" in result.output
    assert "bgnbd: r=" in result.output and "seconds: load_summary" in result.output
    assert session.scalar(select(func.count()).where(AuditLog.action == "insights.refresh")) == 1

    listed = runner.invoke(app, ["insights", "runs"])
    assert listed.exit_code == 0 and listed.output.startswith(
        f"{run.id}\t{AS_OF.isoformat()}\tdone\t{scored}"
    )

    shown = runner.invoke(app, ["insights", "settings", "show"])
    document = json.loads(shown.output)
    assert document["version"] is None and document["settings"]["rfm"]["window_days"] == 365
    document["settings"]["rfm"]["window_days"] = 180
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    saved = runner.invoke(app, ["insights", "settings", "set", str(path), "--note", "half a year"])
    assert saved.exit_code == 0 and "version 1 saved" in saved.output, saved.output
    stored = session.scalars(select(InsightSettingsVersion)).one()
    assert stored.value["rfm"]["window_days"] == 180 and stored.note == "half a year"

    path.write_text(json.dumps({"rfm": {"window_days": 3}}), encoding="utf-8")
    bad = runner.invoke(app, ["insights", "settings", "set", str(path)])
    assert bad.exit_code != 0 and isinstance(bad.exception, Invalid)
    assert "rfm.window_days" in bad.exception.message


def test_a_bad_day_is_refused(cli_env: str) -> None:
    result = runner.invoke(app, ["insights", "refresh", "--as-of", "2026-02-30"])
    assert result.exit_code != 0 and isinstance(result.exception, Invalid)


def test_the_nightly_job_is_registered_from_the_settings(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        registered = {job.name: job for job in jobs.register_builtin_jobs()}
        assert registered["insights.refresh"].daily_at == time(4, 0)
        jobs._JOBS.clear()
        monkeypatch.setenv("SIYU_INSIGHTS_REFRESH_TIME", "")
        get_settings.cache_clear()
        assert "insights.refresh" not in {job.name for job in jobs.register_builtin_jobs()}
        jobs._JOBS.clear()
        monkeypatch.setenv("SIYU_INSIGHTS_REFRESH_TIME", "25:00")
        get_settings.cache_clear()
        with pytest.raises(Invalid, match="SIYU_INSIGHTS_REFRESH_TIME"):
            jobs.register_builtin_jobs()
    finally:
        jobs._JOBS.clear()
        get_settings.cache_clear()


def test_the_job_refreshes_yesterday(session: Session) -> None:
    build_world(session, customers=60)
    out = refresh_job(session)
    run = session.get(InsightRun, out["run_id"])
    assert run is not None and run.status == "done" and out["customers"] == (run.figures or {})["customers"]
    assert session.scalar(select(func.count()).where(AuditLog.action == "insights.refresh")) == 1


def test_a_failed_refresh_leaves_a_failed_run(
    cli_env: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    import siyu.insights.cli as insights_cli

    def broken(*args: object, **kwargs: object) -> InsightRun:
        raise RuntimeError("disk full")

    monkeypatch.setattr(insights_cli, "refresh_insights", broken)
    result = runner.invoke(app, ["insights", "refresh", "--as-of", AS_OF.isoformat()])
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    run = session.scalars(select(InsightRun)).one()
    assert run.status == "failed" and run.message == "RuntimeError: disk full" and run.as_of == AS_OF
