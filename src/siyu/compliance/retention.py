"""Chat retention: blank the text of messages (and incidents' matched text) older than the window, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.config import get_settings
from siyu.db.types import utcnow
from siyu.models import ChatMessage
from siyu.models.compliance import SensitiveIncident
from siyu.org.permissions import SYSTEM_ACTOR, Actor

MESSAGES = cast(Table, ChatMessage.__table__)
INCIDENTS = cast(Table, SensitiveIncident.__table__)


@dataclass(frozen=True, slots=True)
class PurgeOutcome:
    """What a purge blanked (or would blank, on a dry run)."""

    cutoff: datetime | None  # None: retention is off (keep forever)
    messages: int
    incidents: int
    dry_run: bool


def purge(
    session: Session,
    actor: Actor = SYSTEM_ACTOR,
    *,
    days: int | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeOutcome:
    """Blank text and payload of messages sent before now − days and the matched text of their incidents.

    Rows stay (metrics count them; purged_at marks them); 0 days keeps everything. No commit.
    """
    keep = get_settings().chat_retention_days if days is None else days
    if keep <= 0:
        return PurgeOutcome(None, 0, 0, dry_run)
    moment = now or utcnow()
    cutoff = moment - timedelta(days=keep)
    old_messages = (MESSAGES.c.sent_at < cutoff) & MESSAGES.c.purged_at.is_(None)
    old_incidents = (INCIDENTS.c.occurred_at < cutoff) & INCIDENTS.c.matched.is_not(None)
    if dry_run:
        messages = session.scalar(select(func.count()).select_from(MESSAGES).where(old_messages)) or 0
        incidents = session.scalar(select(func.count()).select_from(INCIDENTS).where(old_incidents)) or 0
        return PurgeOutcome(cutoff, messages, incidents, True)
    blanked = session.execute(
        update(MESSAGES).where(old_messages).values(text=None, payload=None, purged_at=moment),
        execution_options={"synchronize_session": False},
    )
    messages = int(blanked.rowcount or 0)  # type: ignore[attr-defined]
    cleared = session.execute(
        update(INCIDENTS).where(old_incidents).values(matched=None),
        execution_options={"synchronize_session": False},
    )
    incidents = int(cleared.rowcount or 0)  # type: ignore[attr-defined]
    audit(
        session,
        actor,
        "compliance.purge",
        "chat_messages",
        None,
        {"cutoff": cutoff.isoformat(), "days": keep, "messages": messages, "incidents": incidents},
    )
    return PurgeOutcome(cutoff, messages, incidents, False)


def purge_job(session: Session) -> PurgeOutcome:
    """Worker job: the daily purge with the configured window (the runner commits)."""
    return purge(session)
