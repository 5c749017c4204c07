"""Platform mass sends: track per-staff confirmation and per-customer results, remind, cancel.

WeCom statuses (DOC/96355): task 0 = not sent, 2 = sent; per recipient 0 = not yet, 1 = sent,
2 = not a friend, 3 = over the platform's monthly limit. Outbound rows are matched by (external_id = msgid,
customer) or (msgid, group); 1 → confirmed (the platform reported delivery), 2 → failed, 3 → capped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.channels.wecom.adapter import set_client_factory
from siyu.channels.wecom.errors import RateLimited, WecomError, WecomUnreachable
from siyu.db.bulk import any_of
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, NotFound
from siyu.events import NewEvent, record_events
from siyu.models import ChatGroup, CustomerIdentity, OutboundMessage, Staff, StaffTask
from siyu.models.customers import IdentityKind
from siyu.models.enums import TaskStatus
from siyu.models.journeys import SendStatus
from siyu.models.wecom import WecomGroupMessage
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor
from siyu.wecom.credentials import client_for, load_app, opened_client

if TYPE_CHECKING:
    from siyu.channels.wecom.client import WecomClient

log = logging.getLogger(__name__)

CLOSE_AFTER = timedelta(days=3)  # results after three days are final enough; polling stops
AUTO_REMIND_AFTER = timedelta(hours=4)
# WeCom allows 3 reminders per message per 24 h: strictly more than 8 h apart keeps any 24 h window at ≤ 3.
REMIND_GAP = timedelta(hours=8)
OVER_LIMIT = "platform_over_limit"
NOT_FRIEND = "not_friend"
CANCELLED = "cancelled on WeCom"
NOT_CONFIRMED = "sender did not confirm in WeCom within 3 days"
TASK_DONE = "task_done"
_LIVE = (SendStatus.queued, SendStatus.sent, SendStatus.confirmed)

# The adapter (protocol layer) gets its client from here: the configured app, shared token cache.
set_client_factory(client_for)


@dataclass
class TrackSummary:
    """What one tracking pass did."""

    checked: int = 0
    staff_sent: int = 0
    tasks_done: int = 0
    rows_confirmed: int = 0
    rows_failed: int = 0
    rows_capped: int = 0
    closed: int = 0
    reminded: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class _Seen:
    """What WeCom said about one template in this pass."""

    message: WecomGroupMessage
    sent_at: datetime | None = None
    results: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # status → targets


def _aware(epoch: int | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back what was stored; make comparisons safe either way.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def rows_of(msgid: str, source_type: str, source_id: int | None) -> list[ColumnElement[bool]]:
    """The outbound rows of one template: by msgid, narrowed by the indexed source (external_id has no index)."""
    where = [OutboundMessage.source_type == source_type, OutboundMessage.external_id == msgid]
    if source_id is not None:
        where.insert(1, OutboundMessage.source_id == source_id)
    return where


def may_remind(message: WecomGroupMessage, now: datetime) -> bool:
    """Whether a reminder now keeps WeCom's three-per-24-hours rule."""
    last = message.last_reminded_at
    return message.staff_status == "pending" and (last is None or now - _as_utc(last) > REMIND_GAP)


def _fetch(client: WecomClient, message: WecomGroupMessage, userid: str | None) -> _Seen:
    seen = _Seen(message)
    for page in client.iter_groupmsg_task(message.msgid):
        for task in page.items:
            if task.status == 2:
                at = _aware(task.send_time) or datetime.now(UTC)
                seen.sent_at = at if seen.sent_at is None else max(seen.sent_at, at)
    if seen.sent_at is not None and userid:
        for result_page in client.iter_groupmsg_send_result(message.msgid, userid):
            for r in result_page.items:
                target = r.external_userid if message.chat_type == "single" else r.chat_id
                if target:
                    seen.results[r.status].append(target)
    return seen


def track_group_messages(
    session: Session, now: datetime | None = None, *, client: WecomClient | None = None, limit: int = 200
) -> TrackSummary:
    """Poll WeCom for open templates: staff confirmation (task done), per-recipient results, close, auto-remind."""
    now = now or utcnow()
    summary = TrackSummary()
    messages = list(
        session.scalars(
            select(WecomGroupMessage)
            .where(WecomGroupMessage.closed_at.is_(None))
            .order_by(
                func.coalesce(WecomGroupMessage.checked_at, WecomGroupMessage.created_at),
                WecomGroupMessage.id,
            )
            .limit(limit)
        )
    )
    if not messages:
        return summary
    if client is None and load_app(session) is None:
        summary.skipped = "WeCom is not configured"
        return summary
    userid_of = _userids(session, {m.staff_id for m in messages if m.staff_id is not None})
    seen: list[_Seen] = []
    with opened_client(session, client) as client:
        for m in messages:
            try:
                seen.append(_fetch(client, m, userid_of.get(m.staff_id or 0)))
            except (RateLimited, WecomUnreachable) as exc:
                summary.errors.append(f"{m.msgid}: {exc}")
                break  # WeCom wants us to back off: the rest waits for the next pass
            except WecomError as exc:
                summary.errors.append(f"{m.msgid}: {exc}")
        summary.checked = len(seen)
        _apply(session, seen, now, summary)
        _auto_remind(client, [s.message for s in seen], now, summary)
    return summary


