"""JSON shapes of the org advisor API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AdvisorIn(BaseModel):
    """The questionnaire answers (see docs/talent.md for every field) and an optional note."""

    answers: dict[str, Any] = Field(
        description="sales_model, purpose, stage, store_count, guide_count, member_share (0..1), strategic, "
        "pilot, expertise, private_revenue_share (0..1), traffic_source, has_mall, gmv_and_brand_at_once, "
        "aligned, org_meets_needs, current_team {role_code: headcount}"
    )
    note: str | None = Field(default=None, max_length=500)


class CitationOut(BaseModel):
    """The article passage a reason quotes (seed file, verbatim simplified Chinese)."""

    seed: str
    quote: str


class ReasonOut(BaseModel):
    """One rule that fired; its code is prefixed by the output field it explains."""

    code: str
    text_zh: str
    text_en: str
    citation: CitationOut


class TeamSlotOut(BaseModel):
    """A role and its recommended headcount."""

    role_code: str
    headcount: int


class AdviceOut(BaseModel):
    """The recommendation."""

    structure: str
    build_mode: str
    starting_team: list[TeamSlotOut]
    next_roles: list[str]
    kpi_emphasis: list[str]
    traps: list[ReasonOut]
    reasons: list[ReasonOut]


class AdvisorRunOut(BaseModel):
    """A stored run: the answers as validated and the advice they produced."""

    id: int
    created_at: datetime
    created_by: str | None
    note: str | None
    answers: dict[str, Any]
    advice: AdviceOut


class AdvisorRunsOut(BaseModel):
    """The newest runs first."""

    items: list[AdvisorRunOut]
