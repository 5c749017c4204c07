"""API shapes of competency models (/api/v1/talent/competencies)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from siyu.models.talent import CompetencyModel
from siyu.talent.competency import DEFAULT_KEY, dimensions_of
from siyu.talent.evidence import EVIDENCE_METRICS


class EvidenceMetricOut(BaseModel):
    """A metric shown beside a dimension's score, with its catalog names."""

    code: str
    name_zh: str
    name_en: str
    direction: str = Field(description="higher | lower: which way is better")


class DimensionOut(BaseModel):
    """One dimension of a model version."""

    code: str
    name_zh: str
    name_en: str
    weight: int
    anchors: list[str] = Field(description="behavioural anchors for scores 1..5 (zh)")
    evidence_metric_codes: list[str]
    evidence_metrics: list[EvidenceMetricOut]
    description_zh: str


class DimensionIn(BaseModel):
    """One dimension of a new version (checked by the service; errors name the path, e.g. dimensions[2].weight)."""

    code: str = Field(max_length=48)
    name_zh: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    weight: int
    anchors: list[str] = Field(max_length=5)
    evidence_metric_codes: list[str] = Field(default_factory=list, max_length=20)
    description_zh: str = Field(default="", max_length=1000)


class CompetencyModelIn(BaseModel):
    """A new version of a role's model (or the default, role key "*")."""

    dimensions: list[DimensionIn] = Field(max_length=12)
    note: str | None = Field(default=None, max_length=2000)


class CompetencyModelOut(BaseModel):
    """The model version in force for a role: its own, or the default it falls back to."""

    id: int
    role_key: str = Field(description='the role code the version belongs to, or "*" for the default')
    requested_role: str
    inherited: bool = Field(description="true when the role has no model of its own and uses the default")
    version: int
    note: str | None
    created_at: datetime
    dimensions: list[DimensionOut]

    @classmethod
    def of(cls, model: CompetencyModel, requested: str) -> CompetencyModelOut:
        """From the ORM row."""
        return cls(
            id=model.id,
            role_key=model.role_key,
            requested_role=requested,
            inherited=model.role_key != requested and requested != DEFAULT_KEY,
            version=model.version,
            note=model.note,
            created_at=model.created_at,
            dimensions=[dimension_out(d.to_dict()) for d in dimensions_of(model)],
        )


def dimension_out(body: dict[str, Any]) -> DimensionOut:
    """A stored dimension with its evidence metrics' names."""
    metrics = [
        EvidenceMetricOut(code=c, name_zh=m.name_zh, name_en=m.name_en, direction=m.direction.value)
        for c in body["evidence_metric_codes"]
        if (m := EVIDENCE_METRICS.get(c)) is not None
    ]
    return DimensionOut(**body, evidence_metrics=metrics)
