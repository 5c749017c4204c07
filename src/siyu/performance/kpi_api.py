"""/api/v1/stage, /api/v1/kpi-sets and /api/v1/targets: thin edges over the KPI and target services."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, MAX_ID, IdPath
from siyu.db.types import utcnow
from siyu.errors import NotFound
from siyu.models import Staff, TargetSubject
from siyu.org import repository as org_repo
from siyu.performance import kpi_service, targets_service
from siyu.performance.kpi_schemas import (
    BulkIn,
    BulkOut,
    KpiSetIn,
    KpiSetOut,
    RollupRowOut,
    ScoreItemOut,
    ScoreOut,
    StageEntryOut,
    StageIn,
    StageOut,
    TargetIn,
    TargetOut,
    TermsIn,
)
from siyu.performance.target_progress import progress_many, staff_score
from siyu.performance.target_repository import TargetFilter, get_target, list_targets
from siyu.timeutil import local_date

router = APIRouter(responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["kpi"]


def _today() -> date:
    return local_date(utcnow())


def _terms(body: TermsIn) -> targets_service.TargetTerms:
    return targets_service.TargetTerms(
        metric_code=body.metric_code,
        period=targets_service.make_period(body.period_kind, body.first, body.last),
        target_value=body.target_value,
        exceed_percent=body.exceed_percent,
        incentive_note=body.incentive_note,
        new_business=body.new_business,
        pace_curve=body.pace_curve,
        day_weights=body.day_weights,
    )


@router.get("/stage", response_model=StageOut, tags=TAGS)
def get_stage(session: SessionDep, _actor: ActorDep, day: date | None = None) -> StageOut:
    """The brand stage in force on day (default today) and the whole history."""
    chosen = day or _today()
    history = [StageEntryOut(stage=h.stage.value, effective_from=h.effective_from, note=h.note)
               for h in kpi_service.stage_history(session)]  # fmt: skip
    return StageOut(day=chosen, stage=kpi_service.stage_on(session, chosen).value, history=history)


@router.post("/stage", response_model=StageOut, tags=TAGS)
def post_stage(body: StageIn, session: SessionDep, actor: ActorDep) -> StageOut:
    """Record a stage change (admin or head of private domain; audited)."""
    kpi_service.set_stage(session, actor, body.stage, body.effective_from, body.note)
    session.commit()
    return get_stage(session, actor, body.effective_from)


@router.get("/kpi-sets", response_model=list[KpiSetOut], tags=TAGS)
def get_kpi_sets(session: SessionDep, _actor: ActorDep, day: date | None = None, stage: str | None = None) -> list[KpiSetOut]:  # fmt: skip
    """The version in force on day (default today) of every role's set, in that day's stage unless given."""
    chosen = day or _today()
    in_stage = kpi_service.parse_stage(stage) if stage else kpi_service.stage_on(session, chosen)
    return [KpiSetOut.of(s) for s in kpi_service.sets_in_force(session, chosen, in_stage).values()]


@router.get("/kpi-sets/{role_code}/{stage}", response_model=list[KpiSetOut], tags=TAGS)
def get_kpi_set_versions(
    session: SessionDep, _actor: ActorDep, role_code: str, stage: str
) -> list[KpiSetOut]:
    """Every version of one role × stage set, newest first."""
    return [KpiSetOut.of(s) for s in kpi_service.versions(session, role_code, stage)]


@router.post("/kpi-sets", response_model=KpiSetOut, status_code=201, tags=TAGS)
def post_kpi_set(body: KpiSetIn, session: SessionDep, actor: ActorDep) -> KpiSetOut:
    """Write a new version (codes checked against the catalog, weights summing to 100; audited)."""
    items = [kpi_service.ItemIn(i.metric_code, i.weight, i.note) for i in body.items]
    saved = kpi_service.save_kpi_set(
        session, actor, body.role_code, body.stage, body.effective_from, items, body.note
    )
    session.commit()
    return KpiSetOut.of(kpi_service.get_version(session, saved.id))


@router.get("/targets", response_model=list[TargetOut], tags=TAGS)
def get_targets(
    session: SessionDep,
    actor: ActorDep,
    first: date | None = None,
    last: date | None = None,
    unit_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    metric: str | None = None,
    staff_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[TargetOut]:
    """Readable targets overlapping first..last with their progress as of today."""
    flt = TargetFilter(first, last, unit_id, metric or None, None if staff_id is None else TargetSubject.staff, staff_id)  # fmt: skip
    targets = list_targets(session, actor, flt)
    return [TargetOut.of(p) for p in progress_many(session, targets, _today())]


@router.get("/targets/rollup", response_model=list[RollupRowOut], tags=TAGS)
def get_rollup(
    session: SessionDep,
    actor: ActorDep,
    unit_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    first: date,
    period_kind: str = "month",
    last: date | None = None,
) -> list[RollupRowOut]:
    """Per metric: the unit's own target vs the sum of its subtree's staff targets for the same period."""
    period = targets_service.make_period(period_kind, first, last)
    rows = targets_service.rollup(session, actor, unit_id, period)
    return [RollupRowOut(metric_code=r.metric_code, unit_target=r.unit_target,
                         staff_sum=r.staff_sum if r.additive else None, staff_count=r.staff_count, gap=r.gap)
            for r in rows]  # fmt: skip


@router.get("/targets/score", response_model=ScoreOut, tags=TAGS)
def get_score(
    session: SessionDep,
    actor: ActorDep,
    staff_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    first: date,
    period_kind: str = "month",
    last: date | None = None,
) -> ScoreOut:
    """A staff member's weighted KPI score under the set in force on the period's first day."""
    if session.scalar(select(Staff.id).where(Staff.id == staff_id, org_repo.readable_staff(actor))) is None:
        raise NotFound(f"score: staff {staff_id} does not exist")
    score = staff_score(session, staff_id, targets_service.make_period(period_kind, first, last), _today())
    items = [ScoreItemOut(metric_code=i.metric_code, weight=i.weight,
                          target_id=i.progress.target.id if i.progress else None,
                          percent=i.progress.percent if i.progress else None, counted_percent=i.counted_percent)
             for i in score.items]  # fmt: skip
    return ScoreOut(
        staff_id=staff_id, first=score.period.first, last=score.period.last, role_code=score.role_code,
        kpi_set_id=score.kpi_set.id if score.kpi_set else None,
        kpi_set_version=score.kpi_set.version if score.kpi_set else None,
        covered_weight=score.covered_weight, score=score.value, items=items,
    )  # fmt: skip


def _one(session: SessionDep, actor: ActorDep, target_id: int) -> TargetOut:
    target = get_target(session, actor, target_id)
    if target is None:
        raise NotFound(f"target {target_id} does not exist")
    return TargetOut.of(progress_many(session, [target], _today())[0])


@router.get("/targets/{target_id}", response_model=TargetOut, tags=TAGS)
def get_one_target(session: SessionDep, actor: ActorDep, target_id: IdPath) -> TargetOut:
    """One readable target with its progress."""
    return _one(session, actor, target_id)


@router.post("/targets", response_model=TargetOut, status_code=201, tags=TAGS)
def post_target(body: TargetIn, session: SessionDep, actor: ActorDep) -> TargetOut:
    """Create a target (unique per subject, metric and period; audited)."""
    target = targets_service.create_target(session, actor, body.subject_kind, body.subject_id, _terms(body))
    session.commit()
    return _one(session, actor, target.id)


@router.post("/targets/bulk", response_model=BulkOut, status_code=201, tags=TAGS)
def post_bulk(body: BulkIn, session: SessionDep, actor: ActorDep) -> BulkOut:
    """Give every active staff member of a unit the same target; existing ones are skipped."""
    result = targets_service.assign_to_unit_staff(session, actor, body.unit_id, _terms(body), body.role_code)
    session.commit()
    return BulkOut(created=result.created, skipped_staff_codes=result.skipped)


@router.put("/targets/{target_id}", response_model=TargetOut, tags=TAGS)
def put_target(body: TermsIn, session: SessionDep, actor: ActorDep, target_id: IdPath) -> TargetOut:
    """Change a target's value, threshold, note, new-business flag and pace (audited)."""
    targets_service.update_target(session, actor, target_id, _terms(body))
    session.commit()
    return _one(session, actor, target_id)


@router.delete("/targets/{target_id}", status_code=204, tags=TAGS)
def remove_target(session: SessionDep, actor: ActorDep, target_id: IdPath) -> Response:
    """Delete a target (audited)."""
    targets_service.delete_target(session, actor, target_id)
    session.commit()
    return Response(status_code=204)
