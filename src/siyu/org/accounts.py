"""Account management shared by the CLI, the API and the demo builder."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Conflict, Invalid, NotFound
from siyu.models import Account, OrgUnit, Staff
from siyu.org.passwords import hash_password
from siyu.org.permissions import DataScope, PermissionRole


def create_account(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    scope: str,
    unit_code: str | None = None,
    staff_code: str | None = None,
    display_name: str | None = None,
) -> Account:
    """Create a login account; scopes unit/subtree need a unit, scope self needs a staff member."""
    try:
        permission_role = PermissionRole(role)
    except ValueError:
        allowed = ", ".join(r.value for r in PermissionRole)
        raise Invalid(f"role {role!r} is not one of: {allowed}") from None
    try:
        data_scope = DataScope(scope)
    except ValueError:
        allowed = ", ".join(s.value for s in DataScope)
        raise Invalid(f"scope {scope!r} is not one of: {allowed}") from None
    if len(password) < 8:
        raise Invalid("password must have at least 8 characters")
    if session.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise Conflict(f"account {username!r} already exists")
    unit_id = None
    if unit_code is not None:
        unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == unit_code))
        if unit_id is None:
            raise NotFound(f"org unit {unit_code!r} does not exist")
    staff = None
    if staff_code is not None:
        staff = session.scalar(select(Staff).where(Staff.code == staff_code))
        if staff is None:
            raise NotFound(f"staff {staff_code!r} does not exist")
        if unit_id is None:
            unit_id = staff.unit_id
    if data_scope in (DataScope.unit, DataScope.subtree) and unit_id is None:
        raise Invalid(f"scope {data_scope.value!r} needs --unit (or --staff)")
    if data_scope is DataScope.self_ and staff is None:
        raise Invalid("scope 'self' needs --staff: whose customers are 'own'?")
    account = Account(
        username=username,
        display_name=display_name or (staff.name if staff else username),
        password_hash=hash_password(password),
        staff_id=staff.id if staff else None,
        permission_role=permission_role.value,
        data_scope=data_scope.value,
        scope_unit_id=unit_id,
        locale="zh",
        active=True,
        failed_logins=0,
    )
    session.add(account)
    session.flush()
    return account
