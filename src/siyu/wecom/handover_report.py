"""Handover batches for the console/API: status counts, per-customer detail and handover quality (kept)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from siyu.customers.repository import readable
from siyu.db.bulk import any_of
from siyu.errors import NotFound
from siyu.models import ChannelMembership, Customer, Staff
from siyu.models.enums import Channel
from siyu.models.wecom import HandoverBatch, HandoverTransfer, TransferStatus
from siyu.org.permissions import Actor
from siyu.org.repository import readable_staff
from siyu.wecom.handover_service import KEPT_AFTER_DAYS


@dataclass(slots=True)
class BatchSummary:
    """One batch with its counts by status and the quality figures."""

    id: int
    kind: str
    created_at: datetime
    handover_staff: str
    takeover_staff: str
    message: str | None
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    matured: int = 0  # done transfers at least `days` old: the base of the kept rate
    kept: int = 0  # of those, still followed by the takeover member `days` after the takeover
    days: int = KEPT_AFTER_DAYS

    @property
    def kept_rate(self) -> float | None:
        """kept / matured, None before any transfer matured."""
        return self.kept / self.matured if self.matured else None


@dataclass(frozen=True, slots=True)
class TransferLine:
    """One customer of a batch."""

    customer_id: int
    customer_name: str | None
    status: str
    errcode: int | None
    reason: str | None
    requested_at: datetime
    takeover_at: datetime | None


def _batches(session: Session, actor: Actor, batch_ids: list[int] | None, limit: int) -> list[BatchSummary]:
    give, take = aliased(Staff), aliased(Staff)
    q = (
        select(HandoverBatch, give.name, take.name)
        .join(give, give.id == HandoverBatch.handover_staff_id)
        .join(take, take.id == HandoverBatch.takeover_staff_id)
        .where(give.id.in_(select(Staff.id).where(readable_staff(actor))))
        .order_by(HandoverBatch.id.desc())
        .limit(limit)
    )
    if batch_ids is not None:
        q = q.where(HandoverBatch.id.in_(batch_ids))
    return [
        BatchSummary(
            id=b.id,
            kind=b.kind.value,
            created_at=b.created_at,
            handover_staff=g,
            takeover_staff=t,
            message=b.message,
            counts={s.value: 0 for s in TransferStatus},
        )
        for b, g, t in session.execute(q).all()
    ]


def summaries(
    session: Session,
    actor: Actor,
    now: datetime,
    *,
    batch_ids: list[int] | None = None,
    limit: int = 100,
    days: int = KEPT_AFTER_DAYS,
) -> list[BatchSummary]:
    """Recent batches (newest first) with counts and quality: three queries whatever the batch count."""
    out = _batches(session, actor, batch_ids, limit)
    if not out:
        return out
    by_id = {s.id: s for s in out}
    for s in out:
        s.days = days
    ids = sorted(by_id)
    for batch_id, status, n in session.execute(
        select(HandoverTransfer.batch_id, HandoverTransfer.status, func.count())
        .where(any_of(session, HandoverTransfer.batch_id, ids))
        .group_by(HandoverTransfer.batch_id, HandoverTransfer.status)
    ):
        by_id[batch_id].counts[status.value] = int(n)
        by_id[batch_id].total += int(n)
    _quality(session, by_id, ids, now, days)
    return out


def _quality(
    session: Session, by_id: dict[int, BatchSummary], ids: list[int], now: datetime, days: int
) -> None:
    span = timedelta(days=days)
    done = session.execute(
        select(
            HandoverTransfer.batch_id,
            HandoverTransfer.customer_id,
            HandoverTransfer.takeover_at,
            HandoverBatch.takeover_staff_id,
        )
        .join(HandoverBatch, HandoverBatch.id == HandoverTransfer.batch_id)
        .where(
            any_of(session, HandoverTransfer.batch_id, ids),
            HandoverTransfer.status == TransferStatus.done,
            HandoverTransfer.takeover_at.is_not(None),
            HandoverTransfer.takeover_at <= now - span,
        )
    ).all()
    if not done:
        return
    m = ChannelMembership
    spans: dict[tuple[int, int | None], list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for cid, sid, joined, left in session.execute(
        select(m.customer_id, m.staff_id, m.joined_at, m.left_at).where(
            m.channel == Channel.wecom,
            any_of(session, m.customer_id, sorted({r.customer_id for r in done})),
            any_of(session, m.staff_id, sorted({r.takeover_staff_id for r in done})),
        )
    ):
        spans[(cid, sid)].append((joined, left))
    for r in done:
        summary = by_id[r.batch_id]
        summary.matured += 1
        at = r.takeover_at + span
        if any(
            j <= at and (left is None or left > at)
            for j, left in spans.get((r.customer_id, r.takeover_staff_id), [])
        ):
            summary.kept += 1


def batch_detail(
    session: Session, actor: Actor, batch_id: int, now: datetime, *, days: int = KEPT_AFTER_DAYS
) -> tuple[BatchSummary, list[TransferLine]]:
    """One batch and its customers (only those the actor may read)."""
    found = summaries(session, actor, now, batch_ids=[batch_id], limit=1, days=days)
    if not found:
        raise NotFound(f"WeCom handover: batch {batch_id} does not exist or is outside your scope")
    rows = session.execute(
        select(
            HandoverTransfer.customer_id,
            Customer.name,
            HandoverTransfer.status,
            HandoverTransfer.errcode,
            HandoverTransfer.reason,
            HandoverTransfer.requested_at,
            HandoverTransfer.takeover_at,
        )
        .join(Customer, Customer.id == HandoverTransfer.customer_id)
        .where(HandoverTransfer.batch_id == batch_id, readable(actor))
        .order_by(HandoverTransfer.id)
    ).all()
    lines = [TransferLine(c, n, s.value, e, r, q, t) for c, n, s, e, r, q, t in rows]
    return found[0], lines
