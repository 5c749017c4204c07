"""Demo time: epoch-second arrays, the brand's calendar (campaigns, holidays) and seasonal demand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

DAY = 86_400
HOUR = 3_600
# Sentinel for "no time" (NULL) in int64 epoch-second arrays.
NO_TIME = np.iinfo(np.int64).min
# The demo brand lives in Asia/Shanghai, which has no daylight saving: local = UTC + 8 h.
TZ_OFFSET = 8 * HOUR
HISTORY_DAYS = 730

# Spring Festival dates: demand dips around them and they are greeting days.
SPRING_FESTIVAL = {
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26),
}  # fmt: skip
MID_AUTUMN = {
    2023: date(2023, 9, 29),
    2024: date(2024, 9, 17),
    2025: date(2025, 10, 6),
    2026: date(2026, 9, 25),
}

# Yearly campaigns: (key, name, start month/day, end month/day, demand multiplier).
CAMPAIGNS: tuple[tuple[str, str, tuple[int, int], tuple[int, int], float], ...] = (
    ("newyear", "年货节", (1, 5), (1, 20), 1.5),
    ("38", "三八女神节", (3, 1), (3, 8), 1.6),
    ("mothersday", "母亲节", (5, 6), (5, 12), 1.4),
    ("618", "618年中大促", (6, 1), (6, 18), 2.0),
    ("babyfair", "秋季母婴节", (9, 10), (9, 20), 1.7),
    ("double11", "双11", (10, 20), (11, 11), 2.2),
    ("double12", "双12", (12, 8), (12, 12), 1.4),
)

# Hour-of-day weights (local time) for different kinds of activity.
TOD_PROFILES: dict[str, tuple[float, ...]] = {
    "store": (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 5, 6, 5, 5, 6, 7, 7, 6, 7, 6, 3, 0, 0),
    "online": (
        1.5,
        0.8,
        0.4,
        0.2,
        0.2,
        0.3,
        0.8,
        1.5,
        2.5,
        3,
        3.5,
        4,
        4.5,
        3.5,
        3,
        3,
        3.2,
        3.4,
        3.8,
        4.5,
        6,
        7,
        6,
        3.5,
    ),
    "chat": (
        0.6,
        0.3,
        0.1,
        0.1,
        0.1,
        0.2,
        0.6,
        1.5,
        3,
        4,
        4.5,
        4.5,
        4,
        3.5,
        3.5,
        3.8,
        4,
        4,
        4,
        4.5,
        5,
        5.5,
        4,
        2,
    ),
    "work": (0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 5, 5, 3, 3, 5, 5, 5, 4, 3, 2, 1.5, 1, 0, 0),
}


@dataclass(frozen=True)
class Calendar:
    """The demo's time window (HISTORY_DAYS before as_of) and its daily demand curve."""

    as_of_date: date
    start: int
    end: int
    days: int
    intensity: np.ndarray
    cumulative: np.ndarray
    campaign_day: np.ndarray
    campaign_refs: tuple[str, ...]

    @classmethod
    def build(cls, as_of: date) -> Calendar:
        """Lay out the window ending at local midnight of as_of."""
        end = local_midnight(as_of)
        start = end - HISTORY_DAYS * DAY
        first = as_of - timedelta(days=HISTORY_DAYS)
        dates = [first + timedelta(days=i) for i in range(HISTORY_DAYS)]
        intensity = np.ones(HISTORY_DAYS)
        intensity[[d.weekday() >= 5 for d in dates]] *= 1.15
        campaign_day = np.full(HISTORY_DAYS, -1, dtype=np.int64)
        refs: list[str] = []
        for year in sorted({d.year for d in dates}):
            for key, _name, (m1, d1), (m2, d2), boost in CAMPAIGNS:
                lo, hi = date(year, m1, d1), date(year, m2, d2)
                idx = [i for i, d in enumerate(dates) if lo <= d <= hi]
                if not idx:
                    continue
                # Demand builds towards the last day of a campaign (the 11th, the 18th…).
                ramp = np.linspace(0.7, 1.3, len(idx))
                intensity[idx] *= 1 + (boost - 1) * ramp
                campaign_day[idx] = len(refs)
                refs.append(f"{year}-{key}")
            festival = SPRING_FESTIVAL.get(year)
            if festival is not None:
                for i, d in enumerate(dates):
                    if -3 <= (d - festival).days <= 6:
                        intensity[i] *= 0.55
        cumulative = np.concatenate([[0.0], np.cumsum(intensity)])
        return cls(as_of, start, end, HISTORY_DAYS, intensity, cumulative, campaign_day, tuple(refs))

    def day_of(self, ts: np.ndarray) -> np.ndarray:
        """Local day index (0 = first day of the window) of epoch-second times."""
        return (ts - self.start) // DAY

    def warp(self, lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Times in [lo, hi) at quantiles u of the demand curve (busy days get more of them)."""
        grid = np.arange(self.days + 1, dtype=np.float64)
        c_lo = np.interp((lo - self.start) / DAY, grid, self.cumulative)
        c_hi = np.interp((hi - self.start) / DAY, grid, self.cumulative)
        day = np.interp(c_lo + u * (c_hi - c_lo), self.cumulative, grid)
        return (self.start + day * DAY).astype(np.int64)

    def exposure_years(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Demand-weighted years between lo and hi (a plain year of average demand is 1)."""
        grid = np.arange(self.days + 1, dtype=np.float64)
        c_lo = np.interp((lo - self.start) / DAY, grid, self.cumulative)
        c_hi = np.interp((hi - self.start) / DAY, grid, self.cumulative)
        mean = self.cumulative[-1] / self.days
        return np.maximum(c_hi - c_lo, 0.0) / mean / 365.0

    def campaign_of(self, ts: np.ndarray) -> np.ndarray:
        """Index into campaign_refs of the campaign running at each time, or -1."""
        day = np.clip(self.day_of(ts), 0, self.days - 1)
        return self.campaign_day[day]

    def at_local_time(self, ts: np.ndarray, seconds_of_day: np.ndarray) -> np.ndarray:
        """Move each time to seconds_of_day (local) on its own local day."""
        local = ts + TZ_OFFSET
        return local - local % DAY + seconds_of_day - TZ_OFFSET

    def local_hour(self, ts: np.ndarray) -> np.ndarray:
        """Local hour of day (0-23)."""
        return ((ts + TZ_OFFSET) % DAY) // HOUR

    def holidays(self) -> list[tuple[str, int]]:
        """Greeting days inside the window as (name, local-midnight epoch)."""
        found: list[tuple[str, date]] = []
        first = self.as_of_date - timedelta(days=self.days)
        for year in range(first.year, self.as_of_date.year + 1):
            fixed = [("元旦", date(year, 1, 1)), ("妇女节", date(year, 3, 8)), ("儿童节", date(year, 6, 1))]
            fixed += [("国庆节", date(year, 10, 1)), ("圣诞节", date(year, 12, 25))]
            may = date(year, 5, 1)
            fixed.append(("母亲节", may + timedelta(days=(6 - may.weekday()) % 7 + 7)))
            if year in SPRING_FESTIVAL:
                fixed.append(("春节", SPRING_FESTIVAL[year]))
                fixed.append(("元宵节", SPRING_FESTIVAL[year] + timedelta(days=14)))
            if year in MID_AUTUMN:
                fixed.append(("中秋节", MID_AUTUMN[year]))
            found += fixed
        inside = sorted((d, name) for name, d in found if first <= d < self.as_of_date)
        return [(name, local_midnight(d)) for d, name in inside]


def local_midnight(day: date) -> int:
    """Epoch seconds of local (UTC+8) midnight starting day."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) - TZ_OFFSET


def to_date(ts: int) -> date:
    """Local calendar date of an epoch-second time."""
    return datetime.fromtimestamp(ts + TZ_OFFSET, UTC).date()


def sample_tod(rng: np.random.Generator, n: int, profile: str) -> np.ndarray:
    """Local seconds-of-day following an hour-of-day profile."""
    weights = np.asarray(TOD_PROFILES[profile], dtype=np.float64)
    hours = rng.choice(24, size=n, p=weights / weights.sum())
    return hours * HOUR + rng.integers(0, HOUR, size=n)


def lognormal_seconds(rng: np.random.Generator, n: int, median: float, sigma: float) -> np.ndarray:
    """Log-normal delays in whole seconds with the given median (seconds)."""
    return np.maximum(1, rng.lognormal(np.log(median), sigma, size=n)).astype(np.int64)


class TimeText:
    """Turns epoch-second arrays into the text each dialect accepts, fast (per-day string cache)."""

    def __init__(self, dialect: str) -> None:
        self._suffix = "+00:00" if dialect == "postgresql" else ""
        self._days: dict[int, str] = {}
        self._tod: list[str] | None = None

    def _tod_strings(self) -> list[str]:
        if self._tod is None:
            # SQLite text matches what SQLAlchemy writes (microseconds always present) so text order is time order.
            self._tod = [
                f" {h:02d}:{m:02d}:{s:02d}.000000{self._suffix}"
                for h in range(24)
                for m in range(60)
                for s in range(60)
            ]
        return self._tod

    def format(self, ts: np.ndarray) -> list[str | None]:
        """UTC text of each time; NO_TIME becomes None."""
        tod = self._tod_strings()
        null = ts == NO_TIME
        safe = np.where(null, 0, ts)
        days = (safe // DAY).tolist()
        secs = (safe % DAY).tolist()
        for d in set(days) - self._days.keys():
            self._days[d] = (datetime(1970, 1, 1) + timedelta(days=d)).strftime("%Y-%m-%d")
        cache = self._days
        out: list[str | None] = [cache[d] + tod[s] for d, s in zip(days, secs, strict=True)]
        if null.any():
            for i in np.flatnonzero(null).tolist():
                out[i] = None
        return out

    @staticmethod
    def date_text(ts: int | None) -> str | None:
        """ISO local date of an epoch-second time (for DATE columns)."""
        return None if ts is None or ts == NO_TIME else to_date(ts).isoformat()
