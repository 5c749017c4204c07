"""When a step is due: entry time + delay, at a brand-local time of day, pushed out of quiet hours (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from siyu.journeys.contract import Delay, QuietHours


def _local(day_start: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The aware UTC instant of wall-clock `at` on day_start's local date (fold=0 on an ambiguous hour)."""
    wall = datetime.combine(day_start.date(), at, tzinfo=zone)
    # A wall time inside a DST gap does not exist: round-tripping through UTC moves it forward.
    return wall.astimezone(UTC)


def _in_quiet(instant: datetime, quiet: QuietHours, zone: ZoneInfo) -> datetime | None:
    """The end of the quiet period containing instant, or None when instant is outside it."""
    start, end = quiet.bounds()
    if start == end:
        return None
    local = instant.astimezone(zone)
    now_t = local.time()
    if start < end:  # e.g. 12:00–14:00, same day
        if start <= now_t < end:
            return _local(local, end, zone)
        return None
    # Wraps midnight, e.g. 22:00–08:00.
    if now_t >= start:
        return _local(local + timedelta(days=1), end, zone)
    if now_t < end:
        return _local(local, end, zone)
    return None


def step_due_at(entered_at: datetime, delay: Delay, quiet: QuietHours | None, zone: ZoneInfo) -> datetime:
    """The UTC instant a step with this delay is due for someone who entered at entered_at."""
    if entered_at.tzinfo is None:
        raise ValueError("entered_at must be timezone-aware")
    if delay.at_local_time is not None:
        at = time.fromisoformat(delay.at_local_time)
        local_entry = entered_at.astimezone(zone)
        due = _local(local_entry + timedelta(days=delay.days), at, zone)
        if due < entered_at:
            due = _local(local_entry + timedelta(days=delay.days + 1), at, zone)
    else:
        # Elapsed time, not wall-clock: "+24 hours" is 24 real hours across a DST change.
        due = entered_at.astimezone(UTC) + timedelta(
            days=delay.days, hours=delay.hours, minutes=delay.minutes
        )
    if quiet is not None:
        pushed = _in_quiet(due, quiet, zone)
        if pushed is not None:
            due = pushed
    return due.astimezone(UTC)
