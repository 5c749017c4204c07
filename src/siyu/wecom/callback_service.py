"""Processing of stored WeCom callbacks: contacts, follows, transfers, group chats and corp tags.

Each event is claimed with a conditional UPDATE (status pending, attempts unchanged), so the route's
background task and the worker never both act on one event. Failures are retried up to MAX_ATTEMPTS.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.channels.wecom.errors import InvalidUserId, NotFriend
from siyu.models import Staff
from siyu.models.enums import IdentityKind, LeaveReason
from siyu.models.wecom import (
    CallbackStatus,
    HandoverBatch,
    HandoverTransfer,
    TransferStatus,
    WecomCallbackEvent,
)
from siyu.wecom import contacts

if TYPE_CHECKING:
    from siyu.channels.wecom.client import WecomClient

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
WORKER_GRACE = timedelta(seconds=30)  # the route's background task gets the first go at a fresh event
ClientFactory = Callable[[Session], "WecomClient"]

# transfer_fail's <FailReason>: the customer refused, or the takeover member is at the customer limit.
_FAIL_REASONS = {
    "customer_refused": TransferStatus.refused,
    "customer_limit_exceed": TransferStatus.takeover_full,
}


class _Ignored(Exception):
    """The event needs nothing from Siyu; the message says why (kept on the row)."""


def _default_client(session: Session) -> WecomClient:
    from siyu.wecom.credentials import client_for

    return client_for(session)


class _Context:
    """One event's processing context; the client is built only when an event needs the API."""

    def __init__(self, session: Session, row: WecomCallbackEvent, now: datetime, factory: ClientFactory):
        self.session = session
        self.row = row
        self.now = now
        self._factory = factory
        self._client: WecomClient | None = None

    @property
    def client(self) -> WecomClient:
        if self._client is None:
            self._client = self._factory(self.session)
        return self._client

    @property
    def at(self) -> datetime:
        """When the change happened (the event's CreateTime)."""
        return self.row.created_time

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def _claim(session: Session, event_id: int) -> WecomCallbackEvent | None:
    row = session.get(WecomCallbackEvent, event_id)
    if row is None or row.status != CallbackStatus.pending:
        return None
    seen = row.attempts
    claimed = session.execute(
        update(WecomCallbackEvent)
        .where(
            WecomCallbackEvent.id == event_id,
            WecomCallbackEvent.status == CallbackStatus.pending,
            WecomCallbackEvent.attempts == seen,
        )
        .values(attempts=seen + 1)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    session.refresh(row)
    return row


def process_one(
    session: Session, event_id: int, now: datetime, *, client_factory: ClientFactory | None = None
) -> CallbackStatus | None:
    """Process one stored event; its new status, or None when it was not pending (done, or taken)."""
    row = _claim(session, event_id)
    if row is None:
        return None
    ctx = _Context(session, row, now, client_factory or _default_client)
    handler = _handler(row)
    try:
        with session.begin_nested():
            if handler is None:
                raise _Ignored(f"event {row.event}/{row.change_type or '-'} is not handled by Siyu")
            handler(ctx)
        row.status, row.error = CallbackStatus.done, None
    except _Ignored as exc:
        row.status, row.error = CallbackStatus.ignored, str(exc)[:2000]
    except Exception as exc:  # recorded on the row and retried; the message names the failing step
        log.warning("wecom callback %s (%s/%s) failed: %s", row.id, row.event, row.change_type, exc)
        row.error = f"{exc.__class__.__name__}: {exc}"[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.status = CallbackStatus.failed
    finally:
        ctx.close()
    row.processed_at = now
    session.flush()
    return row.status


def process_pending(
    session: Session, now: datetime, limit: int = 200, *, client_factory: ClientFactory | None = None
) -> dict[str, int]:
    """Process pending events older than the grace period, oldest first; counts by resulting status."""
    ids = session.scalars(
        select(WecomCallbackEvent.id)
        .where(
            WecomCallbackEvent.status == CallbackStatus.pending,
            WecomCallbackEvent.received_at <= now - WORKER_GRACE,
        )
        .order_by(WecomCallbackEvent.received_at, WecomCallbackEvent.id)
        .limit(limit)
    ).all()
    counts = {"claimed": 0, "done": 0, "ignored": 0, "failed": 0, "retry": 0}
    for event_id in ids:
        status = process_one(session, event_id, now, client_factory=client_factory)
        if status is None:
            continue
        counts["claimed"] += 1
        counts["retry" if status == CallbackStatus.pending else status.value] += 1
    return counts


def process_pending_job(session: Session) -> dict[str, int]:
    """Worker job wecom.process_callbacks: the safety net for events the route's background task missed."""
    return process_pending(session, datetime.now(UTC))


def register_callback_jobs() -> None:
    """Register wecom.process_callbacks (every 30 s)."""
    from siyu.worker.jobs import register_job

    register_job("wecom.process_callbacks", 30, process_pending_job)


# --- handlers ---------------------------------------------------------------------------------------


def _handler(row: WecomCallbackEvent) -> Callable[[_Context], None] | None:
    if row.event == "change_external_contact":
        return _CONTACT_HANDLERS.get(row.change_type or "")
    if row.event == "change_external_chat":
        from siyu.wecom.callback_groups import handle_chat_event

        return handle_chat_event
    if row.event == "change_external_tag":
        from siyu.wecom.callback_tags import handle_tag_event

        return handle_tag_event
    return None


def _need(value: str | None, what: str) -> str:
    if not value:
        raise ValueError(f"the callback has no {what}")
    return value


def _refresh_contact(ctx: _Context) -> contacts.ContactUpsertResult:
    external = _need(ctx.row.external_user_id, "ExternalUserID")
    try:
        detail = ctx.client.get_external_contact(external)
    except (InvalidUserId, NotFriend) as exc:
        raise _Ignored(f"contact {external} is no longer visible to the app: {exc}") from exc
    # externalcontact/get holds every follow of the customer, so tags can be replaced, not only added.
    return contacts.upsert_contacts(ctx.session, detail.rows(), ctx.now, source="callback", replace_tags=True)


def _on_add(ctx: _Context) -> None:
    from siyu.wecom.onboarding import on_contact_added

    result = _refresh_contact(ctx)
    on_contact_added(ctx.session, ctx.row, result, ctx.now, client=ctx.client)


def _on_edit(ctx: _Context) -> None:
    _refresh_contact(ctx)


def _on_staff_deleted_customer(ctx: _Context) -> None:
    userid = _need(ctx.row.user_id, "UserID")
    external = _need(ctx.row.external_user_id, "ExternalUserID")
    source = (ctx.row.payload or {}).get("Source")
    # A deletion caused by a handover is closed by the transfer tracking with reason handover.
    reason = LeaveReason.handover if source == "DELETE_BY_TRANSFER" else LeaveReason.staff_deleted_customer
    contacts.close_follow(ctx.session, userid, external, reason, ctx.at)


def _on_customer_deleted_staff(ctx: _Context) -> None:
    userid = _need(ctx.row.user_id, "UserID")
    external = _need(ctx.row.external_user_id, "ExternalUserID")
    contacts.close_follow(ctx.session, userid, external, LeaveReason.customer_deleted_staff, ctx.at)


def _on_transfer_fail(ctx: _Context) -> None:
    """The takeover member (UserID) did not get the customer: mark the open transfer refused/full/failed."""
    external = _need(ctx.row.external_user_id, "ExternalUserID")
    userid = _need(ctx.row.user_id, "UserID")
    fail_reason = str((ctx.row.payload or {}).get("FailReason") or "unknown")
    status = _FAIL_REASONS.get(fail_reason, TransferStatus.failed)
    takeover = ctx.session.scalar(select(Staff.id).where(Staff.wecom_userid == userid))
    q = (
        select(HandoverTransfer)
        .join(HandoverBatch, HandoverBatch.id == HandoverTransfer.batch_id)
        .where(
            HandoverTransfer.external_userid == external,
            HandoverTransfer.status.in_([TransferStatus.requested, TransferStatus.waiting]),
        )
        .order_by(HandoverTransfer.requested_at.desc())
        .limit(1)
    )
    if takeover is not None:
        q = q.where(HandoverBatch.takeover_staff_id == takeover)
    transfer = ctx.session.scalars(q).first()
    if transfer is None:
        raise _Ignored(f"no open handover of {external} to {userid} is recorded")
    transfer.status = status
    transfer.reason = f"transfer_fail: {fail_reason}"[:200]
    transfer.checked_at = ctx.now


_CONTACT_HANDLERS: dict[str, Callable[[_Context], None]] = {
    "add_external_contact": _on_add,
    "add_half_external_contact": _on_add,
    "edit_external_contact": _on_edit,
    "del_external_contact": _on_staff_deleted_customer,
    "del_follow_user": _on_customer_deleted_staff,
    "transfer_fail": _on_transfer_fail,
}


def customer_of_external(session: Session, external_userids: list[str]) -> dict[str, int]:
    """external_userid -> customer id (one query)."""
    return contacts.identities_of(session, IdentityKind.wecom_external_userid, external_userids)


def inbox_counts(session: Session) -> dict[str, int]:
    """How many stored callbacks are in each status (for the settings/hub page)."""
    from sqlalchemy import func

    rows = session.execute(
        select(WecomCallbackEvent.status, func.count()).group_by(WecomCallbackEvent.status)
    ).all()
    out: dict[str, Any] = {s.value: 0 for s in CallbackStatus}
    out.update({status.value: n for status, n in rows})
    return out
