"""Running mass sends: the audience in the creator's data scope, the preview after consent and caps, the job."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, or_, select, update
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.db.bulk import insert_if_absent
from siyu.db.types import utcnow
from siyu.errors import SiyuError
from siyu.journeys.contract import TouchRequest
from siyu.journeys.mass_send_schemas import MassPreview, MassSendCreate, PreviewRow
from siyu.journeys.mass_send_service import (
    SOURCE,
    check_request,
    customer_key,
    get_mass_send,
    group_key,
    result_counts,
)
from siyu.journeys.sending import plan_touches, queue_touches
from siyu.models import Account, ChatGroup, Customer, MassSend, Notification
from siyu.models.journeys import MassSendStatus
from siyu.org.permissions import SYSTEM_ACTOR, Actor
from siyu.org.tokens import actor_for_account

log = logging.getLogger(__name__)
BATCH = 2000
SAMPLE = 20
# A send that cannot run (its segment's stored rule no longer parses, its segment or script is gone) is
# retried after 5, then 10 minutes, then marked failed with the error and its creator notified.
MAX_ATTEMPTS = 3
RETRY_STEP = timedelta(minutes=5)
NOTIFICATIONS = cast(Table, Notification.__table__)


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        MassSend.status.in_((MassSendStatus.scheduled, MassSendStatus.running)),
        MassSend.scheduled_at <= now,
        or_(MassSend.retry_at.is_(None), MassSend.retry_at <= now),
    ]


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a mass send reaches: customer ids (readable by its creator) and group ids, ascending."""

    customer_ids: list[int]
    group_ids: list[int]

    @property
    def size(self) -> int:
        """Customers plus groups."""
        return len(self.customer_ids) + len(self.group_ids)


def creator_actor(session: Session, account_id: int | None) -> Actor:
    """The actor whose data scope bounds the audience (the system account when none is recorded)."""
    if account_id is None:
        return SYSTEM_ACTOR
    account = session.get(Account, account_id)
    return SYSTEM_ACTOR if account is None else actor_for_account(session, account)


def resolve_audience(
    session: Session,
    actor: Actor,
    kind: str,
    segment_id: int | None,
    group_ids: Sequence[int] | None,
    customer_ids: Sequence[int] | None,
    now: datetime,
) -> Audience:
    """Segment members / listed customers within actor's scope, or the listed groups not dismissed."""
    from siyu.customers.repository import readable_ids
    from siyu.segments import repository as segment_repo
    from siyu.segments.service import current_rule

    if kind == "segment" and segment_id is not None:
        _segment, rule = current_rule(session, segment_id)
        return Audience(sorted(segment_repo.member_ids(session, rule, actor, now)), [])
    if kind == "customers":
        return Audience(sorted(readable_ids(session, actor, list(customer_ids or ()))), [])
    groups = session.scalars(
        select(ChatGroup.id).where(ChatGroup.id.in_(set(group_ids or ())), ChatGroup.dismissed_at.is_(None))
    )
    return Audience([], sorted(int(g) for g in groups))


def _requests(
    mass_id: int,
    script_id: int,
    channel: str,
    audience: Audience,
    arms: dict[int, tuple[int, int]] | None = None,
) -> list[TouchRequest]:
    arms = arms or {}
    out = [
        TouchRequest(
            idempotency_key=customer_key(mass_id, c),
            source_type=SOURCE,
            source_id=mass_id,
            channel=channel,
            script_id=arms[c][1] if c in arms else script_id,
            customer_id=c,
            experiment_arm_id=arms[c][0] if c in arms else None,
        )
        for c in audience.customer_ids
    ]
    out += [
        TouchRequest(group_key(mass_id, g), SOURCE, mass_id, channel, script_id, group_id=g)
        for g in audience.group_ids
    ]
    return out


def preview(session: Session, actor: Actor, data: MassSendCreate, now: datetime | None = None) -> MassPreview:
    """What sending now would do: audience, opted out, capped, would send, and a sample (writes nothing)."""
    now = now or utcnow()
    check_request(session, actor, data)
    audience = resolve_audience(
        session, actor, data.audience_kind, data.segment_id, data.group_ids, data.customer_ids, now
    )
    # Arms are not assigned in a preview (that would write); every arm's script is approved alike.
    requests = _requests(0, data.script_id, data.channel, audience)
    plans = plan_touches(session, requests, now)
    counts = {"queued": 0, "opted_out": 0, "capped": 0, "failed": 0}
    for status, _reason in plans:
        counts[status] = counts.get(status, 0) + 1
    head = list(zip(requests[:SAMPLE], plans[:SAMPLE], strict=True))
    names = _names(
        session,
        [r.customer_id for r, _ in head if r.customer_id],
        [r.group_id for r, _ in head if r.group_id],
    )
    sample = [
        PreviewRow(
            kind="customer" if r.customer_id else "group",
            id=r.customer_id or r.group_id or 0,
            name=names.get(("c", r.customer_id) if r.customer_id else ("g", r.group_id or 0), ""),
            status=status,
            reason=reason,
        )
        for r, (status, reason) in head
    ]
    return MassPreview(
        audience=audience.size,
        opted_out=counts["opted_out"],
        capped=counts["capped"],
        failed=counts["failed"],
        would_send=counts["queued"],
        sample=sample,
    )


