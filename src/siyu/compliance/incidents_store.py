"""Stored messages → detectors → incidents (insert-or-ignore) → in-app notifications for high severity."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select, true, tuple_
from sqlalchemy.orm import Session, aliased

from siyu.compliance.contract import Detector, Finding, MessageIn
from siyu.db.bulk import insert_if_absent
from siyu.db.types import utcnow
from siyu.models import Account, ChatMessage, Customer, MessageDirection, OrgUnit, Staff
from siyu.models.compliance import Notification, SensitiveIncident, Severity
from siyu.org.permissions import PermissionRole

INCIDENTS = cast(Table, SensitiveIncident.__table__)
NOTIFICATIONS = cast(Table, Notification.__table__)
IN_CHUNK = 500
# Who is told at once about a high-severity incident in their scope.
NOTIFIED_ROLES = (
    PermissionRole.admin.value,
    PermissionRole.private_domain_lead.value,
    PermissionRole.manager.value,
)
_FROM_STAFF = (MessageDirection.staff_to_customer, MessageDirection.staff_to_group)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """What an incident needs of its message: the row id, the people and the time."""

    id: int
    staff_id: int | None
    customer_id: int | None
    group_id: int | None
    unit_id: int | None  # the staff member's unit, else the customer's home store
    sent_at: datetime


def get_engine(session: Session) -> Detector:
    """The composed detection engine (keyword rules, patterns, classifier) as configured in the database."""
    from siyu.compliance.engine import load_engine

    return load_engine(session)


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Tens of thousands of long-lived rows and findings: the cyclic GC would rescan them (it doubled the
    # time of a 60k-message pass) without ever finding garbage.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def insert_ignore(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id on both dialects; returns the ids really inserted."""
    return [row[0] for row in insert_if_absent(session, table, rows, ("id",))]


def load_messages(session: Session, ids: Sequence[int]) -> tuple[list[MessageIn], dict[str, StoredMessage]]:
    """The messages of ids as detectors see them (by conversation, then sent_at) and their stored facts."""
    # Core columns, not ORM attributes: skips the ORM row-loading layer on tens of thousands of rows.
    m = cast(Table, ChatMessage.__table__).c
    staff = cast(Table, Staff.__table__).c
    customers = cast(Table, Customer.__table__).c
    rows: list[Any] = []
    wanted = sorted(set(ids))
    if not wanted:
        return [], {}
    # Ingest and reruns hand over (nearly) contiguous ids: one range scan beats hundreds of IN-lists.
    dense = len(wanted) * 2 >= wanted[-1] - wanted[0] + 1
    keep = set(wanted)
    filters = (
        [(m.id >= wanted[0]) & (m.id <= wanted[-1])] if dense else [m.id.in_(c) for c in _chunks(wanted)]
    )
    columns = (m.id, m.msgid, m.sender, m.msg_type, m.text, m.sent_at, m.staff_id, m.customer_id, m.group_id)
    for where in filters:
        rows += session.execute(
            select(*columns, m.direction, m.payload, staff.unit_id, customers.home_store_id)
            .select_from(cast(Table, ChatMessage.__table__))
            .outerjoin(cast(Table, Staff.__table__), staff.id == m.staff_id)
            .outerjoin(cast(Table, Customer.__table__), customers.id == m.customer_id)
            .where(where)
        ).all()
    # Plain tuples from here: cheaper than named Row access, field by field, at tens of thousands of rows.
    plain = [tuple(r) for r in rows if r[0] in keep]
    # Per conversation in time order, so detectors looking across consecutive messages see them together.
    plain.sort(key=lambda r: (r[8] or 0, r[6] or 0, r[7] or 0, r[5], r[0]))
    batch: list[MessageIn] = []
    stored: dict[str, StoredMessage] = {}
    staff_says = {d.value for d in _FROM_STAFF}
    other = MessageDirection.other.value
    for (
        id_,
        msgid,
        sender,
        msg_type,
        text,
        sent_at,
        staff_id,
        customer_id,
        group_id,
        direction,
        payload,
        su,
        hs,
    ) in plain:
        from_staff = direction in staff_says or (direction == other and staff_id is not None)
        batch.append(
            MessageIn(
                msgid,
                sender,
                msg_type,
                text,
                sent_at,
                staff_id,
                customer_id,
                group_id,
                from_staff,
                payload,
            )
        )
        stored[msgid] = StoredMessage(id_, staff_id, customer_id, group_id, su or hs, sent_at)
    return batch, stored


@dataclass
class DetectOutcome:
    """What one detection pass did."""

    messages: int = 0
    findings: int = 0
    incidents: int = 0  # new incidents (re-detected ones are ignored)
    notified: int = 0


