"""Queries behind journey definitions and the journey console (set-based; every count one GROUP BY)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from siyu.customers.repository import first_phones, readable
from siyu.journeys.definition_schemas import EnrolmentCounts
from siyu.models import Customer, Journey, JourneyEnrolment, JourneyStepRun, JourneyVersion
from siyu.models.journeys import EnrolmentStatus, JourneyStatus, StepRunStatus
from siyu.org.permissions import Actor
from siyu.privacy import mask_phone


def get_journey(session: Session, journey_id: int) -> Journey | None:
    """One journey by id."""
    return session.get(Journey, journey_id)


def journey_by_code(session: Session, code: str) -> Journey | None:
    """One journey by code."""
    return session.scalars(select(Journey).where(Journey.code == code)).first()


def list_journeys(session: Session, *, archived: bool = False) -> Sequence[Journey]:
    """Journeys, newest first; archived ones only when asked."""
    query = select(Journey).order_by(Journey.id.desc())
    if not archived:
        query = query.where(Journey.status != JourneyStatus.archived)
    return session.scalars(query).all()


def current_definitions(session: Session, journeys: Sequence[Journey]) -> dict[int, dict[str, Any]]:
    """{journey_id: definition of its current version} in one query."""
    if not journeys:
        return {}
    wanted = {(j.id, j.current_version) for j in journeys}
    rows = session.execute(
        select(JourneyVersion.journey_id, JourneyVersion.version, JourneyVersion.definition).where(
            JourneyVersion.journey_id.in_({j for j, _v in wanted})
        )
    ).all()
    return {r.journey_id: r.definition for r in rows if (r.journey_id, r.version) in wanted}


def versions(session: Session, journey_id: int) -> Sequence[JourneyVersion]:
    """A journey's versions, newest first."""
    query = select(JourneyVersion).where(JourneyVersion.journey_id == journey_id)
    return session.scalars(query.order_by(JourneyVersion.version.desc())).all()


def version_definition(session: Session, journey_id: int, version: int) -> dict[str, Any] | None:
    """One version's definition."""
    query = select(JourneyVersion.definition).where(
        JourneyVersion.journey_id == journey_id, JourneyVersion.version == version
    )
    return session.scalars(query).first()


def enrolment_counts(session: Session, journey_ids: Sequence[int]) -> dict[int, EnrolmentCounts]:
    """{journey_id: counts by status} in one GROUP BY."""
    out = {j: EnrolmentCounts() for j in journey_ids}
    if not journey_ids:
        return out
    rows = session.execute(
        select(JourneyEnrolment.journey_id, JourneyEnrolment.status, func.count())
        .where(JourneyEnrolment.journey_id.in_(journey_ids))
        .group_by(JourneyEnrolment.journey_id, JourneyEnrolment.status)
    ).all()
    for journey_id, status, n in rows:
        c = out[journey_id]
        c.enrolled += n
        if status is EnrolmentStatus.active:
            c.active += n
        elif status is EnrolmentStatus.completed:
            c.completed += n
        elif status is EnrolmentStatus.exited:
            c.exited += n
    return out


def step_funnel(session: Session, journey_id: int, now: datetime) -> dict[tuple[int, int], dict[str, int]]:
    """{(version, step_index): {scheduled, due, pending, done, skipped, failed}} from journey_step_runs."""
    r = JourneyStepRun

    def n(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    rows = session.execute(
        select(
            JourneyEnrolment.version,
            r.step_index,
            func.count(),
            n(r.due_at <= now),
            n(r.status == StepRunStatus.pending),
            n(r.status == StepRunStatus.done),
            n(r.status == StepRunStatus.skipped),
            n(r.status == StepRunStatus.failed),
        )
        .join(JourneyEnrolment, JourneyEnrolment.id == r.enrolment_id)
        .where(r.journey_id == journey_id)
        .group_by(JourneyEnrolment.version, r.step_index)
    ).all()
    keys = ("scheduled", "due", "pending", "done", "skipped", "failed")
    return {(v, i): dict(zip(keys, (int(x or 0) for x in rest), strict=True)) for v, i, *rest in rows}


def exit_reasons(session: Session, journey_id: int) -> dict[str, int]:
    """{exit_reason: exited enrolments} of a journey."""
    rows = session.execute(
        select(JourneyEnrolment.exit_reason, func.count())
        .where(JourneyEnrolment.journey_id == journey_id, JourneyEnrolment.status == EnrolmentStatus.exited)
        .group_by(JourneyEnrolment.exit_reason)
    ).all()
    return {str(reason or "—"): int(n) for reason, n in rows}


def recent_enrolments(
    session: Session, actor: Actor, journey_id: int, limit: int = 20
) -> list[dict[str, Any]]:
    """The latest enrolments of customers the actor may read, with name and masked phone."""
    e = JourneyEnrolment
    rows = session.execute(
        select(e, Customer.name)
        .join(Customer, Customer.id == e.customer_id)
        .where(e.journey_id == journey_id, readable(actor))
        .order_by(e.entered_at.desc(), e.id.desc())
        .limit(limit)
    ).all()
    phones = first_phones(session, [row[0].customer_id for row in rows])
    out = []
    for enrolment, name in rows:
        phone = mask_phone(phones.get(enrolment.customer_id))
        out.append({"enrolment": enrolment, "customer": " ".join(x for x in (name, phone) if x) or "—"})
    return out
