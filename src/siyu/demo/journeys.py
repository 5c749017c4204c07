"""Demo journeys: the article templates copied, four activated over the last days' real events, engine run."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.journeys import definition_service as service
from siyu.journeys.definition_schemas import TemplateCopy
from siyu.journeys.definition_templates import get_template, suggest_scripts
from siyu.journeys.engine import process_due
from siyu.journeys.exits import scan_exits
from siyu.journeys.triggers import scan_triggers
from siyu.models import ChurnWarning, Event, Journey, Script, ScriptApproval
from siyu.models.journeys import JourneyStatus
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.timeutil import day_start_utc

ACTIVE = ("new_contact_10d", "post_purchase", "churn_recall", "birthday")
DRAFT = ("holiday_greeting", "group_warmup")
LOOKBACK_DAYS = 10  # the active journeys enrol from this many days of history before as_of
ENGINE_BATCHES = 40
# Bodies used only when the script library lacks a script a demo-activated template needs.
FALLBACK_BODIES = {
    "welcome": "{name}您好，我是{store}的{guide}，以后护肤和产品上的问题都可以直接问我～",
    "brand_story": "{name}，和您简单介绍一下我们：会员可享生日礼、积分兑换和专属顾问服务，有需要随时找{guide}。",
    "product_tips": "分享一个小知识：换季时先做好保湿再叠加功效产品，皮肤更稳定。您平时最关心哪方面？",
    "first_order_offer": "{name}，给您准备了一份新客首单礼{coupon}，到店或小程序都能用，7 天内有效。",
    "birthday_greeting": "{name}生日快乐！{store}为您准备了生日礼券{coupon}，祝新的一岁顺心如意～",
    "birthday_reminder": "{name}，提醒一下：您的生日礼券{coupon}还有几天到期，别错过哦。",
    "churn_recall": "{name}，好久没见您啦，最近还好吗？店里到了几款新品，想听听您的意见。",
    "post_purchase_thanks": "{name}，感谢您的信任！使用前记得先看说明，有任何问题都可以问{guide}。",
    "post_purchase_care": "{name}，用了一周感觉怎么样？有什么不适应的地方告诉我，我帮您调整用法。",
    "repurchase_reminder": "{name}，算着时间您的产品快用完了，需要的话我帮您留一份～",
}


def _ensure_scripts(session: Session, code: str, now: datetime) -> dict[str, int]:
    """{ref: script id} for a template, adding an approved fallback where the library has no match."""
    template = get_template(code)
    picks = suggest_scripts(session, template.refs)
    for ref in template.refs:
        if ref.ref in picks or ref.ref not in FALLBACK_BODIES:
            continue
        script = Script(
            title=ref.title,
            category=ref.category,
            scenario=ref.scenario,
            body=FALLBACK_BODIES[ref.ref],
            approval=ScriptApproval.approved,
            reviewed_at=now,
            search_text=f"{ref.title} {ref.scenario}".lower(),
        )
        session.add(script)
        session.flush()
        picks[ref.ref] = script.id
    return picks


def _rewind(session: Session, journey: Journey, trigger: str, since: datetime, today: date) -> None:
    # Start the scan LOOKBACK_DAYS back, so the demo journeys enrol from real recent history (the demo
    # writes events table by table, so ids are not in time order: the scan also drops older hits).
    if trigger == "churn_warning":
        query = select(func.min(ChurnWarning.id)).where(ChurnWarning.warned_on >= since.date())
        first = session.scalar(query)
        journey.trigger_watermark = (first - 1) if first else journey.trigger_watermark
    elif trigger == "birthday":
        journey.trigger_watermark = today.toordinal() - 7
    else:
        first = session.scalar(select(func.min(Event.id)).where(Event.occurred_at >= since))
        journey.trigger_watermark = (first - 1) if first else journey.trigger_watermark


def seed_journeys(session: Session, as_of: date) -> dict[str, int]:
    """Copy every template, activate four over the last days' events, run the engine; counts."""
    now = day_start_utc(as_of) + timedelta(hours=18)
    since = day_start_utc(as_of - timedelta(days=LOOKBACK_DAYS))
    counts = {
        "journeys": 0,
        "active": 0,
        "enrolled": 0,
        "steps_done": 0,
        "steps_skipped": 0,
        "steps_failed": 0,
    }
    for code in (*ACTIVE, *DRAFT):
        picks = _ensure_scripts(session, code, now) if code in ACTIVE else {}
        journey, missing = service.copy_template(
            session,
            SYSTEM_ACTOR,
            TemplateCopy(template_code=code, code=code.replace("_", "-"), scripts=picks),
        )
        counts["journeys"] += 1
        if code in ACTIVE and not missing:
            trigger = get_template(code).definition["trigger"]["kind"]
            service.change_status(session, SYSTEM_ACTOR, journey.id, JourneyStatus.active, now=since)
            _rewind(session, journey, trigger, since, as_of)
            counts["active"] += 1
    for _ in range(20):  # each scan reads a bounded slice of events: repeat until the watermarks stand still
        marks = session.execute(select(Journey.id, Journey.trigger_watermark)).all()
        scanned = scan_triggers(session, now, not_before=since)
        counts["enrolled"] += scanned.get("enrolled", 0)
        if session.execute(select(Journey.id, Journey.trigger_watermark)).all() == marks:
            break
    scan_exits(session, now)
    for _ in range(ENGINE_BATCHES):
        ran = process_due(session, now, worker_name="demo")
        counts["steps_done"] += ran["done"]
        counts["steps_skipped"] += ran["skipped"]
        counts["steps_failed"] += ran["failed"]
        if ran["claimed"] == 0:
            break
    session.flush()
    return counts
