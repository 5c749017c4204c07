"""The audit trail: who did what to whom, when (every API write and every reveal of personal data)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.models import AuditLog
from siyu.org.permissions import Actor


def _detail(actor: Actor, detail: dict[str, Any] | None) -> dict[str, Any]:
    # The username is kept beside account_id so the trail still reads after an account is renamed.
    return {"actor": actor.username, **(detail or {})}


def audit(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction."""
    audit_many(session, actor, action, target_type, [target_id], detail)


def audit_many(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str | None,
    target_ids: Iterable[int | None],
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one audit row per target in one statement; returns how many were written."""
    at = utcnow()
    body = _detail(actor, detail)
    rows = [
        {
            "account_id": actor.account_id,
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "detail": body,
            "at": at,
        }
        for target_id in target_ids
    ]
    if rows:
        session.execute(insert(AuditLog), rows)
    return len(rows)
