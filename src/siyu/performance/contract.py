"""The types every part of performance management shares: periods, subjects, metric definitions, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from siyu.timeutil import day_range_utc


class PeriodKind(StrEnum):
    """How a period was chosen (the span is always first..last inclusive, brand-local days)."""

    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"
    custom = "custom"


@dataclass(frozen=True, slots=True)
class Period:
    """Brand-local calendar days first..last inclusive."""

    kind: PeriodKind
    first: date
    last: date

    @classmethod
    def day(cls, day: date) -> Period:
        """One local day."""
        return cls(PeriodKind.day, day, day)

    @classmethod
    def week(cls, day: date) -> Period:
        """The Monday–Sunday week containing day."""
        monday = day - timedelta(days=day.weekday())
        return cls(PeriodKind.week, monday, monday + timedelta(days=6))

    @classmethod
    def month(cls, day: date) -> Period:
        """The calendar month containing day."""
        first = day.replace(day=1)
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return cls(PeriodKind.month, first, following - timedelta(days=1))

    @classmethod
    def quarter(cls, day: date) -> Period:
        """The calendar quarter containing day."""
        first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        last_month = date(first.year, first.month + 2, 1)
        return cls(PeriodKind.quarter, first, cls.month(last_month).last)

    @classmethod
    def custom(cls, first: date, last: date) -> Period:
        """Any span of local days."""
        return cls(PeriodKind.custom, first, last)

    @property
    def days(self) -> int:
        """Number of local days in the period."""
        return (self.last - self.first).days + 1

    def utc_range(self, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
        """Half-open UTC range [start, end) of the period in the brand's zone."""
        return day_range_utc(self.first, self.last, zone)

    @property
    def label(self) -> str:
        """Short text for pages and file names."""
        if self.kind is PeriodKind.day:
            return self.first.isoformat()
        if self.kind is PeriodKind.month:
            return self.first.strftime("%Y-%m")
        if self.kind is PeriodKind.quarter:
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


class SubjectKind(StrEnum):
    """Whom a metric value is about."""

    staff = "staff"
    unit = "unit"  # any org unit; a unit's value covers its whole subtree
    company = "company"


COMPANY_SUBJECT_ID = 0  # the single company subject's id in MetricTable


class Unit(StrEnum):
    """What a metric's value measures (how pages format it)."""

    count = "count"  # type: ignore[assignment]  # shadows str.count on purpose
    fen = "fen"  # money, integer fen; yuan only on screen
    ratio = "ratio"  # 0..1, shown as a percentage
    seconds = "seconds"
    fen_per_staff = "fen_per_staff"


class Direction(StrEnum):
    """Whether more is better."""

    higher = "higher"
    lower = "lower"  # type: ignore[assignment]  # shadows str.lower on purpose


class MetricGroup(StrEnum):
    """Catalog sections."""

    users = "users"
    results = "results"
    activity = "activity"


@dataclass(frozen=True, slots=True)
class MetricDef:
    """One catalog entry: what a metric means and how it is computed."""

    code: str
    group: MetricGroup
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str
    formula: str
    unit: Unit
    direction: Direction
    subjects: frozenset[SubjectKind]
    reads: tuple[str, ...]  # tables / event kinds it reads, shown on the catalog page


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One metric for one subject and period; ratios and averages keep their parts so they roll up."""

    value: float | int | None  # None = undefined (e.g. a rate with a zero denominator)
    numerator: float | int | None = None
    denominator: float | int | None = None


@dataclass(slots=True)
class MetricTable:
    """Results of one computation: metric code → subject id → value (subjects with no data are absent)."""

    period: Period
    subject_kind: SubjectKind
    values: dict[str, dict[int, MetricValue]] = field(default_factory=dict)

    def get(self, code: str, subject_id: int) -> MetricValue | None:
        """The value, or None when the subject had nothing to count."""
        return self.values.get(code, {}).get(subject_id)
