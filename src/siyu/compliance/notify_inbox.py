"""Reading one's in-app notifications: the unread count of the bell, the list, marking read."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.errors import NotFound
from siyu.models.compliance import Notification

N = Notification


def unread_count(session: Session, account_id: int) -> int:
    """Unread notifications of an account (one indexed count on (account_id, read_at))."""
    query = select(func.count()).select_from(N).where(N.account_id == account_id, N.read_at.is_(None))
    return int(session.scalar(query) or 0)


def inbox(
    session: Session, account_id: int, *, unread_only: bool = False, limit: int = 100
) -> Sequence[Notification]:
    """The account's notifications, newest first."""
    query = select(N).where(N.account_id == account_id)
    if unread_only:
        query = query.where(N.read_at.is_(None))
    return session.scalars(query.order_by(N.created_at.desc(), N.id.desc()).limit(limit)).all()


def mark_read(session: Session, account_id: int, notification_id: int) -> Notification:
    """Mark one of the account's own notifications read (someone else's id is NotFound)."""
    found = session.scalar(select(N).where(N.id == notification_id, N.account_id == account_id))
    if found is None:
        raise NotFound(f"notification {notification_id}: no such notification for you")
    if found.read_at is None:
        found.read_at = utcnow()
        session.flush()
    return found


def mark_all_read(session: Session, account_id: int) -> int:
    """Mark every unread notification of the account read in one statement; returns how many."""
    result = session.execute(
        update(N).where(N.account_id == account_id, N.read_at.is_(None)).values(read_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
