"""API shapes for the brand stage, KPI sets and targets (money values are fen, rates 0..1)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from siyu.models import KpiSet, PaceCurve
from siyu.performance.target_progress import Progress


class StageIn(BaseModel):
    """A stage change: the stage in force from effective_from on."""

    stage: str = Field(description="launch | growth | steady")
    effective_from: date
    note: str | None = Field(default=None, max_length=2000)


class StageEntryOut(BaseModel):
    """One entry of the stage history."""

    stage: str
    effective_from: date
    note: str | None


class StageOut(BaseModel):
    """The stage in force on a day and the whole history (newest first)."""

    day: date
    stage: str
    history: list[StageEntryOut]


class KpiItemIn(BaseModel):
    """One weighted metric of a KPI set."""

    metric_code: str = Field(max_length=64)
    weight: int = Field(ge=1, le=100)
    note: str | None = Field(default=None, max_length=500)


class KpiSetIn(BaseModel):
    """A new version of the role × stage set; weights must sum to 100."""

    role_code: str = Field(min_length=1, max_length=48)
    stage: str
    effective_from: date
    items: list[KpiItemIn] = Field(max_length=30)
    note: str | None = Field(default=None, max_length=2000)


class KpiItemOut(BaseModel):
    """One weighted metric of a stored version."""

    metric_code: str
    weight: int
    note: str | None


class KpiSetOut(BaseModel):
    """One stored version of a KPI set."""

    id: int
    role_code: str
    stage: str
    version: int
    effective_from: date
    note: str | None
    items: list[KpiItemOut]

    @classmethod
    def of(cls, s: KpiSet) -> KpiSetOut:
        """From the ORM row (items loaded)."""
        items = [KpiItemOut(metric_code=i.metric_code, weight=i.weight, note=i.note) for i in s.items]
        return cls(id=s.id, role_code=s.role_code, stage=s.stage.value, version=s.version,
                   effective_from=s.effective_from, note=s.note, items=items)  # fmt: skip


class TermsIn(BaseModel):
    """What a target asks for; period = the period of period_kind containing first (custom: first..last)."""

    metric_code: str = Field(max_length=64)
    period_kind: str = "month"
    first: date
    last: date | None = None
    target_value: float = Field(gt=0, description="same unit as the metric: fen for money, 0..1 for rates")
    exceed_percent: int = Field(default=120, ge=101, le=1000)
    incentive_note: str | None = Field(default=None, max_length=2000)
    new_business: bool = False
    pace_curve: PaceCurve = PaceCurve.linear
    day_weights: list[float] | None = Field(default=None, max_length=366)


class TargetIn(TermsIn):
    """A target for one staff member or org unit."""

    subject_kind: str = Field(description="staff | unit")
    subject_id: int = Field(ge=1)


class BulkIn(TermsIn):
    """The same target for every active staff member of a unit (optionally one role)."""

    unit_id: int = Field(ge=1)
    role_code: str | None = Field(default=None, max_length=48)


class BulkOut(BaseModel):
    """What a bulk assignment did."""

    created: int
    skipped_staff_codes: list[str]


class TargetOut(BaseModel):
    """A target with its progress (actual is the metric catalog's value for the same subject and period)."""

    id: int
    subject_kind: str
    subject_id: int
    unit_id: int
    metric_code: str
    period_kind: str
    first: date
    last: date
    target_value: float
    exceed_percent: int
    incentive_note: str | None
    new_business: bool
    pace_curve: str
    actual: float | int | None
    percent: float | None
    expected_by_today: float
    pace_percent: float | None
    tier: str | None
    penalised: bool

    @classmethod
    def of(cls, p: Progress) -> TargetOut:
        """From a computed progress."""
        t = p.target
        return cls(
            id=t.id, subject_kind=t.subject_kind.value, subject_id=t.subject_id, unit_id=t.unit_id,
            metric_code=t.metric_code, period_kind=t.period_kind, first=t.first_day, last=t.last_day,
            target_value=float(t.target_value), exceed_percent=t.exceed_percent, incentive_note=t.incentive_note,
            new_business=t.new_business, pace_curve=t.pace_curve.value, actual=p.actual, percent=p.percent,
            expected_by_today=p.expected, pace_percent=p.pace_percent,
            tier=p.tier.value if p.tier else None, penalised=p.penalised,
        )  # fmt: skip


class RollupRowOut(BaseModel):
    """A unit's target vs the sum of its staff's targets for one metric."""

    metric_code: str
    unit_target: float | None
    staff_sum: float | None
    staff_count: int
    gap: float | None


class ScoreItemOut(BaseModel):
    """One KPI-set item of a score."""

    metric_code: str
    weight: int
    target_id: int | None
    percent: float | None
    counted_percent: float | None


class ScoreOut(BaseModel):
    """A staff member's weighted score for a period (items without a target are left out of the average)."""

    staff_id: int
    first: date
    last: date
    role_code: str | None
    kpi_set_id: int | None
    kpi_set_version: int | None
    covered_weight: int
    score: float | None
    items: list[ScoreItemOut]
