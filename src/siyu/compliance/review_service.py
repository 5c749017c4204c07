"""Reviewing incidents: confirm / dismiss with a note, reopen by the lead; every change audited (the history)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.compliance.access import (
    REOPEN,
    REVIEW,
    RULES_EDIT,
    Segment,
    may_read_chat,
    readable_incidents,
    shown_segments,
)
from siyu.compliance.incidents_query import conversation, incident_messages
from siyu.compliance.rules_service import whitelist_from_incident
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models import Account, AuditLog, ChatMessage
from siyu.models.compliance import IncidentStatus, SensitiveIncident
from siyu.org.permissions import Actor
from siyu.privacy import may_reveal

REVIEW_ACTION = "compliance.incident.review"
TARGET = "sensitive_incident"
CHAT_VIEW = "chat.view"
CHAT_REVEAL = "chat.phone.reveal"
AROUND = 3
NOTE_MAX = 2000


@dataclass(frozen=True)
class HistoryEntry:
    """One status change of an incident, read back from the audit trail."""

    at: datetime
    actor: str
    from_status: str
    to_status: str
    note: str | None


def get_incident(session: Session, actor: Actor, incident_id: int) -> SensitiveIncident:
    """The incident if the actor's scope covers it; unknown and out-of-scope ids are both NotFound."""
    found = session.scalar(
        select(SensitiveIncident).where(SensitiveIncident.id == incident_id, readable_incidents(actor))
    )
    if found is None:
        raise NotFound(f"incident {incident_id}: no such incident in your scope")
    return found


def review(
    session: Session, actor: Actor, incident_id: int, status: IncidentStatus | str, note: str | None
) -> SensitiveIncident:
    """Move an incident open → confirmed / dismissed, or back to open (reopen, lead only); audited."""
    try:
        target = IncidentStatus(status)
    except ValueError:
        raise Invalid(f"status: {status!r} is not one of {', '.join(IncidentStatus)}") from None
    clean = (note or "").strip() or None
    if clean is not None and len(clean) > NOTE_MAX:
        raise Invalid(f"note: {len(clean)} characters, at most {NOTE_MAX}")
    if not REVIEW.allows(actor):
        raise Forbidden(f"role {actor.role.value!r} may not review compliance incidents")
    incident = get_incident(session, actor, incident_id)
    current = incident.status
    if target is IncidentStatus.open:
        if not REOPEN.allows(actor):
            raise Forbidden(f"role {actor.role.value!r} may not reopen incident {incident_id}")
        if current is IncidentStatus.open:
            raise Conflict(f"incident {incident_id} is already open")
    elif current is not IncidentStatus.open:
        raise Conflict(
            f"incident {incident_id} is {current.value}: reopen it before marking it {target.value}"
        )
    incident.status = target
    incident.reviewer_account_id = actor.account_id
    incident.reviewed_at = utcnow()
    incident.review_note = clean
    detail: dict[str, Any] = {"from": current.value, "to": target.value, "note": clean}
    audit(session, actor, REVIEW_ACTION, TARGET, incident.id, detail)
    session.flush()
    return incident


def history(session: Session, incident_id: int) -> list[HistoryEntry]:
    """The incident's status changes, oldest first (one query over the audit trail)."""
    rows = session.execute(
        select(AuditLog.at, AuditLog.detail, Account.username)
        .outerjoin(Account, Account.id == AuditLog.account_id)
        .where(
            AuditLog.action == REVIEW_ACTION,
            AuditLog.target_type == TARGET,
            AuditLog.target_id == incident_id,
        )
        .order_by(AuditLog.at, AuditLog.id)
    ).all()
    entries = []
    for at, detail, username in rows:
        body = detail or {}
        entries.append(
            HistoryEntry(
                at=at,
                actor=username or str(body.get("actor", "")),
                from_status=str(body.get("from", "")),
                to_status=str(body.get("to", "")),
                note=body.get("note"),
            )
        )
    return entries


