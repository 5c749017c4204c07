"""The demo's compliance story: violating and evasive staff messages, detection over the last 30 days, reviews."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from siyu.compliance.engine import load_engine
from siyu.compliance.incidents_store import detect_stored
from siyu.compliance.review_service import review
from siyu.compliance.rules_service import install_defaults
from siyu.models import Account, ChatMessage, MessageDirection
from siyu.models.compliance import ChatRecall, DetectionRun, IncidentStatus, RunStatus, SensitiveIncident
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.org.tokens import actor_for_account
from siyu.timeutil import brand_zone

DETECT_DAYS = 30
MESSAGES = cast(Table, ChatMessage.__table__)
# What risky guides type, evasions included; False marks the hard negatives a good detector leaves alone.
VIOLATIONS: tuple[tuple[str, bool], ...] = (
    ("加我微信吧，私下聊价格更便宜", True),
    ("加ღ✿✿微ღ✿✿信，号码发你", True),
    ("我的v信是 lily_8866，加一下", True),
    ("直接打我电话 138 1234 5678", True),
    ("手机一三八一二三四五六七八，晚上联系", True),
    ("您打 ①③⑨-8888-6666 找我就行", True),
    ("别在店里下单了，转我支付宝 lily8866@163.com 就行", True),
    ("走私单给你打八折，别告诉店长", True),
    ("这单我帮你从别的渠道拿货，飞单更划算", True),
    ("我们这款保证收益，稳赚不赔", True),
    ("这款面霜能根治湿疹，包好", True),
    ("你是不是傻，这都听不懂", True),
    ("隔壁那家店更便宜，你去那边买吧", True),
    ("点这个链接下单更便宜 https://t.cn/A6xYz9Q", True),
    ("卡号 6222 0212 3456 7890 128，转账到这张卡", True),
    ("wx 搜 lily8866，加我", True),
    ("我手机是138", True),
    ("12345678，记一下", True),
    ("私聊我，给你内部价", True),
    ("zfb 转我就好，不用走系统", True),
    ("您可以用微信支付付款哦", False),
    ("您的订单号 138123456789012 已发货", False),
    ("门店电话在小程序首页可以看到", False),
    ("感谢您的支持，祝您生活愉快", False),
    ("本店支持支付宝和微信支付，欢迎到店", False),
    ("这款保湿效果很好，很多顾客回购", False),
)
# Reviewer decisions on the first detected incidents, in order: most confirmed, a few dismissed.
DECISIONS = (
    (IncidentStatus.confirmed, "核实为私下引流，已约谈"),
    (IncidentStatus.confirmed, "确认违规，记入考核"),
    (IncidentStatus.dismissed, "客户主动询问，非违规"),
    (IncidentStatus.confirmed, "确认违规"),
    (IncidentStatus.confirmed, "确认违规，已提醒"),
    (IncidentStatus.dismissed, "误报"),
    (IncidentStatus.confirmed, "确认违规"),
)


def _pairs(session: Session, since: datetime, count: int) -> list[Any]:
    """Staff–customer 1:1 threads active in the window, one per staff member, by staff id (deterministic)."""
    first = (
        select(func.min(MESSAGES.c.id))
        .where(MESSAGES.c.direction == MessageDirection.staff_to_customer, MESSAGES.c.sent_at >= since)
        .group_by(MESSAGES.c.staff_id)
    )
    return list(
        session.execute(
            select(
                MESSAGES.c.staff_id,
                MESSAGES.c.customer_id,
                MESSAGES.c.sender,
                MESSAGES.c.receivers,
            )
            .where(MESSAGES.c.id.in_(first))
            .order_by(MESSAGES.c.staff_id)
            .limit(count)
        )
    )


def _add_messages(session: Session, as_of: date) -> int:
    """Write the scripted staff messages into real threads over the last days before as_of."""
    zone = brand_zone()
    since = datetime.combine(as_of - timedelta(days=DETECT_DAYS), time(0), tzinfo=zone)
    pairs = _pairs(session, since, 12)
    if not pairs:
        return 0
    rows = []
    repeats = 2  # each line twice, from different guides on different days: a few dozen in all
    for k in range(len(VIOLATIONS) * repeats):
        text, _ = VIOLATIONS[k % len(VIOLATIONS)]
        # The split phone number (我手机是138 / 12345678) stays in one thread, a minute apart.
        split_second = text.startswith("12345678")
        base = k - 1 if split_second else k
        pair = pairs[base % len(pairs)]
        day = as_of - timedelta(days=1 + base % (DETECT_DAYS - 2))
        at = datetime.combine(day, time(10 + base % 9, 7 + (1 if split_second else 0)), tzinfo=zone)
        rows.append(
            {
                "msgid": f"demo-compliance-{k:03d}",
                "sender": pair.sender,
                "receivers": pair.receivers,
                "room_id": None,
                "direction": MessageDirection.staff_to_customer,
                "staff_id": pair.staff_id,
                "customer_id": pair.customer_id,
                "group_id": None,
                "msg_type": "text",
                "text": text,
                "sent_at": at,
            }
        )
    session.execute(MESSAGES.insert(), rows)
    # The first scripted message is withdrawn (撤回) ninety seconds later, as the archive reports it.
    recalled_at = rows[0]["sent_at"] + timedelta(seconds=90)
    session.add(
        ChatRecall(msgid="demo-compliance-recall-000", pre_msgid=rows[0]["msgid"], recalled_at=recalled_at)
    )
    session.execute(
        update(MESSAGES).where(MESSAGES.c.msgid == rows[0]["msgid"]).values(recalled_at=recalled_at)
    )
    return len(rows)


def seed_compliance(session: Session, as_of: date) -> dict[str, int]:
    """Default rules, scripted messages, detection over the last 30 days, and a reviewer's first decisions."""
    installed = install_defaults(session, SYSTEM_ACTOR)
    added = _add_messages(session, as_of)
    since = datetime.combine(as_of - timedelta(days=DETECT_DAYS), time(0), tzinfo=brand_zone())
    ids = list(
        session.scalars(select(ChatMessage.id).where(ChatMessage.sent_at >= since).order_by(ChatMessage.id))
    )
    outcome = detect_stored(session, ids, load_engine(session))
    # Recorded as a finished run, as the console's detection-run page shows re-detections.
    session.add(
        DetectionRun(
            status=RunStatus.succeeded,
            total=len(ids),
            processed=len(ids),
            incidents_found=outcome.incidents,
            last_message_id=ids[-1] if ids else 0,
            finished_at=datetime.combine(as_of, time(0), tzinfo=brand_zone()),
        )
    )
    reviewer = session.scalar(select(Account).where(Account.username == "lead"))
    reviewed = 0
    if reviewer is not None:
        actor = actor_for_account(session, reviewer)
        first = session.scalars(
            select(SensitiveIncident.id)
            .where(SensitiveIncident.status == IncidentStatus.open)
            .order_by(SensitiveIncident.occurred_at, SensitiveIncident.id)
            .limit(len(DECISIONS))
        ).all()
        for incident_id, (status, note) in zip(first, DECISIONS, strict=False):
            review(session, actor, incident_id, status, note)
            reviewed += 1
    return {
        "rules": installed["rules"],
        "messages_added": added,
        "messages_checked": outcome.messages,
        "incidents": outcome.incidents,
        "reviewed": reviewed,
    }
