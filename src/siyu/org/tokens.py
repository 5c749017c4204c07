"""API tokens: random secrets stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.errors import NotFound, Unauthorized
from siyu.models import Account, ApiToken, OrgUnit
from siyu.org.permissions import Actor, DataScope, PermissionRole

TOKEN_PREFIX = "siyu_"


def hash_token(token: str) -> str:
    """SHA-256 of the token; tokens are 256-bit random so a plain hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, username: str, name: str) -> str:
    """Create a token for the account username and return its clear value (shown once)."""
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise NotFound(f"account {username!r} does not exist")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=account.id, name=name, prefix=clear[:12], token_hash=hash_token(clear)))
    session.flush()
    return clear


def actor_for_account(session: Session, account: Account) -> Actor:
    """Build the Actor for an account, resolving its scope unit's path."""
    path = None
    if account.scope_unit_id is not None:
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == account.scope_unit_id))
    return Actor(
        account_id=account.id,
        username=account.username,
        role=PermissionRole(account.permission_role),
        scope=DataScope(account.data_scope),
        staff_id=account.staff_id,
        scope_unit_id=account.scope_unit_id,
        scope_unit_path=path,
    )


def authenticate_token(session: Session, token: str) -> Actor:
    """Resolve a bearer token to its Actor, or raise Unauthorized."""
    row = session.execute(
        select(ApiToken, Account)
        .join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None:
        raise Unauthorized("unknown API token")
    api_token, account = row
    if api_token.revoked_at is not None:
        raise Unauthorized("API token has been revoked")
    if not account.active:
        raise Unauthorized(f"account {account.username!r} is disabled")
    api_token.last_used_at = utcnow()
    return actor_for_account(session, account)
