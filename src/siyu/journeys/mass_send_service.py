"""Mass sends (群发): create, list, detail with live result counts, cancel; audited, never committing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.channels.contract import adapter_names
from siyu.customers.repository import readable_ids
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.journeys.mass_send_schemas import MassSendCreate, MassSendOut, ResultCounts
from siyu.models import ChatGroup, Experiment, MassSend, OutboundMessage, Script, Segment
from siyu.models.journeys import MassSendStatus, ScriptApproval
from siyu.org.permissions import Actor

SOURCE: Literal["mass_send"] = "mass_send"


def customer_key(mass_send_id: int, customer_id: int) -> str:
    """The idempotency key of the touch to one customer (a rerun never sends twice)."""
    return f"mass:{mass_send_id}:c{customer_id}"


def group_key(mass_send_id: int, group_id: int) -> str:
    """The idempotency key of the touch to one group."""
    return f"mass:{mass_send_id}:g{group_id}"


def get_mass_send(session: Session, mass_send_id: int) -> MassSend:
    """The mass send, or NotFound."""
    row = session.get(MassSend, mass_send_id)
    if row is None:
        raise NotFound(f"mass send {mass_send_id} does not exist")
    return row


def check_request(session: Session, actor: Actor, data: MassSendCreate) -> None:
    """Invalid unless the script is approved, the channel known and the audience's references exist."""
    if not actor.may_write:
        raise Forbidden(f"role {actor.role.value!r} may not create mass sends")
    approval = session.scalar(select(Script.approval).where(Script.id == data.script_id))
    if approval is None:
        raise Invalid(f"script_id: script {data.script_id} does not exist")
    if ScriptApproval(approval) != ScriptApproval.approved:
        raise Invalid(
            f"script_id: script {data.script_id} is {ScriptApproval(approval).value}; only approved scripts are sent"
        )
    if data.channel not in adapter_names():
        raise Invalid(
            f"channel: {data.channel!r} is not a channel adapter (known: {', '.join(adapter_names())})"
        )
    if data.audience_kind == "segment":
        archived = session.execute(select(Segment.archived_at).where(Segment.id == data.segment_id)).first()
        if archived is None:
            raise Invalid(f"segment_id: segment {data.segment_id} does not exist")
        if archived[0] is not None:
            raise Invalid(f"segment_id: segment {data.segment_id} is archived")
    if data.audience_kind == "groups":
        found = set(session.scalars(select(ChatGroup.id).where(ChatGroup.id.in_(set(data.group_ids)))))
        missing = sorted(set(data.group_ids) - found)
        if missing:
            raise Invalid(f"group_ids: group(s) {missing[:10]} do not exist")
    if data.audience_kind == "customers":
        readable = readable_ids(session, actor, data.customer_ids)
        hidden = sorted(set(data.customer_ids) - readable)
        if hidden:
            raise Invalid(
                f"customer_ids: {len(hidden)} customer(s) do not exist or are outside your data scope, e.g. {hidden[:5]}"
            )
    if data.experiment_id is not None and session.get(Experiment, data.experiment_id) is None:
        raise Invalid(f"experiment_id: experiment {data.experiment_id} does not exist")


def create_mass_send(session: Session, actor: Actor, data: MassSendCreate, now: datetime) -> MassSend:
    """A scheduled mass send (scheduled_at None = due at once; the worker job sends it)."""
    check_request(session, actor, data)
    when = data.scheduled_at or now
    row = MassSend(
        name=data.name,
        script_id=data.script_id,
        channel=data.channel,
        audience_kind=data.audience_kind,
        segment_id=data.segment_id if data.audience_kind == "segment" else None,
        group_ids=sorted(set(data.group_ids)) if data.audience_kind == "groups" else None,
        customer_ids=sorted(set(data.customer_ids)) if data.audience_kind == "customers" else None,
        experiment_id=data.experiment_id,
        status=MassSendStatus.scheduled,
        scheduled_at=when,
        created_by_account_id=actor.account_id,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        actor,
        "mass_send.create",
        "mass_send",
        row.id,
        {
            "name": data.name,
            "script_id": data.script_id,
            "audience": data.audience_kind,
            "at": when.isoformat(),
        },
    )
    return row


