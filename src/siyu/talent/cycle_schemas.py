"""JSON shapes of assessment cycles and assessments (/api/v1/talent/cycles, /api/v1/talent/assessments)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.talent import Assessment, AssessmentCycle
from siyu.talent.cycle_repository import AssessmentRow


class ThresholdsIn(BaseModel):
    """Weighted-score cuts (1..5): ≥ promote_min → 进, ≥ keep_min → 留, ≥ transfer_min → 转, else 退."""

    model_config = ConfigDict(extra="forbid")

    promote_min: float = 4.2
    keep_min: float = 3.4
    transfer_min: float = 2.6


class CycleCreate(BaseModel):
    """Open a cycle over an evidence period."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    first_day: date
    last_day: date
    thresholds: ThresholdsIn | None = None


class CycleOut(BaseModel):
    """A cycle and how far scoring has got in the caller's scope."""

    id: int
    name: str
    first_day: date
    last_day: date
    status: str
    thresholds: dict[str, Any]
    closed_at: datetime | None
    assessments: int  # readable by the caller
    submitted: int

    @classmethod
    def of(cls, cycle: AssessmentCycle, progress: dict[str, int]) -> CycleOut:
        """From the ORM row and its status counts."""
        return cls(
            id=cycle.id,
            name=cycle.name,
            first_day=cycle.first_day,
            last_day=cycle.last_day,
            status=cycle.status.value,
            thresholds=dict(cycle.thresholds),
            closed_at=cycle.closed_at,
            assessments=sum(progress.values()),
            submitted=progress.get("submitted", 0),
        )


class ScoreOut(BaseModel):
    """One dimension's score."""

    dimension: str
    score: int
    comment: str | None


class AssessmentOut(BaseModel):
    """One person's assessment in a cycle."""

    id: int
    cycle_id: int
    staff_id: int
    staff_name: str | None = None
    unit_id: int
    unit_name: str | None = None
    role_code: str
    competency_model_id: int
    status: str
    weighted_score: float | None
    outcome: str | None
    explanation: dict[str, Any] | None
    submitted_at: datetime | None
    scores: list[ScoreOut] = Field(default_factory=list)
    evidence: dict[str, Any] | None = None

    @classmethod
    def of(
        cls, a: Assessment, scores: list[ScoreOut], *, staff_name: str | None = None, unit_name: str | None = None,
        evidence: bool = False,
    ) -> AssessmentOut:  # fmt: skip
        """From the ORM row (evidence only when asked: it is the bulk of the row)."""
        return cls(
            id=a.id,
            cycle_id=a.cycle_id,
            staff_id=a.staff_id,
            staff_name=staff_name,
            unit_id=a.unit_id,
            unit_name=unit_name,
            role_code=a.role_code,
            competency_model_id=a.competency_model_id,
            status=a.status.value,
            weighted_score=a.weighted_score,
            outcome=a.outcome.value if a.outcome else None,
            explanation=a.explanation,
            submitted_at=a.submitted_at,
            scores=scores,
            evidence=a.evidence if evidence else None,
        )

    @classmethod
    def of_row(cls, row: AssessmentRow, scores: list[ScoreOut]) -> AssessmentOut:
        """From a cycle list row."""
        return cls.of(row.assessment, scores, staff_name=row.staff_name, unit_name=row.unit_name)


class ScoreIn(BaseModel):
    """A 1–5 score with an optional comment."""

    model_config = ConfigDict(extra="forbid")

    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class ScoresIn(BaseModel):
    """Scores by dimension code; dimensions left out keep what was saved."""

    model_config = ConfigDict(extra="forbid")

    scores: dict[str, ScoreIn]
