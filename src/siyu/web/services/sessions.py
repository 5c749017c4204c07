"""Server-side console sessions: issued at sign-in, touched while used, deleted at sign-out."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.models import Account, WebSession

IDLE_TIMEOUT = timedelta(hours=12)
ABSOLUTE_TIMEOUT = timedelta(days=7)
# last_seen_at is written at most this often, so browsing does not write on every request.
TOUCH_INTERVAL = timedelta(minutes=5)
USER_AGENT_MAX = 255


def session_id(token: str) -> str:
    """The stored id of a cookie value: its SHA-256 (the token is 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ActiveSession:
    """A valid session and its account."""

    id: str
    csrf_token: str
    account: Account


def start_session(session: Session, account: Account, *, user_agent: str | None = None) -> str:
    """Issue a brand-new session for account and return the cookie value (never reuses an old id)."""
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=session_id(token),
            account_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + IDLE_TIMEOUT,
            user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
        )
    )
    session.flush()
    return token


def load_session(session: Session, token: str, *, now: datetime | None = None) -> ActiveSession | None:
    """The live session behind a cookie value, touched; None (and the row gone) when expired or disabled."""
    if not token:
        return None
    now = now or utcnow()
    row = session.execute(
        select(WebSession, Account)
        .join(Account, Account.id == WebSession.account_id)
        .where(WebSession.id == session_id(token))
    ).first()
    if row is None:
        return None
    web_session, account = row
    if (
        web_session.expires_at <= now
        or web_session.created_at + ABSOLUTE_TIMEOUT <= now
        or not account.active
    ):
        session.delete(web_session)
        session.flush()
        return None
    if now - web_session.last_seen_at >= TOUCH_INTERVAL:
        web_session.last_seen_at = now
        web_session.expires_at = now + IDLE_TIMEOUT
        session.flush()
    return ActiveSession(id=web_session.id, csrf_token=web_session.csrf_token, account=account)


def csrf_token_of(session: Session, token: str) -> str | None:
    """The CSRF token of the unexpired session behind a cookie value (no touch; used by the CSRF check)."""
    if not token:
        return None
    return session.scalar(
        select(WebSession.csrf_token).where(
            WebSession.id == session_id(token), WebSession.expires_at > utcnow()
        )
    )


def end_session(session: Session, token: str) -> int | None:
    """Delete the session behind a cookie value; returns its account id (None when there was none)."""
    if not token:
        return None
    web_session = session.get(WebSession, session_id(token))
    if web_session is None:
        return None
    account_id = web_session.account_id
    session.delete(web_session)
    session.flush()
    return account_id


def end_account_sessions(session: Session, account_id: int, *, keep: str | None = None) -> int:
    """Sign an account out everywhere (except the session id keep); returns how many ended."""
    statement = delete(WebSession).where(WebSession.account_id == account_id)
    if keep is not None:
        statement = statement.where(WebSession.id != keep)
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
