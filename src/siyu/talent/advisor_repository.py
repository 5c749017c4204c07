"""What the advisor reads from Siyu's own data: stores, guides, member share and headcount per role (scoped, set-based)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from siyu.customers.repository import readable
from siyu.models import (
    Account,
    Channel,
    ChannelMembership,
    Customer,
    OrgUnit,
    OrgUnitKind,
    Staff,
    StaffRole,
    StaffStatus,
)
from siyu.models.talent import AdvisorRun
from siyu.org.permissions import Actor
from siyu.org.repository import readable_staff, readable_units


def store_count(session: Session, actor: Actor) -> int:
    """Active org units of kind store in the actor's scope."""
    query = select(func.count(OrgUnit.id)).where(
        OrgUnit.kind == OrgUnitKind.store, OrgUnit.active.is_(True), readable_units(actor)
    )
    return int(session.scalar(query) or 0)


def headcount_by_role(session: Session, actor: Actor) -> dict[str, int]:
    """Active staff per role code in the actor's scope (one grouped query; a person with two roles counts in both)."""
    rows = session.execute(
        select(StaffRole.role_code, func.count(func.distinct(Staff.id)))
        .join(Staff, Staff.id == StaffRole.staff_id)
        .where(Staff.status == StaffStatus.active, readable_staff(actor))
        .group_by(StaffRole.role_code)
    )
    return {str(code): int(n) for code, n in rows}


def member_counts(session: Session, actor: Actor, now: datetime) -> tuple[int, int]:
    """(customers with a member-channel membership present at now, customers), readable and not merged away."""
    present_members = select(ChannelMembership.customer_id).where(
        ChannelMembership.channel == Channel.member,
        ChannelMembership.joined_at <= now,
        or_(ChannelMembership.left_at.is_(None), ChannelMembership.left_at > now),
    )
    base = [Customer.merged_into_id.is_(None), readable(actor)]
    customers = session.scalar(select(func.count(Customer.id)).where(*base)) or 0
    members = (
        session.scalar(select(func.count(Customer.id)).where(*base, Customer.id.in_(present_members))) or 0
    )
    return int(members), int(customers)


def add_run(
    session: Session,
    answers: dict[str, object],
    result: dict[str, object],
    note: str | None,
    account_id: int | None,
) -> AdvisorRun:
    """Insert one run and flush (the caller owns the transaction)."""
    run = AdvisorRun(answers=answers, result=result, note=note, created_by_account_id=account_id)
    session.add(run)
    session.flush()
    return run


def recent_runs(session: Session, limit: int) -> Sequence[tuple[AdvisorRun, str | None]]:
    """The newest runs with the username who ran each (one outer join)."""
    rows = session.execute(
        select(AdvisorRun, Account.username)
        .outerjoin(Account, Account.id == AdvisorRun.created_by_account_id)
        .order_by(AdvisorRun.id.desc())
        .limit(limit)
    )
    return [(run, username) for run, username in rows]


def get_run(session: Session, run_id: int) -> tuple[AdvisorRun, str | None] | None:
    """One run and who ran it."""
    row = session.execute(
        select(AdvisorRun, Account.username)
        .outerjoin(Account, Account.id == AdvisorRun.created_by_account_id)
        .where(AdvisorRun.id == run_id)
    ).first()
    return None if row is None else (row[0], row[1])