def detect_stored(session: Session, ids: Sequence[int], engine: Detector | None = None) -> DetectOutcome:
    """Run the engine over stored messages and write new incidents and notifications (no commit)."""
    with _gc_paused():
        batch, stored = load_messages(session, ids)
        out = DetectOutcome(messages=len(batch))
        if not batch:
            return out
        findings = (engine or get_engine(session)).detect(batch)
        out.findings = len(findings)
        new_ids = store_findings(session, findings, stored)
    out.incidents = len(new_ids)
    out.notified = notify_high(session, new_ids)
    return out


def _clip(text: str | None, size: int) -> str | None:
    return None if text is None else text[:size]


def store_findings(
    session: Session, findings: Sequence[Finding], messages: Mapping[str, StoredMessage]
) -> list[int]:
    """Write findings as open incidents, set-based; findings already stored are ignored. Returns new ids."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for f in findings:
        msg = messages.get(f.msgid)
        if msg is None:
            continue  # a finding about a message outside the batch: nothing to attach it to
        extra = [messages[x].id for x in f.extra_msgids if x in messages] or None
        rows.append(
            {
                "message_id": msg.id,
                "extra_message_ids": extra,
                "staff_id": msg.staff_id,
                "customer_id": msg.customer_id,
                "group_id": msg.group_id,
                "unit_id": msg.unit_id,
                "category": f.category.value,
                "detector": f.detector[:32],
                "rule_id": f.rule_id,
                "rule_key": (f.rule_key or (str(f.rule_id) if f.rule_id is not None else ""))[:64],
                "severity": f.severity.value,
                "span_start": f.start,
                "span_end": f.end,
                "matched": _clip(f.matched, 200),
                "score": f.score,
                "occurred_at": msg.sent_at,
                "status": "open",
                "created_at": now,
            }
        )
    return [int(i) for i in insert_ignore(session, INCIDENTS, rows)]


def store_unattached(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Write incidents that may have no message (behaviour); (detector, rule_key) is their identity."""
    now = utcnow()
    loose = [r for r in rows if r.get("message_id") is None]
    keys = sorted({(r["detector"], r["rule_key"]) for r in loose})
    seen: set[tuple[str, str]] = set()
    for chunk in _chunks(keys):
        seen.update(
            (d, k)
            for d, k in session.execute(
                select(INCIDENTS.c.detector, INCIDENTS.c.rule_key).where(
                    INCIDENTS.c.message_id.is_(None),
                    tuple_(INCIDENTS.c.detector, INCIDENTS.c.rule_key).in_(chunk),
                )
            )
        )
    fresh = [
        {"status": "open", "created_at": now, "extra_message_ids": None, **r}
        for r in rows
        if r.get("message_id") is not None or (r["detector"], r["rule_key"]) not in seen
    ]
    return [int(i) for i in insert_ignore(session, INCIDENTS, fresh)]


def notify_high(session: Session, incident_ids: Sequence[int]) -> int:
    """Notify every manager whose scope holds a new high-severity incident's unit (dedupe: incident:<id>)."""
    if not incident_ids:
        return 0
    i, a = SensitiveIncident, Account
    unit = aliased(OrgUnit)
    scope_unit = aliased(OrgUnit)
    holds = or_(
        a.data_scope == "all",
        and_(a.data_scope == "unit", a.scope_unit_id == i.unit_id),
        and_(a.data_scope == "subtree", unit.path.startswith(scope_unit.path)),
    )
    pairs: list[Any] = []
    for chunk in _chunks(sorted(incident_ids)):
        pairs += session.execute(
            select(i.id, i.category, i.detector, a.id)
            .select_from(i)
            .join(a, true())
            .outerjoin(unit, unit.id == i.unit_id)
            .outerjoin(scope_unit, scope_unit.id == a.scope_unit_id)
            .where(
                i.id.in_(chunk),
                i.severity == Severity.high,
                a.active.is_(True),
                a.permission_role.in_(NOTIFIED_ROLES),
                holds,
            )
        ).all()
    now = utcnow()
    rows = [
        {
            "account_id": account_id,
            "kind": "incident",
            "title": f"高风险会话事件 / High-severity chat incident: {category}",
            "body": f"detector {detector}",
            "link": f"/compliance/incidents/{incident_id}",
            "dedupe_key": f"incident:{incident_id}",
            "created_at": now,
        }
        for incident_id, category, detector, account_id in pairs
    ]
    return len(insert_ignore(session, NOTIFICATIONS, rows))
