"""Org queries; data scope for units and staff is applied here, once, by readable(actor)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, select, true
from sqlalchemy.orm import Session

from siyu.models import OrgUnit, Staff, StaffRole, StaffStatus
from siyu.org.permissions import Actor, DataScope


def subtree_ids(path: str) -> Select[int]:
    """Subquery: ids of the unit at path and every unit below it (one indexed prefix scan)."""
    return select(OrgUnit.id).where(OrgUnit.path.startswith(path, autoescape=True))


def scope_unit_ids(actor: Actor) -> Select[int] | None:
    """Subquery of the units an actor's unit/subtree scope covers; None when the scope is not unit-based."""
    if actor.scope is DataScope.subtree and actor.scope_unit_path:
        return subtree_ids(actor.scope_unit_path)
    if actor.scope is DataScope.unit and actor.scope_unit_id is not None:
        return select(OrgUnit.id).where(OrgUnit.id == actor.scope_unit_id)
    return None


def readable_units(actor: Actor) -> ColumnElement[bool]:
    """Filter on OrgUnit: all → every unit; subtree/unit → the scope; self → the unit of one's staff."""
    if actor.scope is DataScope.all:
        return true()
    units = scope_unit_ids(actor)
    if units is not None:
        return OrgUnit.id.in_(units)
    if actor.scope is DataScope.self_ and actor.staff_id is not None:
        return OrgUnit.id.in_(select(Staff.unit_id).where(Staff.id == actor.staff_id))
    # A scope without the unit or staff it needs sees nothing rather than everything.
    return false()


def readable_staff(actor: Actor) -> ColumnElement[bool]:
    """Filter on Staff: all → everyone; subtree/unit → staff of those units; self → oneself."""
    if actor.scope is DataScope.all:
        return true()
    units = scope_unit_ids(actor)
    if units is not None:
        return Staff.unit_id.in_(units)
    if actor.scope is DataScope.self_ and actor.staff_id is not None:
        return Staff.id == actor.staff_id
    return false()


# --- units ---------------------------------------------------------------------------------------


def get_unit(session: Session, actor: Actor, unit_id: int) -> OrgUnit | None:
    """The unit with unit_id if the actor may read it."""
    return session.scalar(select(OrgUnit).where(OrgUnit.id == unit_id, readable_units(actor)))


def get_unit_by_code(session: Session, actor: Actor, code: str) -> OrgUnit | None:
    """The unit with code if the actor may read it."""
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code, readable_units(actor)))


def list_units(
    session: Session,
    actor: Actor,
    *,
    under_path: str | None,
    kind: str | None,
    after_id: int | None,
    limit: int,
) -> Sequence[OrgUnit]:
    """A page of readable units ordered by id, optionally only a subtree; fetches limit rows."""
    query = select(OrgUnit).where(readable_units(actor))
    if under_path is not None:
        query = query.where(OrgUnit.path.startswith(under_path, autoescape=True))
    if kind is not None:
        query = query.where(OrgUnit.kind == kind)
    if after_id is not None:
        query = query.where(OrgUnit.id > after_id)
    return session.scalars(query.order_by(OrgUnit.id).limit(limit)).all()


def units_by_ids(session: Session, actor: Actor, ids: Sequence[int]) -> dict[int, OrgUnit]:
    """Readable units among ids, keyed by id (one IN query)."""
    if not ids:
        return {}
    rows = session.scalars(select(OrgUnit).where(OrgUnit.id.in_(set(ids)), readable_units(actor)))
    return {u.id: u for u in rows}


def child_counts(session: Session, actor: Actor, unit_ids: Sequence[int]) -> dict[int, int]:
    """Number of readable direct children of each unit (one grouped query)."""
    if not unit_ids:
        return {}
    rows = session.execute(
        select(OrgUnit.parent_id, func.count())
        .where(OrgUnit.parent_id.in_(unit_ids), readable_units(actor))
        .group_by(OrgUnit.parent_id)
    )
    return {int(parent): int(n) for parent, n in rows if parent is not None}


def children(session: Session, actor: Actor, unit_id: int) -> Sequence[OrgUnit]:
    """Readable direct children of a unit, by code."""
    query = select(OrgUnit).where(OrgUnit.parent_id == unit_id, readable_units(actor))
    return session.scalars(query.order_by(OrgUnit.code)).all()


def subtree_counts(session: Session, actor: Actor, unit: OrgUnit) -> dict[str, int]:
    """Readable descendants and active staff in the subtree of unit."""
    below = (
        select(func.count())
        .select_from(OrgUnit)
        .where(OrgUnit.path.startswith(unit.path, autoescape=True), OrgUnit.id != unit.id)
        .where(readable_units(actor))
    )
    staff = (
        select(func.count())
        .select_from(Staff)
        .where(Staff.unit_id.in_(subtree_ids(unit.path)), Staff.status == StaffStatus.active)
        .where(readable_staff(actor))
    )
    return {"descendants": session.scalar(below) or 0, "active_staff": session.scalar(staff) or 0}


# --- staff ---------------------------------------------------------------------------------------


def get_staff(session: Session, actor: Actor, staff_id: int) -> Staff | None:
    """The staff member with staff_id if the actor may read them."""
    return session.scalar(select(Staff).where(Staff.id == staff_id, readable_staff(actor)))


def list_staff(
    session: Session,
    actor: Actor,
    *,
    unit_path: str | None,
    role: str | None,
    status: StaffStatus | None,
    after_id: int | None,
    limit: int,
) -> Sequence[Staff]:
    """A page of readable staff ordered by id, filtered by unit subtree, role code and status."""
    query = select(Staff).where(readable_staff(actor))
    if unit_path is not None:
        query = query.where(Staff.unit_id.in_(subtree_ids(unit_path)))
    if role is not None:
        query = query.where(
            select(StaffRole.staff_id)
            .where(StaffRole.staff_id == Staff.id, StaffRole.role_code == role)
            .exists()
        )
    if status is not None:
        query = query.where(Staff.status == status)
    if after_id is not None:
        query = query.where(Staff.id > after_id)
    return session.scalars(query.order_by(Staff.id).limit(limit)).all()


def roles_of(session: Session, staff_ids: Sequence[int]) -> dict[int, list[str]]:
    """Role codes of each staff member (one IN query)."""
    found: dict[int, list[str]] = {i: [] for i in staff_ids}
    if not staff_ids:
        return found
    rows = session.execute(
        select(StaffRole.staff_id, StaffRole.role_code)
        .where(StaffRole.staff_id.in_(staff_ids))
        .order_by(StaffRole.staff_id, StaffRole.role_code)
    )
    for staff_id, code in rows:
        found[staff_id].append(code)
    return found


def unit_briefs(session: Session, unit_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Id, code and name of units (one IN query); used to label rows already known to be readable."""
    if not unit_ids:
        return {}
    rows = session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.id.in_(set(unit_ids)))
    )
    return {i: {"id": i, "code": code, "name": name} for i, code, name in rows}
