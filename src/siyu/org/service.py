"""Org rules: building the unit tree and registering staff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.api.pagination import after_id, split_page
from siyu.api.schemas import Page, check_text
from siyu.audit import audit
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models import OrgUnit, OrgUnitKind, Staff, StaffRole, StaffStatus
from siyu.org import repository as repo
from siyu.org.permissions import Actor, DataScope
from siyu.org.schemas import StaffDetail, StaffOut, UnitBrief, UnitCounts, UnitCreate, UnitDetail, UnitOut
from siyu.privacy import may_reveal, show_phone


def create_unit(
    session: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent_code: str | None = None,
    city: str | None = None,
) -> OrgUnit:
    """Add a unit under parent_code (or as a root); its materialised path is derived here."""
    try:
        unit_kind = OrgUnitKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in OrgUnitKind)
        raise Invalid(f"org unit kind {kind!r} is not one of: {allowed}") from None
    if session.scalar(select(OrgUnit.id).where(OrgUnit.code == code)) is not None:
        raise Conflict(f"org unit code {code!r} already exists")
    parent = None
    if parent_code is not None:
        parent = session.scalar(select(OrgUnit).where(OrgUnit.code == parent_code))
        if parent is None:
            raise NotFound(f"parent org unit {parent_code!r} does not exist")
    unit = OrgUnit(
        code=code,
        name=name,
        kind=unit_kind,
        parent_id=parent.id if parent else None,
        city=city,
        path="",
        depth=(parent.depth + 1) if parent else 0,
        active=True,
    )
    session.add(unit)
    session.flush()  # the id is part of the path
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    return unit


def subtree_unit_ids(session: Session, unit_path: str) -> list[int]:
    """Ids of the unit with unit_path and every unit below it (one indexed prefix scan)."""
    return list(
        session.scalars(select(OrgUnit.id).where(OrgUnit.path.startswith(unit_path, autoescape=True)))
    )


def create_staff(
    session: Session,
    *,
    code: str,
    name: str,
    unit_code: str,
    role_codes: Sequence[str] = (),
    hired_on: date | None = None,
    wecom_userid: str | None = None,
) -> Staff:
    """Register a staff member in a unit with role codes."""
    unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == unit_code))
    if unit_id is None:
        raise NotFound(f"org unit {unit_code!r} does not exist")
    if session.scalar(select(Staff.id).where(Staff.code == code)) is not None:
        raise Conflict(f"staff code {code!r} already exists")
    if wecom_userid and session.scalar(select(Staff.id).where(Staff.wecom_userid == wecom_userid)):
        raise Conflict(f"WeCom userid {wecom_userid!r} already belongs to another staff member")
    staff = Staff(
        code=code,
        name=name,
        unit_id=unit_id,
        status=StaffStatus.active,
        hired_on=hired_on,
        wecom_userid=wecom_userid,
    )
    session.add(staff)
    session.flush()
    session.add_all(StaffRole(staff_id=staff.id, role_code=r) for r in dict.fromkeys(role_codes))
    session.flush()
    return staff


# --- the API's view of the org: every read goes through org.repository's readable filters ----------


def create_unit_as(session: Session, actor: Actor, data: UnitCreate) -> OrgUnit:
    """Create a unit on behalf of actor: only under a unit they can read, roots only with scope all."""
    if actor.scope not in (DataScope.all, DataScope.subtree):
        raise Forbidden(
            f"data scope {actor.scope.value!r} may not add org units; it needs 'subtree' or 'all'"
        )
    if data.parent_code is None:
        if actor.scope is not DataScope.all:
            raise Forbidden("only data scope 'all' may add a root org unit")
    elif repo.get_unit_by_code(session, actor, data.parent_code) is None:
        raise NotFound(f"parent org unit {data.parent_code!r} does not exist")
    unit = create_unit(
        session,
        code=data.code,
        name=data.name,
        kind=data.kind.value,
        parent_code=data.parent_code,
        city=check_text(data.city, "city") if data.city else None,
    )
    audit(session, actor, "org_unit.create", "org_unit", unit.id, {"code": unit.code, "name": unit.name})
    return unit


def _readable_unit_path(session: Session, actor: Actor, code: str | None) -> str | None:
    """The path of the readable unit with code (None when no code); NotFound otherwise."""
    if code is None:
        return None
    unit = repo.get_unit_by_code(session, actor, code)
    if unit is None:
        raise NotFound(f"org unit {code!r} does not exist")
    return unit.path


def list_units_page(
    session: Session,
    actor: Actor,
    *,
    under: str | None,
    kind: OrgUnitKind | None,
    cursor: str | None,
    limit: int,
) -> Page[UnitOut]:
    """A page of readable units, optionally the subtree under the unit with code `under`."""
    under_path = _readable_unit_path(session, actor, under)
    rows = repo.list_units(
        session,
        actor,
        under_path=under_path,
        kind=kind.value if kind else None,
        after_id=after_id(cursor),
        limit=limit + 1,
    )
    items, next_cursor = split_page(rows, limit, lambda u: [u.id])
    return Page[UnitOut](items=[UnitOut.model_validate(u) for u in items], next_cursor=next_cursor)


def unit_detail(session: Session, actor: Actor, unit_id: int) -> UnitDetail:
    """A readable unit with its readable parent chain, direct children and head counts."""
    unit = repo.get_unit(session, actor, unit_id)
    if unit is None:
        raise NotFound(f"org unit {unit_id} does not exist")
    ancestor_ids = [int(p) for p in unit.path.strip("/").split("/")[:-1] if p]
    ancestors = repo.units_by_ids(session, actor, ancestor_ids)
    kids = repo.children(session, actor, unit.id)
    counts = repo.subtree_counts(session, actor, unit)
    return UnitDetail(
        **UnitOut.model_validate(unit).model_dump(),
        parents=[UnitBrief.model_validate(ancestors[i]) for i in ancestor_ids if i in ancestors],
        children=[UnitBrief.model_validate(k) for k in kids],
        counts=UnitCounts(children=len(kids), **counts),
    )


def _staff_out(staff: Staff, roles: dict[int, list[str]], units: dict[int, dict[str, Any]]) -> StaffOut:
    return StaffOut(
        id=staff.id,
        code=staff.code,
        name=staff.name,
        unit=UnitBrief(**units[staff.unit_id]),
        status=staff.status,
        roles=roles.get(staff.id, []),
        hired_on=staff.hired_on,
        left_on=staff.left_on,
    )


def list_staff_page(
    session: Session,
    actor: Actor,
    *,
    unit: str | None,
    role: str | None,
    status: StaffStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[StaffOut]:
    """A page of readable staff, filtered by unit code (its subtree), role code and status."""
    unit_path = _readable_unit_path(session, actor, unit)
    rows = repo.list_staff(
        session,
        actor,
        unit_path=unit_path,
        role=role,
        status=status,
        after_id=after_id(cursor),
        limit=limit + 1,
    )
    items, next_cursor = split_page(rows, limit, lambda s: [s.id])
    ids = [s.id for s in items]
    roles = repo.roles_of(session, ids)
    units = repo.unit_briefs(session, [s.unit_id for s in items])
    return Page[StaffOut](items=[_staff_out(s, roles, units) for s in items], next_cursor=next_cursor)


def staff_detail(session: Session, actor: Actor, staff_id: int, *, reveal: bool) -> StaffDetail:
    """A readable staff member with roles; a revealed phone is audited."""
    show = may_reveal(actor, reveal)
    staff = repo.get_staff(session, actor, staff_id)
    if staff is None:
        raise NotFound(f"staff {staff_id} does not exist")
    base = _staff_out(staff, repo.roles_of(session, [staff.id]), repo.unit_briefs(session, [staff.unit_id]))
    if show and staff.phone:
        audit(session, actor, "staff.phone.reveal", "staff", staff.id)
    return StaffDetail(
        **base.model_dump(),
        wecom_userid=staff.wecom_userid,
        phone=show_phone(staff.phone, show),
        created_at=staff.created_at,
    )
