"""GET /api/v1/metrics (the catalog) and /api/v1/metrics/values (values within the caller's scope)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.db.types import utcnow
from siyu.performance.catalog import METRICS
from siyu.performance.compute import make_period, scoped_values
from siyu.performance.schemas import MetricOut, MetricValuesOut, SubjectValuesOut, ValueOut
from siyu.timeutil import local_date

router = APIRouter(responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)


@router.get("/metrics", response_model=list[MetricOut], tags=["performance"])
def list_metrics(actor: ActorDep) -> list[MetricOut]:
    """Every metric of the catalog with its definition, in page order (any signed-in caller)."""
    return [MetricOut.of(m) for m in METRICS.values()]


@router.get("/metrics/values", response_model=MetricValuesOut, tags=["performance"])
def metric_values(
    session: SessionDep,
    actor: ActorDep,
    codes: Annotated[
        str | None, Query(max_length=2000, description="comma-separated codes (default all)")
    ] = None,
    period: Literal["day", "week", "month", "quarter", "custom"] = "month",
    date_: Annotated[
        date | None, Query(alias="date", description="a day in the period (default today)")
    ] = None,
    last: Annotated[date | None, Query(description="last day of a custom period")] = None,
    subject: Literal["staff", "unit", "company"] = "staff",
) -> MetricValuesOut:
    """Values for all staff / units the caller may read (company needs scope all), from the metric catalog."""
    chosen = [c.strip() for c in codes.split(",") if c.strip()] if codes else None
    result = scoped_values(
        session, actor, chosen, make_period(period, date_ or local_date(utcnow()), last), subject
    )
    table = result.table
    rows = []
    for s in result.subjects:
        values = {
            code: ValueOut(value=v.value, numerator=v.numerator, denominator=v.denominator)
            for code, by_subject in table.values.items()
            if (v := by_subject.get(s.id)) is not None
        }
        rows.append(SubjectValuesOut(subject_id=s.id, code=s.code, name=s.name, values=values))
    return MetricValuesOut(
        period=table.period.kind.value,
        first=table.period.first,
        last=table.period.last,
        subject=table.subject_kind.value,
        codes=list(table.values),
        rows=rows,
    )
