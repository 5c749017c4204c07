"""The job registry: a name, a schedule (every N seconds, or daily at a brand-local time) and a function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.errors import Invalid

JobFn = Callable[[Session], Any]


@dataclass(frozen=True)
class Job:
    """A periodic job; exactly one of every_seconds and daily_at is set."""

    name: str
    fn: JobFn
    every_seconds: float | None = None
    daily_at: time | None = None

    def first_due(self, now: datetime, zone: ZoneInfo) -> datetime:
        """When the job first runs after the worker starts: interval jobs at once, daily jobs at their time."""
        if self.every_seconds is not None:
            return now
        return self.next_due(now, now, zone)

    def next_due(self, started: datetime, now: datetime, zone: ZoneInfo) -> datetime:
        """The next run after one that started at started (interval) or after now (daily)."""
        if self.every_seconds is not None:
            return started + timedelta(seconds=self.every_seconds)
        assert self.daily_at is not None
        local_now = now.astimezone(zone)
        candidate = datetime.combine(local_now.date(), self.daily_at, tzinfo=zone)
        if candidate <= local_now:
            candidate = datetime.combine(local_now.date() + timedelta(days=1), self.daily_at, tzinfo=zone)
        return candidate.astimezone(now.tzinfo)


_JOBS: dict[str, Job] = {}


def register_job(name: str, every_seconds: float, fn: JobFn) -> Job:
    """Register (or replace) a job run every every_seconds seconds."""
    if every_seconds <= 0:
        raise Invalid(f"job {name!r}: every_seconds must be positive, got {every_seconds}")
    job = Job(name, fn, every_seconds=float(every_seconds))
    _JOBS[name] = job
    return job


def register_daily_job(name: str, at: time, fn: JobFn) -> Job:
    """Register (or replace) a job run once a day at a brand-local wall-clock time."""
    job = Job(name, fn, daily_at=at)
    _JOBS[name] = job
    return job


def unregister_job(name: str) -> None:
    """Forget a job (tests, and jobs switched off by settings)."""
    _JOBS.pop(name, None)


def registered_jobs() -> list[Job]:
    """Every registered job, by name."""
    return [_JOBS[name] for name in sorted(_JOBS)]


def parse_local_time(value: str, where: str) -> time:
    """'HH:MM' as a time, or Invalid naming where it came from."""
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not a time of day (HH:MM)") from None


def register_builtin_jobs() -> list[Job]:
    """Register the product's own jobs (leaderboard, overview rollups, daily reports) from the settings."""
    from pathlib import Path

    from siyu.config import get_settings
    from siyu.performance.daily_report_export import write_daily_reports
    from siyu.performance.leaderboard import apply_new_events, rebuild
    from siyu.reports.rollups import refresh_rollups
    from siyu.segments.service import record_sizes

    settings = get_settings()
    register_job("reports.refresh_rollups", settings.rollup_refresh_seconds, refresh_rollups)
    if settings.rollup_rebuild_time:
        at = parse_local_time(settings.rollup_rebuild_time, "SIYU_ROLLUP_REBUILD_TIME")

        def full_rollups(session: Session) -> Any:
            return refresh_rollups(session, full=True)

        register_daily_job("reports.rebuild_rollups", at, full_rollups)
    register_job("leaderboard.apply_new_events", settings.leaderboard_refresh_seconds, apply_new_events)
    if settings.leaderboard_rebuild_time:
        at = parse_local_time(settings.leaderboard_rebuild_time, "SIYU_LEADERBOARD_REBUILD_TIME")
        register_daily_job("leaderboard.rebuild", at, rebuild)
    if settings.daily_report_time:
        at = parse_local_time(settings.daily_report_time, "SIYU_DAILY_REPORT_TIME")
        out = Path(settings.daily_report_dir)

        def daily_reports(session: Session) -> Any:
            return write_daily_reports(session, None, out)

        register_daily_job("report.daily", at, daily_reports)
    if settings.insights_refresh_time:
        from siyu.insights.refresh import refresh_job

        at = parse_local_time(settings.insights_refresh_time, "SIYU_INSIGHTS_REFRESH_TIME")
        register_daily_job("insights.refresh", at, refresh_job)
    # Segment sizes late in the brand's evening, so the day's member history describes (almost) the whole day.
    register_daily_job("segments.record_sizes", time(23, 50), record_sizes)
    from siyu.journeys.triggers import trigger_job

    register_job("journeys.scan_triggers", 60, trigger_job)  # trigger hits, then exit rules
    from siyu.journeys.content_pack_service import register_content_pack_job

    register_content_pack_job()  # journeys.publish_content_pack, each morning
    from siyu.journeys.jobs import register_journey_jobs

    register_journey_jobs()  # journeys.run_due_steps, every few seconds
    from siyu.journeys.mass_send_run import register_mass_send_job

    register_mass_send_job()  # journeys.run_mass_sends, every 30 s
    from siyu.compliance.jobs import register_compliance_jobs

    register_compliance_jobs()
    from siyu.wecom.groupmsg_service import register_send_jobs

    register_send_jobs()  # wecom.track_group_messages, wecom.poll_moments
    from siyu.wecom.callback_service import register_callback_jobs
    from siyu.wecom.handover_service import register_handover_jobs

    register_callback_jobs()  # wecom.process_callbacks: what the request's background task did not finish
    register_handover_jobs()  # wecom.poll_transfers
    from siyu.wecom.sync_service import register_sync_jobs

    register_sync_jobs()  # wecom.incremental_sync (hourly), wecom.behaviour_snapshots, wecom.push_tags
    return registered_jobs()
