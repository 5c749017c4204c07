"""Customer handover (在职转接 / 离职继承): choose, transfer through WeCom, track results, report quality.

WeCom allows two transfers of one customer per 90 natural days; Siyu refuses a third before calling
(status blocked) rather than wasting a call that WeCom would refuse.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.channels.wecom.errors import WecomError
from siyu.customers.repository import readable
from siyu.db.bulk import any_of
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.events import NewEvent, record_events
from siyu.models import ChannelMembership, Customer, CustomerIdentity, Staff
from siyu.models.enums import Channel, IdentityKind, LeaveReason
from siyu.models.wecom import HandoverBatch, HandoverTransfer, TransferKind, TransferStatus
from siyu.org.permissions import Actor, PermissionRole
from siyu.org.repository import readable_staff
from siyu.wecom.contacts import close_memberships

if TYPE_CHECKING:
    from siyu.channels.wecom.client import WecomClient

HANDOVER_ROLES = (PermissionRole.admin, PermissionRole.private_domain_lead, PermissionRole.manager)
CHUNK = 100  # externalcontact/transfer_customer takes at most 100 external userids per call
MAX_PER_WINDOW = 2
WINDOW = timedelta(days=90)
MESSAGE_MAX = 200
KEPT_AFTER_DAYS = 14
# Transfers WeCom accepted (errcode 0) count towards its 2-per-90-days rule; refused-by-Siyu or -by-API do not.
COUNTED = (
    TransferStatus.requested,
    TransferStatus.waiting,
    TransferStatus.done,
    TransferStatus.refused,
    TransferStatus.takeover_full,
)
OPEN = (TransferStatus.requested, TransferStatus.waiting)
# transfer_result status → ours (5 = no relation between the member and the customer any more).
RESULT_STATUS = {
    1: TransferStatus.done,
    2: TransferStatus.waiting,
    3: TransferStatus.refused,
    4: TransferStatus.takeover_full,
    5: TransferStatus.failed,
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One customer the handover member follows, with how many transfers it had in the window."""

    customer_id: int
    name: str | None
    external_userid: str
    joined_at: datetime
    recent_transfers: int
    in_progress: bool = False  # a transfer of this customer is still waiting (WeCom refuses a second)

    @property
    def blocked_reason(self) -> str | None:
        """Why WeCom would refuse another transfer now (two per 90 days, or one still running), else None."""
        if self.in_progress:
            return "a transfer of this customer is still in progress"
        if self.recent_transfers >= MAX_PER_WINDOW:
            return f"already transferred {self.recent_transfers} times in 90 days (WeCom allows {MAX_PER_WINDOW})"
        return None


@dataclass(slots=True)
class PollResult:
    """What one poll of transfer results changed."""

    batches: int = 0
    api_calls: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    moved: int = 0


def require_handover_role(actor: Actor) -> None:
    """Forbidden unless the actor may hand customers over."""
    if actor.role not in HANDOVER_ROLES:
        raise Forbidden(
            "WeCom handover: only an admin, private-domain lead or manager may hand customers over"
        )


def _staff(session: Session, actor: Actor, staff_id: int, what: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.id == staff_id, readable_staff(actor))).first()
    if staff is None:
        raise NotFound(f"WeCom handover: {what} staff {staff_id} does not exist or is outside your scope")
    if not staff.wecom_userid:
        raise Invalid(
            f"WeCom handover: {what} {staff.name} ({staff.code}) has no WeCom userid; sync staff first"
        )
    return staff


def recent_transfer_counts(
    session: Session, customer_ids: Sequence[int], now: datetime
) -> dict[int, tuple[int, bool]]:
    """customer id → (transfers WeCom accepted within the last 90 days, one still open?) in one grouped query."""
    if not customer_ids:
        return {}
    open_flag = func.max(case((HandoverTransfer.status.in_(OPEN), 1), else_=0))
    rows = session.execute(
        select(HandoverTransfer.customer_id, func.count(), open_flag)
        .where(
            any_of(session, HandoverTransfer.customer_id, sorted(set(customer_ids))),
            HandoverTransfer.requested_at > now - WINDOW,
            HandoverTransfer.status.in_(COUNTED),
        )
        .group_by(HandoverTransfer.customer_id)
    ).all()
    return {int(c): (int(n), bool(o)) for c, n, o in rows}


