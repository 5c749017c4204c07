"""Business days: times are stored in UTC, days are cut in the brand's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from siyu.config import get_settings


def brand_zone() -> ZoneInfo:
    """The brand's configured time zone."""
    return get_settings().zone


def local_date(moment: datetime, zone: ZoneInfo | None = None) -> date:
    """The brand-local calendar date of an aware moment."""
    return moment.astimezone(zone or brand_zone()).date()


def day_start_utc(day: date, zone: ZoneInfo | None = None) -> datetime:
    """The UTC instant at which the local calendar day begins."""
    return datetime.combine(day, time.min, tzinfo=zone or brand_zone()).astimezone(UTC)


def day_range_utc(first: date, last: date, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """Half-open UTC range [start, end) covering local days first..last inclusive."""
    return day_start_utc(first, zone), day_start_utc(last + timedelta(days=1), zone)
