"""GET /api/v1/talent/gaps: the same gap report as the console page, as JSON."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.errors import Forbidden
from siyu.talent.access import GAPS
from siyu.talent.gaps_service import gap_report, thresholds_from

router = APIRouter(prefix="/talent/gaps", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["talent"]


class SubjectOut(BaseModel):
    """A role, a staff member or an org unit (with the role concerned, if any)."""

    type: str
    id: int | None
    code: str
    name: str
    role_code: str | None


class FindingOut(BaseModel):
    """One gap: kind, section, severity, subject, the numbers behind it, explanation and action (zh/en)."""

    kind: str
    section: str
    severity: str
    subject: SubjectOut
    numbers: dict[str, float | int]
    explanation_zh: str
    explanation_en: str
    action_zh: str
    action_en: str


class GapReportOut(BaseModel):
    """The report: stage, thresholds used, counts per section, totals in scope and the findings."""

    stage: str
    brand_wide: bool
    thresholds: dict[str, int]
    counts: dict[str, int]
    totals: dict[str, int]
    holders: dict[str, int]
    medians: dict[str, float]
    advisor_run_id: int | None
    findings: list[FindingOut]


@router.get("", response_model=GapReportOut, tags=TAGS)
def get_gaps(
    session: SessionDep,
    actor: ActorDep,
    unit: Annotated[str | None, Query(max_length=64, description="org unit code: only its subtree")] = None,
    customers_per_guide: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    open_tasks_per_person: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    owner_share_pct: Annotated[int | None, Query(ge=1, le=99)] = None,
    min_store_customers: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
) -> GapReportOut:
    """Missing roles, overloaded people and single points of failure in the caller's data scope."""
    if not GAPS.allows(actor):
        raise Forbidden(f"role {actor.role.value!r} may not read the gap analysis")
    thresholds = thresholds_from(
        {
            "customers_per_guide": customers_per_guide,
            "open_tasks_per_person": open_tasks_per_person,
            "owner_share_pct": owner_share_pct,
            "min_store_customers": min_store_customers,
        }
    )
    report = gap_report(session, actor, thresholds, unit)
    return GapReportOut.model_validate(report.to_dict())
