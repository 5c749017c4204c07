"""Org rules: building the unit tree and registering staff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Conflict, Invalid, NotFound
from siyu.models import OrgUnit, OrgUnitKind, Staff, StaffRole, StaffStatus


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
