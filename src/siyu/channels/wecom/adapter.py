"""The WeCom adapter: touches become platform mass-send templates (add_msg_template) the sender confirms in WeCom.

One template per (sender, chat type, text, attachments, source), in chunks WeCom accepts; each template gets a
WecomGroupMessage row and one confirm task for the sender. Per-customer results arrive later through
siyu.wecom.groupmsg_service (get_groupmsg_send_result), which updates the outbound rows by msgid.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.channels.contract import Delivery, DeliveryResult, register_adapter
from siyu.channels.wecom.client import WecomClient
from siyu.channels.wecom.errors import WecomError
from siyu.channels.wecom.schemas import MsgTemplateRequest
from siyu.db.bulk import any_of
from siyu.errors import SiyuError
from siyu.models import ChatGroup, CustomerIdentity, Staff, StaffTask
from siyu.models.customers import IdentityKind
from siyu.models.enums import TaskStatus
from siyu.models.wecom import WecomGroupMessage

log = logging.getLogger(__name__)

ClientFactory = Callable[[Session], WecomClient]
FACTORY_MODULE = "siyu.wecom.groupmsg_service"
TASK_KIND = "send_message"  # the inbox lists it under "Messages to send"
SINGLE_CHUNK = 10_000  # external_userid per template (DOC/92135)
GROUP_CHUNK = 2_000  # chat_id_list per template
NOT_FRIEND = "not a friend of the sender on WeCom (add_msg_template fail_list)"


def confirm_task_key(msgid: str) -> str:
    """The confirm task's idempotency key for one platform template."""
    return f"wecom-msg:{msgid}"[:160]