def candidates(session: Session, actor: Actor, handover_staff_id: int, now: datetime) -> list[Candidate]:
    """Customers the handover member follows in WeCom (open membership + external userid), within scope."""
    require_handover_role(actor)
    _staff(session, actor, handover_staff_id, "handover")
    m = ChannelMembership
    rows = session.execute(
        select(Customer.id, Customer.name, CustomerIdentity.value, func.min(m.joined_at))
        .join(m, m.customer_id == Customer.id)
        .join(
            CustomerIdentity,
            (CustomerIdentity.customer_id == Customer.id)
            & (CustomerIdentity.kind == IdentityKind.wecom_external_userid),
        )
        .where(
            m.channel == Channel.wecom, m.staff_id == handover_staff_id, m.left_at.is_(None), readable(actor)
        )
        .group_by(Customer.id, Customer.name, CustomerIdentity.value)
        .order_by(Customer.id)
    ).all()
    counts = recent_transfer_counts(session, [r[0] for r in rows], now)
    return [
        Candidate(cid, name, ext, joined, *counts.get(cid, (0, False))) for cid, name, ext, joined in rows
    ]


def start_handover(
    session: Session,
    actor: Actor,
    client: WecomClient,
    *,
    kind: TransferKind,
    handover_staff_id: int,
    takeover_staff_id: int,
    customer_ids: Sequence[int],
    now: datetime,
    message: str | None = None,
) -> HandoverBatch:
    """Record a batch and ask WeCom to transfer the chosen customers (blocked ones are not sent)."""
    require_handover_role(actor)
    if handover_staff_id == takeover_staff_id:
        raise Invalid("WeCom handover: the takeover member must differ from the handover member")
    chosen = sorted(set(customer_ids))
    if not chosen:
        raise Invalid("WeCom handover: choose at least one customer")
    message = (message or "").strip() or None
    if message and kind is TransferKind.resigned:
        raise Invalid(
            "WeCom handover: a resigned member's inheritance cannot carry a message to the customer"
        )
    if message and len(message) > MESSAGE_MAX:
        raise Invalid(
            f"WeCom handover: the message is {len(message)} characters (WeCom allows {MESSAGE_MAX})"
        )
    handover = _staff(session, actor, handover_staff_id, "handover")
    takeover = _staff(session, actor, takeover_staff_id, "takeover")
    if takeover.status.value != "active":
        raise Invalid(f"WeCom handover: takeover member {takeover.name} has left; choose an active member")
    by_id = {c.customer_id: c for c in candidates(session, actor, handover_staff_id, now)}
    unknown = [c for c in chosen if c not in by_id]
    if unknown:
        raise Invalid(
            f"WeCom handover: customers {unknown[:10]} are not WeCom customers of {handover.name} within your scope"
        )
    batch = HandoverBatch(
        kind=kind,
        handover_staff_id=handover.id,
        takeover_staff_id=takeover.id,
        message=message,
        created_by_account_id=actor.account_id,
    )
    session.add(batch)
    session.flush()
    rows: list[dict[str, object]] = []
    allowed: list[Candidate] = []
    for cid in chosen:
        c = by_id[cid]
        reason = c.blocked_reason
        if reason:
            rows.append(_row(batch.id, c, now, TransferStatus.blocked, None, reason))
        else:
            allowed.append(c)
    assert handover.wecom_userid and takeover.wecom_userid
    for start in range(0, len(allowed), CHUNK):
        part = allowed[start : start + CHUNK]
        rows += _send_chunk(
            client, kind, handover.wecom_userid, takeover.wecom_userid, message, part, batch.id, now
        )
    session.execute(insert(HandoverTransfer), rows)
    batch.requested = sum(1 for r in rows if r["status"] == TransferStatus.requested)
    batch.blocked = sum(1 for r in rows if r["status"] == TransferStatus.blocked)
    audit(
        session,
        actor,
        "wecom.handover.start",
        "handover_batch",
        batch.id,
        {
            "kind": kind.value,
            "from_staff": handover.id,
            "to_staff": takeover.id,
            "chosen": len(chosen),
            "requested": batch.requested,
            "blocked": batch.blocked,
            "failed": len(rows) - batch.requested - batch.blocked,
        },
    )
    session.flush()
    return batch