def cancel_mass_send(session: Session, actor: Actor, mass_send_id: int) -> MassSend:
    """Cancel a mass send that has not started; Conflict once it runs or ran."""
    if not actor.may_write:
        raise Forbidden(f"role {actor.role.value!r} may not cancel mass sends")
    row = get_mass_send(session, mass_send_id)
    if row.status not in (MassSendStatus.draft, MassSendStatus.scheduled):
        raise Conflict(
            f"mass send {mass_send_id} is {row.status.value}; only a draft or scheduled one can be cancelled"
        )
    row.status = MassSendStatus.cancelled
    session.flush()
    audit(session, actor, "mass_send.cancel", "mass_send", row.id, {"name": row.name})
    return row


def retry_mass_send(session: Session, actor: Actor, mass_send_id: int, now: datetime) -> MassSend:
    """Schedule a failed mass send again, due now with fresh attempts; Conflict unless it failed."""
    if not actor.may_write:
        raise Forbidden(f"role {actor.role.value!r} may not retry mass sends")
    row = get_mass_send(session, mass_send_id)
    if row.status != MassSendStatus.failed:
        raise Conflict(f"mass send {mass_send_id} is {row.status.value}; only a failed one can be retried")
    audit(
        session,
        actor,
        "mass_send.retry",
        "mass_send",
        row.id,
        {"attempts": row.attempts, "error": row.last_error},
    )
    row.status = MassSendStatus.scheduled
    row.scheduled_at = now
    row.attempts = 0
    row.retry_at = None
    row.finished_at = None
    session.flush()
    return row


def result_counts(session: Session, mass_send_ids: Sequence[int]) -> dict[int, ResultCounts]:
    """Outbound rows of each mass send by status (one GROUP BY)."""
    out = {i: ResultCounts() for i in mass_send_ids}
    if not mass_send_ids:
        return out
    rows = session.execute(
        select(OutboundMessage.source_id, OutboundMessage.status, func.count())
        .where(
            OutboundMessage.source_type == SOURCE,
            OutboundMessage.source_id.in_(list(mass_send_ids)),
            # Only rows the send itself wrote (keys mass:<id>:…): other writers cannot inflate its counts.
            OutboundMessage.idempotency_key.like("mass:%"),
        )
        .group_by(OutboundMessage.source_id, OutboundMessage.status)
    ).all()
    for source_id, status, n in rows:
        setattr(out[int(source_id or 0)], str(getattr(status, "value", status)), int(n))
    return out


def _out(row: MassSend, counts: ResultCounts) -> MassSendOut:
    return MassSendOut(
        id=row.id,
        name=row.name,
        script_id=row.script_id,
        channel=row.channel,
        audience_kind=row.audience_kind,
        segment_id=row.segment_id,
        group_ids=row.group_ids,
        customer_ids_count=len(row.customer_ids or ()),
        experiment_id=row.experiment_id,
        status=row.status.value,
        scheduled_at=row.scheduled_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        audience_count=row.audience_count,
        attempts=row.attempts,
        last_error=row.last_error,
        retry_at=row.retry_at,
        results=counts,
    )


def list_mass_sends(session: Session, limit: int = 200) -> list[MassSendOut]:
    """The latest mass sends, newest first, with live result counts."""
    rows = list(session.scalars(select(MassSend).order_by(MassSend.id.desc()).limit(limit)))
    counts = result_counts(session, [r.id for r in rows])
    return [_out(r, counts[r.id]) for r in rows]


def mass_send_detail(session: Session, mass_send_id: int) -> MassSendOut:
    """One mass send with live result counts."""
    row = get_mass_send(session, mass_send_id)
    return _out(row, result_counts(session, [row.id])[row.id])
