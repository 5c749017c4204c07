"""Console sign-in: password check, lock-out after repeated failures, no hint whether a username exists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.models import Account, LoginThrottle
from siyu.org.passwords import hash_password, verify_password
from siyu.org.permissions import Actor, DataScope, PermissionRole

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
USERNAME_MAX = 64
# Throttle rows of unknown usernames are dropped once they have been quiet this long.
THROTTLE_RETENTION = timedelta(days=1)
# Checked against when the username is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = hash_password("siyu-timing-equaliser")


class LoginOutcome(StrEnum):
    """Why a sign-in succeeded or failed."""

    ok = "ok"
    bad_credentials = "bad_credentials"
    locked = "locked"
    disabled = "disabled"


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a sign-in attempt; account is set only when outcome is ok."""

    outcome: LoginOutcome
    account: Account | None = None
    locked_until: datetime | None = None


def _visitor(username: str, account_id: int | None) -> Actor:
    # Sign-in events have no acting account yet; the least-privileged shape keeps the audit helper's type.
    return Actor(account_id=account_id, username=username, role=PermissionRole.guide, scope=DataScope.self_)


def authenticate(
    session: Session, username: str, password: str, *, now: datetime | None = None
) -> LoginResult:
    """Check a username and password, counting failures and locking after MAX_FAILURES."""
    now = now or utcnow()
    username = username.strip()[:USERNAME_MAX]
    account = session.scalar(select(Account).where(Account.username == username)) if username else None
    if account is None:
        verify_password(_DUMMY_HASH, password)
        return _fail_unknown(session, username, now)
    if account.locked_until is not None and account.locked_until > now:
        verify_password(_DUMMY_HASH, password)  # a locked name must cost what an unknown one does
        return LoginResult(LoginOutcome.locked, locked_until=account.locked_until)
    if not account.password_hash or not verify_password(account.password_hash, password):
        return _fail_account(session, account, now)
    if not account.active:
        # Only someone who knows the password learns the account is disabled.
        audit(session, _visitor(username, account.id), "auth.login_refused", "account", account.id)
        return LoginResult(LoginOutcome.disabled)
    account.failed_logins = 0
    account.locked_until = None
    audit(session, _visitor(username, account.id), "auth.login", "account", account.id)
    session.flush()
    return LoginResult(LoginOutcome.ok, account=account)


def _fail_account(session: Session, account: Account, now: datetime) -> LoginResult:
    # An atomic increment, so concurrent guesses cannot slip past the limit through lost updates.
    session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(failed_logins=Account.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(account, ["failed_logins"])
    detail: dict[str, object] = {"failures": account.failed_logins}
    if account.failed_logins >= MAX_FAILURES:
        account.failed_logins = 0
        account.locked_until = now + LOCK_DURATION
        detail["locked_until"] = account.locked_until.isoformat()
    audit(session, _visitor(account.username, account.id), "auth.login_failed", "account", account.id, detail)
    session.flush()
    if account.locked_until is not None and account.locked_until > now:
        return LoginResult(LoginOutcome.locked, locked_until=account.locked_until)
    return LoginResult(LoginOutcome.bad_credentials)


def _fail_unknown(session: Session, username: str, now: datetime) -> LoginResult:
    # Unknown usernames lock out exactly like real ones, so the lock message reveals nothing either.
    throttle = session.get(LoginThrottle, username, with_for_update=True) if username else None
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        return LoginResult(LoginOutcome.locked, locked_until=throttle.locked_until)
    audit(session, _visitor(username, None), "auth.login_failed", "account", None, {"username": username})
    if not username:
        return LoginResult(LoginOutcome.bad_credentials)
    session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < now - THROTTLE_RETENTION))
    if throttle is None:
        _insert_throttle(session, username, now)
        throttle = session.get(LoginThrottle, username, with_for_update=True, populate_existing=True)
    assert throttle is not None
    throttle.failed_logins += 1
    throttle.updated_at = now
    if throttle.failed_logins >= MAX_FAILURES:
        throttle.failed_logins = 0
        throttle.locked_until = now + LOCK_DURATION
        session.flush()
        return LoginResult(LoginOutcome.locked, locked_until=throttle.locked_until)
    session.flush()
    return LoginResult(LoginOutcome.bad_credentials)


def _insert_throttle(session: Session, username: str, now: datetime) -> None:
    values = {"username": username, "failed_logins": 0, "locked_until": None, "updated_at": now}
    # Two concurrent first failures for one name must not collide on the primary key.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(postgresql.insert(LoginThrottle).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite.insert(LoginThrottle).values(values).on_conflict_do_nothing())