def _row(
    batch_id: int,
    c: Candidate,
    now: datetime,
    status: TransferStatus,
    errcode: int | None,
    reason: str | None,
) -> dict[str, object]:
    return {
        "batch_id": batch_id,
        "customer_id": c.customer_id,
        "external_userid": c.external_userid,
        "status": status,
        "errcode": errcode,
        "reason": reason,
        "requested_at": now,
    }


def _send_chunk(
    client: WecomClient,
    kind: TransferKind,
    handover_userid: str,
    takeover_userid: str,
    message: str | None,
    part: list[Candidate],
    batch_id: int,
    now: datetime,
) -> list[dict[str, object]]:
    externals = [c.external_userid for c in part]
    try:
        if kind is TransferKind.onjob:
            items = client.transfer_customer(handover_userid, takeover_userid, externals, message)
        else:
            items = client.resigned_transfer_customer(handover_userid, takeover_userid, externals)
    except WecomError as exc:  # the whole call failed: every customer of the chunk failed with its code
        reason = f"{exc.api}: errcode {exc.errcode} {exc.errmsg}"[:200]
        return [_row(batch_id, c, now, TransferStatus.failed, exc.errcode, reason) for c in part]
    answer = {i.external_userid: i.errcode for i in items}
    out = []
    for c in part:
        code = answer.get(c.external_userid)
        if code == 0:
            out.append(_row(batch_id, c, now, TransferStatus.requested, 0, None))
        elif code is None:
            out.append(
                _row(batch_id, c, now, TransferStatus.failed, None, "WeCom did not answer for this customer")
            )
        else:
            out.append(_row(batch_id, c, now, TransferStatus.failed, code, f"WeCom refused: errcode {code}"))
    return out


def poll_transfers(
    session: Session, client: WecomClient, now: datetime, *, actor: Actor | None = None
) -> PollResult:
    """Read transfer_result for every batch with open transfers; done ones move the customer's membership."""
    result = PollResult()
    batch_rows = session.execute(
        select(
            HandoverBatch.id,
            HandoverBatch.kind,
            HandoverBatch.handover_staff_id,
            HandoverBatch.takeover_staff_id,
        )
        .where(
            HandoverBatch.id.in_(
                select(HandoverTransfer.batch_id).where(HandoverTransfer.status.in_(OPEN)).distinct()
            )
        )
        .order_by(HandoverBatch.id)
    ).all()
    if not batch_rows:
        return result
    staff_ids = {r.handover_staff_id for r in batch_rows} | {r.takeover_staff_id for r in batch_rows}
    userid: dict[int, str] = {
        sid: uid
        for sid, uid in session.execute(
            select(Staff.id, Staff.wecom_userid).where(any_of(session, Staff.id, sorted(staff_ids)))
        )
        if uid
    }
    # WeCom answers per (handover, takeover) pair, covering every batch between them: read each pair once.
    pairs: dict[tuple[int, int, TransferKind], list[int]] = defaultdict(list)
    for r in batch_rows:
        pairs[(r.handover_staff_id, r.takeover_staff_id, r.kind)].append(r.id)
    for (from_id, to_id, kind), batch_ids in pairs.items():
        if from_id not in userid or to_id not in userid:
            continue  # a member lost their WeCom userid since: nothing to ask WeCom about
        statuses: dict[str, tuple[int, int | None]] = {}
        calls_before = client.calls
        for page in client.iter_transfer_result(
            userid[from_id], userid[to_id], resigned=kind is TransferKind.resigned
        ):
            statuses.update({i.external_userid: (i.status, i.takeover_time) for i in page.items})
        result.api_calls += client.calls - calls_before
        result.batches += len(batch_ids)
        _apply_statuses(session, batch_ids, from_id, to_id, statuses, now, result)
    session.execute(
        update(HandoverBatch).where(HandoverBatch.id.in_([r.id for r in batch_rows])).values(checked_at=now)
    )
    if actor is not None:  # a person asked for it (console/API); the worker's polls are not audited
        detail = {"batches": result.batches, "moved": result.moved, **result.by_status}
        audit(session, actor, "wecom.handover.poll", "handover_batch", None, detail)
    session.flush()
    return result


