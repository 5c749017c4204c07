"""Assessment-cycle queries; who may read which assessment is decided here, once, by readable(actor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, func, select, true
from sqlalchemy.orm import Session

from siyu.models import OrgUnit, Staff
from siyu.models.talent import (
    Assessment,
    AssessmentCycle,
    AssessmentOutcome,
    AssessmentScore,
    AssessmentStatus,
    CompetencyModel,
)
from siyu.org.permissions import Actor, DataScope
from siyu.org.repository import scope_unit_ids, subtree_ids
from siyu.talent.roles_catalog import catalog


def readable(actor: Actor) -> ColumnElement[bool]:
    """Filter on Assessment: all → every row; subtree/unit → rows of units in scope; self → own submitted history."""
    if actor.scope is DataScope.all:
        return true()
    units = scope_unit_ids(actor)
    if units is not None:
        return Assessment.unit_id.in_(units)
    if actor.scope is DataScope.self_ and actor.staff_id is not None:
        # A person sees their own final results, never a draft their manager is still writing.
        return and_(Assessment.staff_id == actor.staff_id, Assessment.status == AssessmentStatus.submitted)
    # A scope without the unit or staff it needs sees nothing rather than everything.
    return false()


@dataclass(frozen=True)
class RowFilter:
    """The cycle page's filters (None: any)."""

    unit_path: str | None = None  # the unit and everything below it
    role_code: str | None = None
    status: AssessmentStatus | None = None
    outcome: AssessmentOutcome | None = None


@dataclass(frozen=True)
class AssessmentRow:
    """One line of a cycle's list: the assessment and who it is about."""

    assessment: Assessment
    staff_name: str
    staff_code: str
    unit_name: str
    unit_path: str


def get_cycle(session: Session, cycle_id: int) -> AssessmentCycle | None:
    """A cycle by id (cycles themselves are not scoped: their rows are)."""
    return session.get(AssessmentCycle, cycle_id)


def list_cycles(session: Session) -> Sequence[AssessmentCycle]:
    """Every cycle, newest evidence period first."""
    return session.scalars(
        select(AssessmentCycle).order_by(AssessmentCycle.first_day.desc(), AssessmentCycle.id.desc())
    ).all()