def to_wecom_attachments(attachments: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Script attachments (kind/ref/title) in WeCom's attachment format; at most 9, unknown kinds skipped."""
    out: list[dict[str, Any]] = []
    for a in attachments:
        kind, ref, title = a.get("kind"), str(a.get("ref") or ""), a.get("title") or ""
        if kind == "image":
            image = {"pic_url": ref} if ref.startswith("http") else {"media_id": ref}
            out.append({"msgtype": "image", "image": image})
        elif kind == "link":
            out.append({"msgtype": "link", "link": {"title": title or ref, "url": ref}})
        elif kind == "miniprogram" and "/" in ref:
            appid, page = ref.split("/", 1)
            out.append(
                {"msgtype": "miniprogram", "miniprogram": {"title": title, "appid": appid, "page": page}}
            )
        elif "msgtype" in a:  # already in WeCom's shape
            out.append(dict(a))
    return out[:9]


@dataclass
class _Bucket:
    """Deliveries that can share one template: same sender, chat type, text, attachments and source."""

    staff_id: int
    userid: str
    chat_type: str
    text: str
    attachments: list[dict[str, Any]]
    source_type: str
    source_id: int | None
    items: list[tuple[Delivery, str]] = field(default_factory=list)  # (delivery, external userid or chat id)


def _title(text: str, recipients: int) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    head = f"在企业微信确认群发（{recipients} 位）"
    return (f"{head}：{first}" if first else head)[:200]


class WecomAdapter:
    """Creates platform mass-send templates; deliveries stay queued until WeCom reports per-customer results."""

    name = "wecom"

    def __init__(
        self, client_factory: ClientFactory | None = None, task_window: timedelta = timedelta(hours=24)
    ):
        self.client_factory = client_factory
        self.task_window = task_window

    def deliver(
        self, session: Session, deliveries: Sequence[Delivery], now: datetime
    ) -> list[DeliveryResult]:
        """One result per delivery: queued with the msgid, or failed naming why (never raises for one touch)."""
        results: dict[int, DeliveryResult] = {}
        buckets = self._bucket(session, deliveries, results)
        if buckets:
            self._send(session, buckets, results, now)
        return [results[d.outbound_id] for d in deliveries]

    def _bucket(
        self, session: Session, deliveries: Sequence[Delivery], results: dict[int, DeliveryResult]
    ) -> list[_Bucket]:
        staff_ids = {d.staff_id for d in deliveries if d.staff_id is not None}
        customer_ids = {d.customer_id for d in deliveries if d.customer_id is not None}
        group_ids = {d.group_id for d in deliveries if d.group_id is not None}
        userid_of: dict[int, str] = {}
        if staff_ids:
            userid_of = {
                sid: uid
                for sid, uid in session.execute(
                    select(Staff.id, Staff.wecom_userid).where(
                        any_of(session, Staff.id, staff_ids), Staff.wecom_userid.is_not(None)
                    )
                )
                if uid
            }
        external_of: dict[int, str] = {}
        if customer_ids:
            rows = session.execute(
                select(CustomerIdentity.customer_id, CustomerIdentity.value)
                .where(
                    CustomerIdentity.kind == IdentityKind.wecom_external_userid,
                    any_of(session, CustomerIdentity.customer_id, customer_ids),
                )
                .order_by(CustomerIdentity.customer_id, CustomerIdentity.value)
            )
            for cid, value in rows:
                external_of.setdefault(cid, value)  # several: the first, deterministically
        chat_of: dict[int, str] = {}
        if group_ids:
            chat_of = dict(
                session.execute(
                    select(ChatGroup.id, ChatGroup.external_id).where(
                        any_of(session, ChatGroup.id, group_ids)
                    )
                ).all()
            )
        buckets: dict[tuple[int, str, str, str, str, int | None], _Bucket] = {}
        for d in deliveries:
            fail = self._why_not(d, userid_of, external_of, chat_of)
            if fail:
                results[d.outbound_id] = DeliveryResult(d.outbound_id, "failed", reason=fail)
                continue
            assert d.staff_id is not None
            chat_type = "single" if d.customer_id is not None else "group"
            target = external_of[d.customer_id] if d.customer_id is not None else chat_of[d.group_id or 0]
            attachments = to_wecom_attachments(d.attachments)
            # The source is part of the key so a template's rows are found by (source, msgid) on an index.
            shape = json.dumps(attachments, sort_keys=True, ensure_ascii=False)
            key = (d.staff_id, chat_type, d.text, shape, d.source_type, d.source_id)
            bucket = buckets.get(key)
            if bucket is None:
                bucket = buckets[key] = _Bucket(
                    d.staff_id,
                    userid_of[d.staff_id],
                    chat_type,
                    d.text,
                    attachments,
                    d.source_type,
                    d.source_id,
                )
            bucket.items.append((d, target))
        return list(buckets.values())

    @staticmethod
    def _why_not(
        d: Delivery, userid_of: dict[int, str], external_of: dict[int, str], chat_of: dict[int, str]
    ) -> str | None:
        if d.staff_id is None:
            return "no sender: the touch has no staff member to send it on WeCom"
        if d.staff_id not in userid_of:
            return f"staff {d.staff_id} has no WeCom userid (set it or run the WeCom sync)"
        if d.customer_id is not None:
            if d.customer_id not in external_of:
                return f"customer {d.customer_id} has no WeCom external userid (not a WeCom contact)"
            return None
        if d.group_id is not None:
            if d.group_id not in chat_of:
                return f"group {d.group_id} has no WeCom chat id"
            return None
        return "no recipient: neither a customer nor a group"

    def _send(
        self, session: Session, buckets: list[_Bucket], results: dict[int, DeliveryResult], now: datetime
    ) -> None:
        def fail_all(reason: str) -> None:
            for b in buckets:
                for d, _target in b.items:
                    results.setdefault(d.outbound_id, DeliveryResult(d.outbound_id, "failed", reason=reason))

        if self.client_factory is None:
            # siyu.wecom installs the factory (configured app, shared tokens) on import; loading it by name keeps
            # this protocol layer free of a static dependency on the product package.
            importlib.import_module(FACTORY_MODULE)
        if self.client_factory is None:
            fail_all(f"WeCom client unavailable: {FACTORY_MODULE} did not install a client factory")
            return
        try:
            client = self.client_factory(session)
        except SiyuError as exc:
            fail_all(str(exc))
            return
        with client:
            for b in buckets:
                size = SINGLE_CHUNK if b.chat_type == "single" else GROUP_CHUNK
                for start in range(0, len(b.items), size):
                    self._template(session, client, b, b.items[start : start + size], results, now)
        session.flush()  # a duplicate msgid surfaces here, inside the caller's transaction

    def _template(
        self,
        session: Session,
        client: WecomClient,
        b: _Bucket,
        items: list[tuple[Delivery, str]],
        results: dict[int, DeliveryResult],
        now: datetime,
    ) -> None:
        targets = list(dict.fromkeys(t for _d, t in items))
        request = MsgTemplateRequest(
            chat_type=b.chat_type,
            external_userid=targets if b.chat_type == "single" else [],
            chat_id_list=targets if b.chat_type == "group" else [],
            sender=b.userid,
            text=b.text,
            attachments=b.attachments,
        )
        try:
            created = client.add_msg_template(request)
        except WecomError as exc:
            reason = f"WeCom add_msg_template errcode {exc.errcode}: {exc.errmsg}"
            for d, _t in items:
                results[d.outbound_id] = DeliveryResult(d.outbound_id, "failed", reason=reason)
            log.warning("wecom adapter: template for staff %s failed: %s", b.staff_id, reason)
            return
        refused = set(created.fail_list)
        accepted = [t for t in targets if t not in refused]
        task_id = None
        if accepted:
            task = StaffTask(
                kind=TASK_KIND,
                title=_title(b.text, len(accepted)),
                staff_id=b.staff_id,
                due_at=now + self.task_window,
                status=TaskStatus.open,
                origin=f"wecom:{b.source_type}"[:64],
                body=b.text,
                idempotency_key=confirm_task_key(created.msgid),
                created_at=now,
            )
            session.add(task)
            session.flush()
            task_id = task.id
        session.add(
            WecomGroupMessage(
                msgid=created.msgid,
                chat_type=b.chat_type,
                staff_id=b.staff_id,
                source_type=b.source_type,
                source_id=b.source_id,
                text=b.text,
                recipients=len(accepted),
                task_id=task_id,
                staff_status="pending" if accepted else "cancelled",
                created_at=now,
                closed_at=None if accepted else now,
            )
        )
        for d, target in items:
            if target in refused:
                results[d.outbound_id] = DeliveryResult(
                    d.outbound_id, "failed", reason=NOT_FRIEND, external_id=created.msgid
                )
            else:
                # No task_id on the row: marking the confirm task done by hand must not confirm rows WeCom may
                # still report as not a friend or over the limit; the platform's per-recipient result decides.
                results[d.outbound_id] = DeliveryResult(d.outbound_id, "queued", external_id=created.msgid)


WECOM = WecomAdapter()
register_adapter(WECOM)


def set_client_factory(factory: ClientFactory | None) -> None:
    """Give the registered adapter its client source (siyu.wecom does, with the configured app)."""
    WECOM.client_factory = factory
