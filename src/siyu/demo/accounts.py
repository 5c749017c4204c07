"""The demo's login accounts: one per permission role, with fixed passwords printed for the newcomer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models import Account, OrgUnit, Staff
from siyu.org.accounts import create_account


@dataclass(frozen=True)
class DemoAccount:
    """A demo login as printed in the accounts table."""

    username: str
    password: str
    role: str
    scope: str
    unit: str | None
    staff: str | None
    note: str = ""


# (username, role, scope, how to find the unit/staff: role code of the staff member, unit code)
SPECS: tuple[tuple[str, str, str, str | None, str | None], ...] = (
    ("admin", "admin", "all", None, None),
    ("lead", "private_domain_lead", "all", "private_domain_lead", None),
    ("region", "manager", "subtree", "region_manager", "region-east"),
    ("store", "manager", "unit", "store_manager", "store-sh-01"),
    ("guide", "guide", "self", "guide", "store-sh-01"),
    ("operator", "operator", "all", "user_ops", None),
    ("analyst", "analyst", "all", "data_analyst", None),
)
USERNAMES = tuple(s[0] for s in SPECS)


def password_of(username: str) -> str:
    """The fixed demo password of a demo username."""
    return f"{username}-demo-2026"


def _staff_for(session: Session, role: str, unit_code: str | None) -> Staff | None:
    """The first active staff member holding role (inside unit_code when given)."""
    from siyu.models import StaffRole

    query = (
        select(Staff)
        .join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(StaffRole.role_code == role, Staff.status == "active")
        .order_by(Staff.id)
    )
    if unit_code is not None:
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
        if unit is None:
            return None
        # A region manager sits on the region itself; guides and store managers sit on the store.
        query = query.join(OrgUnit, OrgUnit.id == Staff.unit_id).where(OrgUnit.path.startswith(unit.path))
    return session.scalar(query.limit(1))


def create_demo_accounts(session: Session) -> list[DemoAccount]:
    """Create the demo accounts that do not exist yet (existing usernames are kept as they are)."""
    out: list[DemoAccount] = []
    for username, role, scope, staff_role, unit_code in SPECS:
        existing = session.scalar(select(Account).where(Account.username == username))
        if existing is not None:
            out.append(_describe(session, existing, note="existing account kept"))
            continue
        staff = _staff_for(session, staff_role, unit_code) if staff_role else None
        account = create_account(
            session,
            username=username,
            password=password_of(username),
            role=role,
            scope=scope,
            unit_code=unit_code if scope in ("unit", "subtree") else None,
            staff_code=staff.code if staff is not None else None,
        )
        out.append(_describe(session, account))
    return out


def demo_accounts(session: Session) -> list[DemoAccount]:
    """The demo accounts present in the database, for printing."""
    accounts = session.scalars(select(Account).where(Account.username.in_(USERNAMES))).all()
    by_name = {a.username: a for a in accounts}
    return [_describe(session, by_name[u]) for u in USERNAMES if u in by_name]


def _describe(session: Session, account: Account, note: str = "") -> DemoAccount:
    unit = (
        session.scalar(select(OrgUnit.code).where(OrgUnit.id == account.scope_unit_id))
        if account.scope_unit_id
        else None
    )
    staff = session.scalar(select(Staff).where(Staff.id == account.staff_id)) if account.staff_id else None
    return DemoAccount(
        username=account.username,
        password=password_of(account.username),
        role=account.permission_role,
        scope=account.data_scope,
        unit=unit if account.data_scope in ("unit", "subtree") else None,
        staff=f"{staff.name} ({staff.code})" if staff is not None else None,
        note=note,
    )
