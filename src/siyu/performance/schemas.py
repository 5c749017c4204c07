"""API shapes of the metric catalog and metric values (money in fen, ratios 0..1, seconds as numbers)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from siyu.performance.contract import MetricDef


class MetricOut(BaseModel):
    """One catalog entry."""

    code: str
    group: str
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str
    formula: str
    unit: str
    direction: str
    subjects: list[str]
    reads: list[str]

    @classmethod
    def of(cls, m: MetricDef) -> MetricOut:
        """From the catalog's definition."""
        return cls(
            code=m.code,
            group=m.group.value,
            name_zh=m.name_zh,
            name_en=m.name_en,
            definition_zh=m.definition_zh,
            definition_en=m.definition_en,
            formula=m.formula,
            unit=m.unit.value,
            direction=m.direction.value,
            subjects=sorted(s.value for s in m.subjects),
            reads=list(m.reads),
        )


class ValueOut(BaseModel):
    """One metric for one subject; null value = undefined (e.g. zero denominator) or not available."""

    value: float | int | None
    numerator: float | int | None = None
    denominator: float | int | None = None


class SubjectValuesOut(BaseModel):
    """A subject and its values by metric code (metrics with nothing to count are absent)."""

    subject_id: int
    code: str
    name: str
    values: dict[str, ValueOut]


class MetricValuesOut(BaseModel):
    """Values of the chosen metrics for every subject the caller may read."""

    period: str
    first: date
    last: date
    subject: str
    codes: list[str]
    rows: list[SubjectValuesOut]
