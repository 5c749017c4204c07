"""Tunable rules of the metric catalog, with the defaults the catalog's definitions describe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum


class HeadcountSource(StrEnum):
    """Who counts as headcount for GMV per staff (人效)."""

    employed = "employed"  # hired on or before the period's last day and not left before its first day
    active_now = "active_now"  # staff whose status is active today, whatever their dates


@dataclass(frozen=True, slots=True)
class PerformanceSettings:
    """Rules the metrics use; every field is described on the catalog page and in docs/metrics.md."""

    # Working hours (brand-local wall clock, every day) in which customer messages count for response metrics.
    work_start: time = time(9, 0)
    work_end: time = time(21, 0)
    # A customer message is answered "fast" when the staff reply comes within this many seconds.
    fast_reply_seconds: int = 180
    # A customer message with no staff reply within this many hours counts as unanswered.
    reply_window_hours: int = 24
    # Member tiers that make a customer high-value.
    high_value_tiers: tuple[str, ...] = ("gold", "diamond")
    # A buyer is lost when their last order is more than this many days before the period's first day.
    lost_after_days: int = 90
    headcount: HeadcountSource = HeadcountSource.employed
    # Staff task kinds read by moments_posts and greetings_sent.
    moments_task_kinds: tuple[str, ...] = ("moments_post",)
    greeting_task_kinds: tuple[str, ...] = ("holiday_greeting",)
    # Retention cohorts only include memberships at least N days old at this moment (None = now).
    as_of: datetime | None = None


DEFAULT_SETTINGS = PerformanceSettings()