def _userids(session: Session, staff_ids: set[int]) -> dict[int, str]:
    if not staff_ids:
        return {}
    rows = session.execute(select(Staff.id, Staff.wecom_userid).where(any_of(session, Staff.id, staff_ids)))
    return {sid: uid for sid, uid in rows if uid}


def _apply(session: Session, seen: list[_Seen], now: datetime, summary: TrackSummary) -> None:
    externals = {t for s in seen if s.message.chat_type == "single" for ts in s.results.values() for t in ts}
    chats = {t for s in seen if s.message.chat_type == "group" for ts in s.results.values() for t in ts}
    customer_of: dict[str, int] = {}
    if externals:
        customer_of = dict(
            session.execute(
                select(CustomerIdentity.value, CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == IdentityKind.wecom_external_userid,
                    any_of(session, CustomerIdentity.value, externals),
                )
            ).all()
        )
    group_of: dict[str, int] = {}
    if chats:
        group_of = dict(
            session.execute(
                select(ChatGroup.external_id, ChatGroup.id).where(
                    any_of(session, ChatGroup.external_id, chats)
                )
            ).all()
        )
    finished_tasks: list[tuple[int, int | None, datetime]] = []  # (task id, staff id, at)
    for s in seen:
        m = s.message
        m.checked_at = now
        if s.sent_at is not None and m.staff_status == "pending":
            m.staff_status, m.staff_sent_at = "sent", s.sent_at
            summary.staff_sent += 1
            if m.task_id is not None:
                finished_tasks.append((m.task_id, m.staff_id, s.sent_at))
        ids_of = customer_of if m.chat_type == "single" else group_of
        column = OutboundMessage.customer_id if m.chat_type == "single" else OutboundMessage.group_id
        for status, targets in s.results.items():
            ids = sorted({ids_of[t] for t in targets if t in ids_of})
            if status == 0 or not ids:
                continue
            values: dict[str, object]
            if status == 1:
                values = {
                    "status": SendStatus.confirmed,
                    "reason": None,
                    "sent_at": m.staff_sent_at or now,
                    "confirmed_at": now,
                }
            elif status == 2:
                values = {"status": SendStatus.failed, "reason": NOT_FRIEND}
            else:
                values = {"status": SendStatus.capped, "reason": OVER_LIMIT}
            target_status = values["status"]
            result = session.execute(
                update(OutboundMessage)
                .where(
                    *rows_of(m.msgid, m.source_type, m.source_id),
                    any_of(session, column, ids),
                    OutboundMessage.status.in_(_LIVE),
                    OutboundMessage.status != target_status,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            n = int(result.rowcount or 0)  # type: ignore[attr-defined]
            if status == 1:
                summary.rows_confirmed += n
            elif status == 2:
                summary.rows_failed += n
            else:
                summary.rows_capped += n
        if s.results or m.staff_status == "sent":
            m.sent_count = len(s.results.get(1, []))
            m.not_friend_count = len(s.results.get(2, []))
            m.over_limit_count = len(s.results.get(3, []))
        pending_results = bool(s.results.get(0))
        old = now - _as_utc(m.created_at) >= CLOSE_AFTER
        if (m.staff_status == "sent" and not pending_results) or old:
            m.closed_at = now
            summary.closed += 1
            if m.staff_status == "pending":
                summary.rows_failed += _expire(session, m)
    summary.tasks_done = finish_tasks(session, finished_tasks, now, "confirmed in WeCom (get_groupmsg_task)")


def _expire(session: Session, m: WecomGroupMessage) -> int:
    # The sender never confirmed within the polling window: the rows are failed and the task cancelled, so
    # nothing stays queued forever; a later confirmation in WeCom is no longer tracked.
    if m.task_id is not None:
        session.execute(
            update(StaffTask)
            .where(StaffTask.id == m.task_id, StaffTask.status == TaskStatus.open)
            .values(status=TaskStatus.cancelled)
            .execution_options(synchronize_session=False)
        )
    result = session.execute(
        update(OutboundMessage)
        .where(*rows_of(m.msgid, m.source_type, m.source_id), OutboundMessage.status == SendStatus.queued)
        .values(status=SendStatus.failed, reason=NOT_CONFIRMED)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def finish_tasks(
    session: Session, finished: Sequence[tuple[int, int | None, datetime]], now: datetime, evidence: str
) -> int:
    """Close open staff tasks WeCom reports as done (task_done events at WeCom's time); returns how many."""
    if not finished:
        return 0
    at_of = {task_id: at for task_id, _staff, at in finished}
    closed = list(
        session.execute(
            update(StaffTask)
            .where(StaffTask.id.in_(sorted(at_of)), StaffTask.status == TaskStatus.open)
            .values(status=TaskStatus.done, done_at=now, evidence=evidence)
            .returning(StaffTask.id, StaffTask.staff_id, StaffTask.kind)
            .execution_options(synchronize_session=False)
        )
    )
    if not closed:
        return 0
    unit_of = dict(
        session.execute(
            select(Staff.id, Staff.unit_id).where(Staff.id.in_({r.staff_id for r in closed}))
        ).all()
    )
    record_events(
        session,
        [
            NewEvent(
                TASK_DONE,
                at_of[r.id],
                staff_id=r.staff_id,
                unit_id=unit_of.get(r.staff_id),
                subject_type="staff_task",
                subject_id=r.id,
                data={"task_kind": r.kind, "source": "wecom"},
            )
            for r in closed
        ],
    )
    return len(closed)


def _auto_remind(
    client: WecomClient, messages: Sequence[WecomGroupMessage], now: datetime, summary: TrackSummary
) -> None:
    for m in messages:
        if m.closed_at is None and now - _as_utc(m.created_at) >= AUTO_REMIND_AFTER and may_remind(m, now):
            try:
                client.remind_groupmsg_send(m.msgid)
            except WecomError as exc:
                summary.errors.append(f"remind {m.msgid}: {exc}")
                continue
            m.reminded_count += 1
            m.last_reminded_at = now
            summary.reminded += 1


def _readable_message(session: Session, actor: Actor, message_id: int) -> WecomGroupMessage:
    message = session.get(WecomGroupMessage, message_id)
    if message is None:
        raise NotFound(f"WeCom mass send {message_id} does not exist")
    if message.staff_id is not None:
        visible = session.scalar(
            select(func.count())
            .select_from(Staff)
            .where(Staff.id == message.staff_id, org_repo.readable_staff(actor))
        )
        if not visible:
            raise NotFound(f"WeCom mass send {message_id} does not exist in your scope")
    return message


def remind(
    session: Session,
    actor: Actor,
    message_id: int,
    now: datetime | None = None,
    *,
    client: WecomClient | None = None,
) -> WecomGroupMessage:
    """Remind the sender in WeCom (remind_groupmsg_send), within WeCom's three per 24 hours (audited)."""
    now = now or utcnow()
    if not actor.may_write:
        raise Forbidden("WeCom mass sends: this account may not send reminders")
    m = _readable_message(session, actor, message_id)
    if m.staff_status != "pending":
        raise Conflict(
            f"WeCom mass send {m.msgid}: the sender's status is {m.staff_status}; only pending ones are reminded"
        )
    if m.closed_at is not None:
        raise Conflict(f"WeCom mass send {m.msgid}: closed (no longer tracked), so it is not reminded")
    if not may_remind(m, now):
        last = _as_utc(m.last_reminded_at) if m.last_reminded_at else now
        raise Conflict(
            f"WeCom mass send {m.msgid}: reminded at {last:%Y-%m-%d %H:%M} UTC; WeCom allows 3 reminders per 24 h, "
            f"so Siyu waits 8 h between reminders (next after {last + REMIND_GAP:%Y-%m-%d %H:%M} UTC)"
        )
    with opened_client(session, client) as client:
        client.remind_groupmsg_send(m.msgid)
    m.reminded_count += 1
    m.last_reminded_at = now
    audit(session, actor, "wecom.mass_send.remind", "wecom_group_message", m.id, {"msgid": m.msgid})
    return m


def cancel(
    session: Session,
    actor: Actor,
    message_id: int,
    now: datetime | None = None,
    *,
    client: WecomClient | None = None,
) -> WecomGroupMessage:
    """Cancel a template the sender has not confirmed (cancel_groupmsg_send): task cancelled, rows failed (audited)."""
    now = now or utcnow()
    if not actor.may_write:
        raise Forbidden("WeCom mass sends: this account may not cancel mass sends")
    m = _readable_message(session, actor, message_id)
    if m.staff_status != "pending":
        raise Conflict(
            f"WeCom mass send {m.msgid}: the sender's status is {m.staff_status}; only pending ones can be cancelled"
        )
    with opened_client(session, client) as client:
        client.cancel_groupmsg_send(m.msgid)
    m.staff_status, m.closed_at = "cancelled", now
    if m.task_id is not None:
        session.execute(
            update(StaffTask)
            .where(StaffTask.id == m.task_id, StaffTask.status == TaskStatus.open)
            .values(status=TaskStatus.cancelled)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        update(OutboundMessage)
        .where(*rows_of(m.msgid, m.source_type, m.source_id), OutboundMessage.status == SendStatus.queued)
        .values(status=SendStatus.failed, reason=CANCELLED)
        .execution_options(synchronize_session=False)
    )
    audit(session, actor, "wecom.mass_send.cancel", "wecom_group_message", m.id, {"msgid": m.msgid})
    return m


def track_job(session: Session) -> TrackSummary:
    """Worker job body: one tracking pass (the worker commits)."""
    return track_group_messages(session)


def register_send_jobs() -> None:
    """Worker jobs: mass-send tracking (with automatic reminders) and moments polling, every 5 minutes."""
    from siyu.wecom.moments_service import poll_job
    from siyu.worker.jobs import register_job

    register_job("wecom.track_group_messages", 300, track_job)
    register_job("wecom.poll_moments", 300, poll_job)