def cycle_progress(session: Session, actor: Actor, cycle_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """{cycle_id: {status: readable assessments}} in one grouped query."""
    out: dict[int, dict[str, int]] = {i: {s.value: 0 for s in AssessmentStatus} for i in cycle_ids}
    if not cycle_ids:
        return out
    rows = session.execute(
        select(Assessment.cycle_id, Assessment.status, func.count())
        .where(Assessment.cycle_id.in_(cycle_ids), readable(actor))
        .group_by(Assessment.cycle_id, Assessment.status)
    )
    for cycle_id, status, n in rows:
        out[cycle_id][AssessmentStatus(status).value] = int(n)
    return out


def _conditions(f: RowFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.unit_path is not None:
        # A unit filter means the unit and everything below it, like every unit filter of the console.
        out.append(Assessment.unit_id.in_(subtree_ids(f.unit_path)))
    if f.role_code:
        out.append(Assessment.role_code == f.role_code)
    if f.status is not None:
        out.append(Assessment.status == f.status)
    if f.outcome is not None:
        out.append(Assessment.outcome == f.outcome)
    return out


def cycle_rows(
    session: Session, actor: Actor, cycle_id: int, f: RowFilter, limit: int = 5000
) -> list[AssessmentRow]:
    """Readable assessments of a cycle with names, by unit path then staff name (one joined query)."""
    query = (
        select(Assessment, Staff.name, Staff.code, OrgUnit.name, OrgUnit.path)
        .join(Staff, Staff.id == Assessment.staff_id)
        .join(OrgUnit, OrgUnit.id == Assessment.unit_id)
        .where(Assessment.cycle_id == cycle_id, readable(actor))
    )
    query = query.where(*_conditions(f)).order_by(OrgUnit.path, Staff.name, Assessment.id).limit(limit)
    return [AssessmentRow(a, name, code, unit, path) for a, name, code, unit, path in session.execute(query)]


def cycle_counts(session: Session, actor: Actor, cycle_id: int, f: RowFilter) -> dict[str, int]:
    """Readable assessments of a cycle by status and by outcome (submitted only), under f (one grouped query)."""
    query = select(Assessment.status, Assessment.outcome, func.count()).where(
        Assessment.cycle_id == cycle_id, readable(actor)
    )
    query = query.where(*_conditions(f)).group_by(Assessment.status, Assessment.outcome)
    out = {"total": 0, **{s.value: 0 for s in AssessmentStatus}, **{o.value: 0 for o in AssessmentOutcome}}
    for status, outcome, n in session.execute(query):
        out["total"] += int(n)
        out[AssessmentStatus(status).value] += int(n)
        if outcome is not None and AssessmentStatus(status) is AssessmentStatus.submitted:
            out[AssessmentOutcome(outcome).value] += int(n)
    return out


def cycle_facets(session: Session, actor: Actor, cycle_id: int) -> tuple[list[tuple[int, str]], list[str]]:
    """The units and role codes of a cycle's readable rows, for the filter menus."""
    units = session.execute(
        select(OrgUnit.id, OrgUnit.name)
        .where(
            OrgUnit.id.in_(select(Assessment.unit_id).where(Assessment.cycle_id == cycle_id, readable(actor)))
        )
        .order_by(OrgUnit.path)
    ).all()
    roles = session.scalars(
        select(Assessment.role_code)
        .where(Assessment.cycle_id == cycle_id, readable(actor))
        .distinct()
        .order_by(Assessment.role_code)
    ).all()
    return [(int(i), str(n)) for i, n in units], list(roles)


def get_assessment(session: Session, actor: Actor, assessment_id: int) -> Assessment | None:
    """The assessment if the actor may read it."""
    return session.scalar(select(Assessment).where(Assessment.id == assessment_id, readable(actor)))


def scores_of(session: Session, assessment_ids: Sequence[int]) -> dict[int, dict[str, AssessmentScore]]:
    """{assessment_id: {dimension: score row}} (one IN query)."""
    out: dict[int, dict[str, AssessmentScore]] = {i: {} for i in assessment_ids}
    if not assessment_ids:
        return out
    rows = session.scalars(
        select(AssessmentScore)
        .where(AssessmentScore.assessment_id.in_(assessment_ids))
        .order_by(AssessmentScore.assessment_id, AssessmentScore.position)
    )
    for row in rows:
        out[row.assessment_id][row.dimension_code] = row
    return out


def models_by_id(session: Session, model_ids: Sequence[int]) -> dict[int, CompetencyModel]:
    """Competency model versions by id (one IN query)."""
    if not model_ids:
        return {}
    rows = session.scalars(select(CompetencyModel).where(CompetencyModel.id.in_(set(model_ids))))
    return {m.id: m for m in rows}


def history(session: Session, actor: Actor, staff_id: int) -> list[tuple[Assessment, AssessmentCycle]]:
    """Every readable assessment of one person with its cycle, oldest period first."""
    rows = session.execute(
        select(Assessment, AssessmentCycle)
        .join(AssessmentCycle, AssessmentCycle.id == Assessment.cycle_id)
        .where(Assessment.staff_id == staff_id, readable(actor))
        .order_by(AssessmentCycle.first_day, AssessmentCycle.id)
    ).all()
    return [(a, c) for a, c in rows]


def staff_brief(session: Session, staff_id: int) -> tuple[str, str, int] | None:
    """(name, code, unit_id) of a staff member, for labelling rows already known to be readable."""
    row = session.execute(select(Staff.name, Staff.code, Staff.unit_id).where(Staff.id == staff_id)).first()
    return None if row is None else (str(row[0]), str(row[1]), int(row[2]))


def unit_paths(session: Session, unit_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """{unit_id: (name, path)} (one IN query)."""
    if not unit_ids:
        return {}
    rows = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.path).where(OrgUnit.id.in_(set(unit_ids)))
    )
    return {int(i): (str(n), str(p)) for i, n, p in rows}


def role_names(session: Session, locale: str) -> dict[str, str]:
    """Role code → display name (zh or en) from the role catalog with the console's edits (one query)."""
    return {
        r.code: (r.name_zh if locale == "zh" else r.name_en) for r in catalog(session, include_inactive=True)
    }
