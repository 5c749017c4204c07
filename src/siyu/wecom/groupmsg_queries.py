"""Read side of platform mass sends: the list with per-staff confirmation, and one template's per-recipient rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.customers.repository import readable
from siyu.errors import NotFound
from siyu.models import ChatGroup, Customer, OutboundMessage, Staff
from siyu.models.wecom import WecomGroupMessage
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor
from siyu.wecom.groupmsg_service import rows_of

DETAIL_ROWS = 500


class MassSendRow(BaseModel):
    """One platform template as listed: sender, confirmation, platform counts (also the API's answer)."""

    model_config = ConfigDict(frozen=True)

    id: int
    msgid: str
    chat_type: str
    staff_id: int | None
    staff_name: str | None
    source_type: str
    source_id: int | None
    text: str | None
    recipients: int
    staff_status: str
    staff_sent_at: datetime | None
    sent_count: int
    not_friend_count: int
    over_limit_count: int
    reminded_count: int
    last_reminded_at: datetime | None
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class MassSendDetail:
    """One template, its outbound rows by status (brute-force reconcilable) and the first recipients."""

    row: MassSendRow
    by_status: dict[str, int]
    recipients: list[dict[str, object]]
    more: int


def _rows(
    session: Session, actor: Actor, *, message_id: int | None = None, limit: int = 100
) -> list[MassSendRow]:
    stmt = (
        select(WecomGroupMessage, Staff.name)
        .outerjoin(Staff, Staff.id == WecomGroupMessage.staff_id)
        .where((WecomGroupMessage.staff_id.is_(None)) | org_repo.readable_staff(actor))
        .order_by(WecomGroupMessage.created_at.desc(), WecomGroupMessage.id.desc())
        .limit(limit)
    )
    if message_id is not None:
        stmt = stmt.where(WecomGroupMessage.id == message_id)
    fields = [f for f in MassSendRow.model_fields if f != "staff_name"]
    return [
        MassSendRow(staff_name=name, **{f: getattr(m, f) for f in fields})
        for m, name in session.execute(stmt)
    ]


def list_mass_sends(session: Session, actor: Actor, limit: int = 100) -> list[MassSendRow]:
    """The latest platform templates whose sender is in the actor's scope."""
    return _rows(session, actor, limit=limit)


def mass_send_detail(session: Session, actor: Actor, message_id: int) -> MassSendDetail:
    """One template: outbound rows counted by status, and the first recipients (customers in scope) with theirs."""
    found = _rows(session, actor, message_id=message_id, limit=1)
    if not found:
        raise NotFound(f"WeCom mass send {message_id} does not exist in your scope")
    row = found[0]
    by_status = {
        str(status): int(n)
        for status, n in session.execute(
            select(OutboundMessage.status, func.count())
            .where(*rows_of(row.msgid, row.source_type, row.source_id), OutboundMessage.channel == "wecom")
            .group_by(OutboundMessage.status)
        )
    }
    if row.chat_type == "single":
        stmt = (
            select(OutboundMessage.customer_id, Customer.name, OutboundMessage.status, OutboundMessage.reason,
                   OutboundMessage.sent_at)
            .join(Customer, Customer.id == OutboundMessage.customer_id)
            .where(*rows_of(row.msgid, row.source_type, row.source_id), readable(actor))
        )  # fmt: skip
    else:
        stmt = (
            select(OutboundMessage.group_id, ChatGroup.name, OutboundMessage.status, OutboundMessage.reason,
                   OutboundMessage.sent_at)
            .join(ChatGroup, ChatGroup.id == OutboundMessage.group_id)
            .where(*rows_of(row.msgid, row.source_type, row.source_id))
        )  # fmt: skip
    rows = session.execute(stmt.order_by(OutboundMessage.id).limit(DETAIL_ROWS + 1)).all()
    recipients: list[dict[str, object]] = [
        {"id": r[0], "name": r[1], "status": str(r[2]), "reason": r[3], "sent_at": r[4]}
        for r in rows[:DETAIL_ROWS]
    ]
    total = sum(by_status.values())
    return MassSendDetail(row, by_status, recipients, max(0, total - len(recipients)))
