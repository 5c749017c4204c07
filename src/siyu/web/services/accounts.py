"""Account administration behind the console's admin page; every write is audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.errors import Conflict, Invalid, NotFound
from siyu.models import Account, OrgUnit, Staff
from siyu.org.accounts import create_account
from siyu.org.passwords import hash_password
from siyu.org.permissions import Actor, DataScope, PermissionRole
from siyu.web.i18n import LOCALES, N_
from siyu.web.services.sessions import end_account_sessions

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$")
PASSWORD_MIN = 8
PASSWORD_MAX = 256


@dataclass(frozen=True)
class AccountRow:
    """One line of the account list."""

    id: int
    username: str
    display_name: str
    role: str
    scope: str
    unit_name: str | None
    unit_code: str | None
    staff_name: str | None
    staff_code: str | None
    active: bool
    locked_until: datetime | None
    failed_logins: int

    @property
    def locked(self) -> bool:
        """Whether sign-in is locked right now."""
        return self.locked_until is not None and self.locked_until > utcnow()


@dataclass
class NewAccountForm:
    """The fields of the create-account form, as typed."""

    username: str = ""
    display_name: str = ""
    password: str = ""
    role: str = PermissionRole.guide.value
    scope: str = DataScope.self_.value
    unit_code: str = ""
    staff_code: str = ""


def list_accounts(session: Session, *, account_id: int | None = None) -> list[AccountRow]:
    """Every account (or just account_id) with its scope unit and staff member, in username order."""
    unit = aliased(OrgUnit)
    statement = (
        select(Account, unit.name, unit.code, Staff.name, Staff.code)
        .outerjoin(unit, unit.id == Account.scope_unit_id)
        .outerjoin(Staff, Staff.id == Account.staff_id)
        .order_by(Account.username)
    )
    if account_id is not None:
        statement = statement.where(Account.id == account_id)
    return [
        AccountRow(
            id=account.id,
            username=account.username,
            display_name=account.display_name,
            role=account.permission_role,
            scope=account.data_scope,
            unit_name=unit_name,
            unit_code=unit_code,
            staff_name=staff_name,
            staff_code=staff_code,
            active=account.active,
            locked_until=account.locked_until,
            failed_logins=account.failed_logins,
        )
        for account, unit_name, unit_code, staff_name, staff_code in session.execute(statement)
    ]


def get_account_row(session: Session, account_id: int) -> AccountRow:
    """One account's list line, or NotFound."""
    rows = list_accounts(session, account_id=account_id)
    if not rows:
        raise NotFound(N_("That account does not exist."))
    return rows[0]


def unit_choices(session: Session, limit: int = 2000) -> list[tuple[str, str]]:
    """(code, name) of active org units for the scope-unit picker."""
    rows = session.execute(
        select(OrgUnit.code, OrgUnit.name).where(OrgUnit.active.is_(True)).order_by(OrgUnit.path).limit(limit)
    )
    return [(code, name) for code, name in rows]


def validate_new_account(session: Session, form: NewAccountForm) -> dict[str, str]:
    """Field errors (English msgids, translated by the page) for a create-account form; empty when valid."""
    errors: dict[str, str] = {}
    if not USERNAME_PATTERN.match(form.username):
        errors["username"] = N_("3–64 characters: letters, digits, dot, dash, underscore or @.")
    elif session.scalar(select(Account.id).where(Account.username == form.username)) is not None:
        errors["username"] = N_("This username is taken.")
    if len(form.display_name) > 100:
        errors["display_name"] = N_("At most 100 characters.")
    errors.update(password_errors(form.password))
    errors.update(access_errors(session, form))
    return errors


@dataclass
class AccessForm:
    """The fields of the edit-access form: permission role, data scope, scope unit and staff member."""

    role: str = ""
    scope: str = ""
    unit_code: str = ""
    staff_code: str = ""

    @classmethod
    def of(cls, row: AccountRow) -> AccessForm:
        """The form filled with an account's current values."""
        return cls(row.role, row.scope, row.unit_code or "", row.staff_code or "")


def access_errors(session: Session, form: NewAccountForm | AccessForm) -> dict[str, str]:
    """Field errors of the role, scope, unit and staff fields (English msgids); empty when valid."""
    errors: dict[str, str] = {}
    if form.role not in {r.value for r in PermissionRole}:
        errors["role"] = N_("Choose a role.")
    if form.scope not in {s.value for s in DataScope}:
        errors["scope"] = N_("Choose a data scope.")
    unit_known = bool(form.unit_code) and (
        session.scalar(select(OrgUnit.id).where(OrgUnit.code == form.unit_code)) is not None
    )
    staff_known = bool(form.staff_code) and (
        session.scalar(select(Staff.id).where(Staff.code == form.staff_code)) is not None
    )
    if form.unit_code and not unit_known:
        errors["unit_code"] = N_("No org unit has this code.")
    if form.staff_code and not staff_known:
        errors["staff_code"] = N_("No staff member has this code.")
    if form.scope in (DataScope.unit, DataScope.subtree) and not (form.unit_code or form.staff_code):
        errors.setdefault("unit_code", N_("This scope needs an org unit (or a staff member)."))
    if form.scope == DataScope.self_ and not form.staff_code:
        errors.setdefault("staff_code", N_("Scope 'own customers' needs the staff member they belong to."))
    return errors