def _apply_statuses(
    session: Session,
    batch_ids: list[int],
    from_id: int,
    to_id: int,
    statuses: dict[str, tuple[int, int | None]],
    now: datetime,
    result: PollResult,
) -> None:
    open_rows = session.scalars(
        select(HandoverTransfer).where(
            HandoverTransfer.batch_id.in_(batch_ids), HandoverTransfer.status.in_(OPEN)
        )
    ).all()
    done: list[tuple[int, datetime]] = []
    for t in open_rows:
        answer = statuses.get(t.external_userid)
        t.checked_at = now
        if answer is None:
            continue
        status = RESULT_STATUS.get(answer[0])
        if status is None or status == t.status:
            continue
        t.status = status
        result.by_status[status.value] += 1
        if status is TransferStatus.failed:
            t.reason = "WeCom: no relation between the handover member and the customer any more"
        if status is TransferStatus.done:
            t.takeover_at = datetime.fromtimestamp(answer[1], UTC) if answer[1] else now
            done.append((t.customer_id, t.takeover_at))
    if done:
        result.moved += move_memberships(session, from_id, to_id, done)


def move_memberships(session: Session, from_id: int, to_id: int, done: list[tuple[int, datetime]]) -> int:
    """The takeover member now follows these customers: close the old follow, open the new, move ownership."""
    m = ChannelMembership
    customer_ids = sorted({c for c, _ in done})
    at_of = dict(done)
    old = session.execute(
        select(m.id, m.customer_id, m.channel_code).where(
            m.channel == Channel.wecom,
            m.staff_id == from_id,
            m.left_at.is_(None),
            any_of(session, m.customer_id, customer_ids),
        )
    ).all()
    code_of = {r.customer_id: r.channel_code for r in old}
    # One UPDATE per distinct takeover time (usually one per poll), not one per customer.
    by_time: dict[datetime, list[int]] = defaultdict(list)
    for r in old:
        by_time[at_of[r.customer_id]].append(r.id)
    for at, ids in by_time.items():
        close_memberships(session, ids, LeaveReason.handover, at)
    already = set(
        session.scalars(
            select(m.customer_id).where(
                m.channel == Channel.wecom,
                m.staff_id == to_id,
                m.left_at.is_(None),
                any_of(session, m.customer_id, customer_ids),
            )
        )
    )
    new_customers = [c for c in customer_ids if c not in already]
    new = [
        # The channel code stays: attribution belongs to how the customer first came, not to who serves them.
        {
            "customer_id": c,
            "channel": Channel.wecom,
            "staff_id": to_id,
            "joined_at": at_of[c],
            "channel_code": code_of.get(c),
        }
        for c in new_customers
    ]
    ids = list(session.scalars(insert(m).returning(m.id, sort_by_parameter_order=True), new)) if new else []
    unit = session.scalar(select(Staff.unit_id).where(Staff.id == to_id))
    # "handed_over", not joined_channel: a handover is not a new join, so join-triggered journeys stay quiet.
    record_events(
        session,
        [
            NewEvent(
                kind="handed_over",
                occurred_at=at_of[c],
                customer_id=c,
                staff_id=to_id,
                unit_id=unit,
                subject_type="channel_membership",
                subject_id=mid,
                data={"channel": "wecom", "from_staff_id": from_id},
            )
            for mid, c in zip(ids, new_customers, strict=True)
        ],
    )
    session.execute(
        update(Customer)
        .where(any_of(session, Customer.id, customer_ids), Customer.owner_staff_id == from_id)
        .values(owner_staff_id=to_id)
        .execution_options(synchronize_session=False)
    )
    return len(customer_ids)


def poll_job(session: Session) -> dict[str, int]:
    """Worker job wecom.poll_transfers: read results while any transfer is open (no call otherwise)."""
    from siyu.wecom.credentials import client_for, load_app

    has_open = session.scalar(select(HandoverTransfer.id).where(HandoverTransfer.status.in_(OPEN)).limit(1))
    if has_open is None:
        return {"batches": 0}
    config = load_app(session)
    if config is None or not config.enabled:
        return {"batches": 0, "skipped": 1}
    with client_for(session) as client:
        result = poll_transfers(session, client, datetime.now(UTC))
    return {
        "batches": result.batches,
        "api_calls": result.api_calls,
        "moved": result.moved,
        **result.by_status,
    }


def register_handover_jobs() -> None:
    """Register wecom.poll_transfers (every 15 minutes; WeCom completes transfers within 24 h)."""
    from siyu.worker.jobs import register_job

    register_job("wecom.poll_transfers", 15 * 60, poll_job)
