"""Compliance worker jobs: continue a running re-detection, and the daily behaviour detectors and purge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.db.types import utcnow
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.timeutil import brand_zone, local_date
from siyu.worker.jobs import parse_local_time, register_daily_job, register_job

RERUN_EVERY_SECONDS = 5.0


def behaviour_yesterday(session: Session) -> Any:
    """Daily: the behaviour detectors over the previous brand-local day."""
    from siyu.compliance.behaviour import run_behaviour

    day = local_date(utcnow(), brand_zone()) - timedelta(days=1)
    return run_behaviour(session, day, day, SYSTEM_ACTOR)


def continue_rerun(session: Session) -> Any:
    """Every few seconds: one more chunk of a running re-detection (the runner commits it)."""
    from siyu.compliance.rerun import continue_running

    return continue_running(session)


def purge_old_chats(session: Session) -> Any:
    """Daily: blank chat text beyond SIYU_CHAT_RETENTION_DAYS."""
    from siyu.compliance.retention import purge_job

    return purge_job(session)


def register_compliance_jobs() -> None:
    """Register the compliance jobs from the settings (SIYU_COMPLIANCE_DAILY_TIME empty = no daily jobs)."""
    settings = get_settings()
    register_job("compliance.rerun", RERUN_EVERY_SECONDS, continue_rerun)
    if settings.compliance_daily_time:
        at = parse_local_time(settings.compliance_daily_time, "SIYU_COMPLIANCE_DAILY_TIME")
        register_daily_job("compliance.behaviour", at, behaviour_yesterday)
        register_daily_job("compliance.purge", at, purge_old_chats)