def password_errors(password: str) -> dict[str, str]:
    """The password field's error, if any."""
    if len(password) < PASSWORD_MIN:
        return {"password": N_("At least 8 characters.")}
    if len(password) > PASSWORD_MAX:
        return {"password": N_("At most 256 characters.")}
    return {}


def create(session: Session, actor: Actor, form: NewAccountForm) -> Account:
    """Create an account from a validated form (the org rules check again) and audit it."""
    account = create_account(
        session,
        username=form.username,
        password=form.password,
        role=form.role,
        scope=form.scope,
        unit_code=form.unit_code or None,
        staff_code=form.staff_code or None,
        display_name=form.display_name or None,
    )
    audit(
        session,
        actor,
        "account.create",
        "account",
        account.id,
        {"username": account.username, "role": account.permission_role, "scope": account.data_scope},
    )
    return account


def _account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(N_("That account does not exist."))
    return account


def set_active(session: Session, actor: Actor, account_id: int, active: bool) -> Account:
    """Enable or disable an account; disabling signs it out everywhere."""
    account = _account(session, account_id)
    if not active and account.id == actor.account_id:
        raise Conflict(N_("You cannot disable your own account."))
    if account.active == active:
        return account
    account.active = active
    if not active:
        end_account_sessions(session, account.id)
    audit(session, actor, "account.enable" if active else "account.disable", "account", account.id)
    session.flush()
    return account


def update_access(session: Session, actor: Actor, account_id: int, form: AccessForm) -> Account:
    """Change an account's role, data scope, scope unit and staff member; audited with before and after."""
    errors = access_errors(session, form)
    if errors:
        field, message = next(iter(errors.items()))
        raise Invalid(f"account {account_id}: {field}: {message}", details=errors)
    account = _account(session, account_id)
    if account.id == actor.account_id and form.role != PermissionRole.admin:
        raise Conflict(N_("You cannot take the administrator role from your own account."))
    staff = session.scalar(select(Staff).where(Staff.code == form.staff_code)) if form.staff_code else None
    unit_id = (
        session.scalar(select(OrgUnit.id).where(OrgUnit.code == form.unit_code)) if form.unit_code else None
    )
    if unit_id is None and staff is not None:
        unit_id = staff.unit_id  # as at creation: a staff member's store stands in for a missing unit
    fields = ("permission_role", "data_scope", "scope_unit_id", "staff_id")
    before = {name: getattr(account, name) for name in fields}
    account.permission_role = form.role
    account.data_scope = form.scope
    account.scope_unit_id = unit_id
    account.staff_id = staff.id if staff else None
    after = {name: getattr(account, name) for name in fields}
    if after != before:
        # The viewer is rebuilt from the account on every request, so the change applies at once.
        audit(session, actor, "account.update", "account", account.id, {"from": before, "to": after})
        session.flush()
    return account


def unlock(session: Session, actor: Actor, account_id: int) -> Account:
    """Clear the failure counter and any lock."""
    account = _account(session, account_id)
    account.failed_logins = 0
    account.locked_until = None
    audit(session, actor, "account.unlock", "account", account.id)
    session.flush()
    return account


def reset_password(
    session: Session, actor: Actor, account_id: int, password: str, *, keep_session: str | None = None
) -> Account:
    """Set a new password, unlock, and end the account's other sessions."""
    errors = password_errors(password)
    if errors:
        raise Invalid(errors["password"], details=errors)
    account = _account(session, account_id)
    account.password_hash = hash_password(password)
    account.failed_logins = 0
    account.locked_until = None
    ended = end_account_sessions(session, account.id, keep=keep_session)
    audit(session, actor, "account.password_reset", "account", account.id, {"sessions_ended": ended})
    session.flush()
    return account


def set_locale(session: Session, actor: Actor, account_id: int, locale: str) -> None:
    """Remember the console language an account chose."""
    if locale not in LOCALES:
        raise Invalid(N_("Unsupported language."))
    account = _account(session, account_id)
    if account.locale != locale:
        previous = account.locale
        account.locale = locale
        audit(session, actor, "account.locale", "account", account.id, {"from": previous, "to": locale})
        session.flush()