def reviewer_names(session: Session, account_ids: set[int]) -> dict[int, str]:
    """Display names of reviewer accounts (one IN query)."""
    if not account_ids:
        return {}
    rows = session.execute(
        select(Account.id, Account.display_name, Account.username).where(Account.id.in_(account_ids))
    )
    return {i: display or username for i, display, username in rows}


@dataclass(frozen=True)
class ShownMessage:
    """A chat message as the reviewer sees it: who, when, the text in highlighted and masked pieces."""

    id: int
    msgid: str
    sent_at: datetime
    direction: str
    msg_type: str
    recalled: bool
    segments: list[Segment]
    own: bool  # part of the incident (else conversation context)


@dataclass(frozen=True)
class ChatView:
    """The incident's message(s) with some of the conversation before and after."""

    before: list[ShownMessage]
    messages: list[ShownMessage]
    after: list[ShownMessage]
    revealed: bool

    @property
    def all(self) -> list[ShownMessage]:
        """Context and incident messages in time order."""
        return [*self.before, *self.messages, *self.after]


def _shown(message: ChatMessage, segments: list[Segment], own: bool) -> ShownMessage:
    return ShownMessage(
        id=message.id,
        msgid=message.msgid,
        sent_at=message.sent_at,
        direction=message.direction.value,
        msg_type=message.msg_type,
        recalled=message.recalled_at is not None,
        segments=segments,
        own=own,
    )


def view_chat(
    session: Session, actor: Actor, incident: SensitiveIncident, *, reveal: bool = False, around: int = AROUND
) -> ChatView:
    """The incident's chat for a role that may read it; the whole view is one audit row (plus one per reveal)."""
    if not may_read_chat(actor):
        raise Forbidden(f"role {actor.role.value!r} may not read chat messages")
    revealed = may_reveal(actor, reveal)
    own = incident_messages(session, incident)
    before, after = conversation(session, own, around) if own else ([], [])
    hit = [(incident.span_start, incident.span_end, incident.detector, incident.category)]
    split = len(own) > 1
    shown = [
        _shown(
            m,
            shown_segments(
                m.text, hit if m.id == incident.message_id else [], reveal=revealed, split_number=split
            ),
            True,
        )
        for m in own
    ]
    context = [
        [_shown(m, shown_segments(m.text, [], reveal=revealed), False) for m in part]
        for part in (before, after)
    ]
    ids = [m.id for m in (*before, *own, *after)]
    if ids:
        target = incident.message_id if incident.message_id is not None else own[0].id
        detail = {"incident": incident.id, "messages": ids, "phones": "revealed" if revealed else "masked"}
        audit(session, actor, CHAT_VIEW, "chat_message", target, detail)
        if revealed:
            audit(session, actor, CHAT_REVEAL, "chat_message", target, {"incident": incident.id})
    return ChatView(context[0], shown, context[1], revealed)


# Keyword and pattern findings name a phrase a reviewer can excuse; model and behaviour findings do not.
WHITELISTABLE = frozenset(
    {"keyword", "phone", "phone_split", "wechat_id", "add_contact", "bank_card", "alipay", "payment_msg",
     "shop_link", "short_link", "link"}
)  # fmt: skip


def may_whitelist(actor: Actor, incident: SensitiveIncident) -> bool:
    """Whether the one-click whitelist applies: a dismissed keyword/pattern incident, an editor of the rules."""
    return (
        RULES_EDIT.allows(actor)
        and incident.status is IncidentStatus.dismissed
        and incident.detector in WHITELISTABLE
        and bool(incident.matched)
    )


def whitelist(session: Session, actor: Actor, incident_id: int) -> str:
    """Whitelist the matched phrase of a dismissed incident (the rules service writes and audits it)."""
    incident = get_incident(session, actor, incident_id)
    if not may_whitelist(actor, incident):
        if not RULES_EDIT.allows(actor):
            raise Forbidden(f"role {actor.role.value!r} may not change the compliance whitelist")
        raise Conflict(
            f"incident {incident_id}: only a dismissed keyword or pattern incident can be whitelisted"
        )
    return whitelist_from_incident(session, actor, incident_id).phrase
