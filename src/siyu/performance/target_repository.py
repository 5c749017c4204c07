"""Target queries; the data scope is applied here, once, by readable_targets(actor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, false, select, true
from sqlalchemy.orm import Session

from siyu.models import OrgUnit, Staff, Target, TargetSubject
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, DataScope


def readable_targets(actor: Actor) -> ColumnElement[bool]:
    """Filter on Target: all → every target; unit/subtree → targets of those units; self → one's own."""
    if actor.scope is DataScope.all:
        return true()
    units = org_repo.scope_unit_ids(actor)
    if units is not None:
        return Target.unit_id.in_(units)
    if actor.scope is DataScope.self_ and actor.staff_id is not None:
        return and_(Target.subject_kind == TargetSubject.staff, Target.subject_id == actor.staff_id)
    return false()


@dataclass(frozen=True, slots=True)
class TargetFilter:
    """What the list shows: targets overlapping [first, last], optionally one unit's subtree and one metric."""

    first: date | None = None
    last: date | None = None
    unit_id: int | None = None
    metric_code: str | None = None
    subject_kind: TargetSubject | None = None
    subject_id: int | None = None


def list_targets(session: Session, actor: Actor, flt: TargetFilter, limit: int = 500) -> Sequence[Target]:
    """Readable targets matching flt, by period, unit and metric."""
    query = select(Target).where(readable_targets(actor))
    if flt.first is not None:
        query = query.where(Target.last_day >= flt.first)
    if flt.last is not None:
        query = query.where(Target.first_day <= flt.last)
    if flt.unit_id is not None:
        unit_path = select(OrgUnit.path).where(OrgUnit.id == flt.unit_id).scalar_subquery()
        below = select(OrgUnit.id).where(OrgUnit.path.startswith(unit_path))
        query = query.where(Target.unit_id.in_(below))
    if flt.metric_code:
        query = query.where(Target.metric_code == flt.metric_code)
    if flt.subject_kind is not None:
        query = query.where(Target.subject_kind == flt.subject_kind)
    if flt.subject_id is not None:
        query = query.where(Target.subject_id == flt.subject_id)
    order = (
        Target.first_day.desc(),
        Target.unit_id,
        Target.subject_kind,
        Target.subject_id,
        Target.metric_code,
    )
    return session.scalars(query.order_by(*order).limit(limit)).all()


def get_target(session: Session, actor: Actor, target_id: int) -> Target | None:
    """The target if the actor may read it."""
    return session.scalar(select(Target).where(Target.id == target_id, readable_targets(actor)))


def subject_names(session: Session, targets: Sequence[Target]) -> dict[tuple[str, int], str]:
    """(subject kind, id) → display name, two IN queries for the whole list."""
    staff_ids = {t.subject_id for t in targets if t.subject_kind is TargetSubject.staff}
    unit_ids = {t.subject_id for t in targets if t.subject_kind is TargetSubject.unit} | {
        t.unit_id for t in targets
    }
    names: dict[tuple[str, int], str] = {}
    if staff_ids:
        for sid, name in session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids))):
            names[("staff", sid)] = name
    if unit_ids:
        for uid, name in session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(unit_ids))):
            names[("unit", uid)] = name
    return names