def _names(
    session: Session, customer_ids: list[int | None], group_ids: list[int | None]
) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    if customer_ids:
        for cid, name in session.execute(
            select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids))
        ).all():
            out[("c", int(cid))] = name or ""
    if group_ids:
        for gid, name in session.execute(
            select(ChatGroup.id, ChatGroup.name).where(ChatGroup.id.in_(group_ids))
        ).all():
            out[("g", int(gid))] = name or ""
    return out


def run_mass_send(session: Session, mass_send_id: int, now: datetime, batch: int = BATCH) -> bool:
    """Claim a due scheduled mass send, send it in batches through queue_touches and freeze its counts.

    False when another worker has it or it is not due. Idempotency keys make a rerun after a crash
    (the transaction rolled back, or a batch was already written) send nobody twice.
    """
    claimed = session.execute(
        update(MassSend)
        .where(MassSend.id == mass_send_id, *_due(now))
        .values(status=MassSendStatus.running, started_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False
    row = get_mass_send(session, mass_send_id)
    session.refresh(row)
    actor = creator_actor(session, row.created_by_account_id)
    audience = resolve_audience(
        session, actor, row.audience_kind, row.segment_id, row.group_ids, row.customer_ids, now
    )
    for start in range(0, max(len(audience.customer_ids), 1), batch):
        chunk = Audience(audience.customer_ids[start : start + batch], [])
        arms = None
        if row.experiment_id is not None and chunk.customer_ids:
            from siyu.journeys.experiment_service import assign_arms

            arms = assign_arms(session, row.experiment_id, chunk.customer_ids, now)
        queue_touches(session, _requests(row.id, row.script_id, row.channel, chunk, arms), now)
    if audience.group_ids:
        queue_touches(
            session, _requests(row.id, row.script_id, row.channel, Audience([], audience.group_ids)), now
        )
    counts = result_counts(session, [row.id])[row.id]
    row.audience_count = audience.size
    row.queued_count = counts.queued + counts.sent + counts.confirmed
    row.capped_count = counts.capped
    row.opted_out_count = counts.opted_out
    row.status = MassSendStatus.done
    row.finished_at = now
    row.retry_at = None
    session.flush()
    return True


def record_failure(session: Session, mass_send_id: int, error: str, now: datetime) -> MassSendStatus:
    """Count a failed run (no commit): retry later, or after MAX_ATTEMPTS mark it failed and tell its creator."""
    row = get_mass_send(session, mass_send_id)
    row.attempts += 1
    row.last_error = error[:2000]
    if row.attempts < MAX_ATTEMPTS:
        row.status = MassSendStatus.scheduled
        row.retry_at = now + RETRY_STEP * row.attempts
    else:
        row.status = MassSendStatus.failed
        row.retry_at = None
        row.finished_at = now
        audit(
            session,
            SYSTEM_ACTOR,
            "mass_send.failed",
            "mass_send",
            row.id,
            {"attempts": row.attempts, "error": row.last_error},
        )
        if row.created_by_account_id is not None:
            insert_if_absent(
                session,
                NOTIFICATIONS,
                [
                    {
                        "account_id": row.created_by_account_id,
                        "kind": "mass_send_failed",
                        "title": f"群发未能执行 / Mass send failed: {row.name}"[:200],
                        "body": row.last_error,
                        "link": f"/mass-sends/{row.id}",
                        "dedupe_key": f"mass_send_failed:{row.id}:{row.attempts}",
                        "created_at": now,
                    }
                ],
                ("id",),
            )
    session.flush()
    return row.status


def due_mass_sends(session: Session, now: datetime, limit: int = 20) -> list[int]:
    """Ids of scheduled (or interrupted running) mass sends whose time has come, oldest first."""
    return list(
        session.scalars(
            select(MassSend.id).where(*_due(now)).order_by(MassSend.scheduled_at, MassSend.id).limit(limit)
        )
    )


def run_mass_sends_job(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Worker job journeys.run_mass_sends: each due mass send in its own transaction (the job owns them)."""
    now = now or utcnow()
    done = errors = gave_up = 0
    for mass_id in due_mass_sends(session, now):
        try:
            if run_mass_send(session, mass_id, now):
                done += 1
            session.commit()
        except SiyuError as exc:
            # One broken send must not block the others: nothing of the run is kept, the failure is
            # counted in its own transaction and the send retried later (or given up: record_failure).
            session.rollback()
            errors += 1
            log.warning("mass send %s could not run: %s", mass_id, exc)
            if record_failure(session, mass_id, str(exc), now) == MassSendStatus.failed:
                gave_up += 1
            session.commit()
    return {"ran": done, "errors": errors, "failed": gave_up}


def register_mass_send_job(every_seconds: float = 30) -> None:
    """Register journeys.run_mass_sends with the worker."""
    from siyu.worker.jobs import register_job

    register_job("journeys.run_mass_sends", every_seconds, run_mass_sends_job)
