"""The facts gap analysis reads: a handful of grouped queries, each restricted to the actor's data scope."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from siyu.customers.repository import readable
from siyu.models import (
    Customer,
    LifecycleStage,
    OrgUnit,
    OrgUnitKind,
    Staff,
    StaffRole,
    StaffStatus,
    StaffTask,
    TaskStatus,
)
from siyu.models.talent import AdvisorRun
from siyu.org.permissions import Actor
from siyu.org.repository import readable_staff, readable_units
from siyu.talent.gaps import StaffFact, StoreFact


def active_staff(session: Session, actor: Actor) -> list[StaffFact]:
    """Active staff in scope with their role codes (one outer join)."""
    rows = session.execute(
        select(Staff.id, Staff.code, Staff.name, Staff.unit_id, StaffRole.role_code)
        .outerjoin(StaffRole, StaffRole.staff_id == Staff.id)
        .where(Staff.status == StaffStatus.active, readable_staff(actor))
        .order_by(Staff.id, StaffRole.role_code)
    )
    found: dict[int, tuple[str, str, int, list[str]]] = {}
    for staff_id, code, name, unit_id, role in rows:
        entry = found.setdefault(staff_id, (code, name, unit_id, []))
        if role is not None:
            entry[3].append(role)
    return [StaffFact(i, c, n, u, tuple(r)) for i, (c, n, u, r) in found.items()]


def _served() -> list[Any]:
    # A guide serves the customers they own that are still one person (not merged away) and not lost.
    return [Customer.merged_into_id.is_(None), Customer.lifecycle_stage != LifecycleStage.lost]


def customers_by_owner(session: Session, actor: Actor) -> dict[int, int]:
    """Served customers per active owner in scope (one grouped query)."""
    owners = select(Staff.id).where(Staff.status == StaffStatus.active, readable_staff(actor))
    rows = session.execute(
        select(Customer.owner_staff_id, func.count())
        .where(*_served(), readable(actor), Customer.owner_staff_id.in_(owners))
        .group_by(Customer.owner_staff_id)
    )
    return {int(owner): int(n) for owner, n in rows if owner is not None}


def stores(session: Session, actor: Actor) -> list[StoreFact]:
    """Active stores in scope with their served customers per owner (two queries)."""
    units = session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name)
        .where(OrgUnit.kind == OrgUnitKind.store, OrgUnit.active.is_(True), readable_units(actor))
        .order_by(OrgUnit.code)
    ).all()
    per_owner: dict[int, dict[int | None, int]] = defaultdict(dict)
    if units:
        rows = session.execute(
            select(Customer.home_store_id, Customer.owner_staff_id, func.count())
            .where(*_served(), readable(actor), Customer.home_store_id.in_([u.id for u in units]))
            .group_by(Customer.home_store_id, Customer.owner_staff_id)
        )
        for store_id, owner, n in rows:
            if store_id is None:
                continue
            per_owner[int(store_id)][None if owner is None else int(owner)] = int(n)
    return [StoreFact(u.id, u.code, u.name, dict(per_owner.get(u.id, {}))) for u in units]


def open_tasks(session: Session, actor: Actor, now: datetime) -> dict[int, tuple[int, int]]:
    """(open, overdue) tasks per active staff member in scope (one grouped query)."""
    people = select(Staff.id).where(Staff.status == StaffStatus.active, readable_staff(actor))
    overdue = func.sum(case((StaffTask.due_at < now, 1), else_=0))
    rows = session.execute(
        select(StaffTask.staff_id, func.count(), overdue)
        .where(StaffTask.status == TaskStatus.open, StaffTask.staff_id.in_(people))
        .group_by(StaffTask.staff_id)
    )
    return {int(staff_id): (int(n), int(late or 0)) for staff_id, n, late in rows}


def latest_starting_team(session: Session) -> tuple[int | None, list[tuple[str, int]] | None]:
    """(run id, [(role_code, headcount)]) of the latest advisor run, (None, None) when there is none."""
    row = session.execute(
        select(AdvisorRun.id, AdvisorRun.result).order_by(AdvisorRun.id.desc()).limit(1)
    ).first()
    if row is None:
        return None, None
    slots = (row.result or {}).get("starting_team") or []
    team = [
        (str(s["role_code"]), int(s["headcount"]))
        for s in slots
        if isinstance(s, dict) and "role_code" in s and "headcount" in s
    ]
    return row.id, team
