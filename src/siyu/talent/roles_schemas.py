"""API shapes of the role map (/api/v1/talent/roles)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from siyu.talent.contract import RoleEntry
from siyu.talent.roles_service import Holder

_TEXT = 2000


class RoleOut(BaseModel):
    """One role of the catalog in force, with how many active staff in the caller's scope hold it."""

    code: str
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str
    duties: list[str]
    competencies: list[str]
    kpi_metric_codes: list[str]
    needed_from: str = Field(description="launch | growth | steady")
    value_stages: list[str] = Field(description="acquisition | retention_conversion | repurchase_fission")
    position: str = Field(description="lead | supporting")
    sort_order: int
    builtin: bool
    active: bool
    holder_count: int

    @classmethod
    def of(cls, entry: RoleEntry, holder_count: int) -> RoleOut:
        """From a catalog entry."""
        return cls(**entry.to_dict(), holder_count=holder_count)


class HolderOut(BaseModel):
    """An active staff member holding the role."""

    staff_id: int
    staff_code: str
    name: str
    unit_id: int
    unit_name: str

    @classmethod
    def of(cls, holder: Holder) -> HolderOut:
        """From a service Holder."""
        return cls(**holder.__dict__)


class KpiWeightOut(BaseModel):
    """One metric of the KPI set in force for the role."""

    metric_code: str
    weight: int


class RoleDetailOut(RoleOut):
    """A role with its holders, the KPI set in force for it in today's stage, and a job-description draft."""

    holders: list[HolderOut]
    stage: str
    kpi_set: list[KpiWeightOut]
    job_description: str


class RoleEditIn(BaseModel):
    """Fields to change; omitted fields keep their value."""

    name_zh: str | None = Field(default=None, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    definition_zh: str | None = Field(default=None, max_length=_TEXT)
    definition_en: str | None = Field(default=None, max_length=_TEXT)
    duties: list[str] | None = Field(default=None, max_length=20)
    competencies: list[str] | None = Field(default=None, max_length=20)
    kpi_metric_codes: list[str] | None = Field(default=None, max_length=20)
    needed_from: str | None = None
    value_stages: list[str] | None = Field(default=None, max_length=3)
    position: str | None = None
    sort_order: int | None = None
    active: bool | None = Field(default=None, description="false deactivates, true reactivates")

    def fields(self) -> dict[str, Any]:
        """The submitted editable fields (active excluded: it has its own action)."""
        return {k: v for k, v in self.model_dump(exclude_none=True).items() if k != "active"}


class RoleCreateIn(BaseModel):
    """A custom role."""

    code: str = Field(
        min_length=2, max_length=48, description="[a-z][a-z0-9_]{1,47}, not used by another role"
    )
    name_zh: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    definition_zh: str = Field(max_length=_TEXT)
    definition_en: str = Field(default="", max_length=_TEXT)
    duties: list[str] = Field(max_length=20)
    competencies: list[str] = Field(max_length=20)
    kpi_metric_codes: list[str] = Field(default_factory=list, max_length=20)
    needed_from: str = "growth"
    value_stages: list[str] = Field(max_length=3)
    position: str = "supporting"
    sort_order: int = 1000
