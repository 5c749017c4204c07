"""The demo's script library (话术库) for a mother-and-baby brand, and the content packs of the last week.

Deterministic: every time comes from as_of, usage counts from a seeded generator. J2's journey templates
find their scripts by the titles in DEMO_SCRIPT_KEYS (the same titles as journeys/templates_data.json).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.db.bulk import datetime_adapter, insert_rows
from siyu.events import EVENT_COLUMNS
from siyu.journeys import content_pack_service as packs
from siyu.journeys.scripts_repository import search_text_of
from siyu.models import ContentPack, Event, Script, ScriptApproval, Staff, StaffTask, TaskStatus
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.timeutil import brand_zone, day_start_utc

# Stable keys → titles the journey templates (J2) and other seeds refer to.
DEMO_SCRIPT_KEYS: dict[str, str] = {
    "welcome": "新客欢迎语",
    "brand_story": "品牌故事与会员权益",
    "product_tips": "产品知识小贴士",
    "first_order_offer": "新客首单礼",
    "welcome_d10": "新客第10天导购回访",
    "holiday_greeting": "节日问候",
    "birthday_greeting": "生日祝福",
    "birthday_reminder": "生日礼券到期提醒",
    "churn_recall": "老客回访召回",
    "post_purchase_thanks": "购后感谢与使用指南",
    "post_purchase_care": "购后使用回访",
    "repurchase_reminder": "复购提醒",
    "group_welcome": "入群欢迎与群规",
    "group_tip": "群内干货分享",
    "group_interaction": "群内互动话题",
    "group_first_offer": "群专属福利",
}
_K = DEMO_SCRIPT_KEYS
_D = ScriptApproval.draft
_P = ScriptApproval.pending
_R = ScriptApproval.rejected
_A = ScriptApproval.approved
# (title, category, scenario, body, approval); a variant row is (..., parent title, label).
LIBRARY: list[tuple[str, str, str, str, ScriptApproval]] = [
    (
        _K["welcome"],
        "welcome",
        "新客第0天",
        "{name}您好！我是{store}的育儿顾问{guide}，很高兴认识您～宝宝的喂养、护理、选品有任何问题都可以随时问我，我会在这里一直陪着您。",
        _A,
    ),
    (
        _K["brand_story"],
        "welcome",
        "新客第1天",
        "{name}，和您简单介绍下我们：十二年只做母婴好物，每一件都过了三道质检。成为会员即享积分抵现、生日礼和专属顾问服务，回复“会员”我帮您开通。",
        _A,
    ),
    (
        _K["product_tips"],
        "product",
        "新客第3天",
        "{name}，换季宝宝容易干痒，分享一个小贴士：洗澡水温37℃左右、时间不超过10分钟，洗完3分钟内涂保湿霜效果最好。需要的话我给您推荐适合的款～",
        _A,
    ),
    (
        _K["first_order_offer"],
        "follow_up",
        "新客第7天",
        "{name}，给您留了一份新客首单礼：{coupon}，7天内有效，在{store}或小程序都能用。有想了解的商品直接发我就好。",
        _A,
    ),
    (
        _K["welcome_d10"],
        "follow_up",
        "新客第10天",
        "{name}，认识快两周啦，最近宝宝怎么样？我是{guide}，有什么想买或想问的都可以找我，不打扰您的话我就偶尔分享些育儿干货～",
        _A,
    ),
    (
        _K["holiday_greeting"],
        "holiday",
        "节日",
        "{name}，节日快乐！感谢一直以来对{store}的信任，祝您和宝宝平安喜乐。——{guide}",
        _A,
    ),
    (
        "中秋问候",
        "holiday",
        "中秋节",
        "{name}，中秋快乐！月圆人团圆，愿宝宝健康长大。{store}全体伙伴祝您阖家幸福～",
        _A,
    ),
    (
        "春节问候",
        "holiday",
        "春节",
        "{name}，新春快乐！新的一年祝宝宝茁壮成长、全家身体健康。春节期间门店照常营业，有需要随时找{guide}。",
        _A,
    ),
    (
        "母亲节问候",
        "holiday",
        "母亲节",
        "{name}，母亲节快乐！当妈妈辛苦啦，今天也记得好好照顾自己。{store}为您准备了一份小礼物，到店即可领取。",
        _A,
    ),
    (
        "儿童节问候",
        "holiday",
        "六一儿童节",
        "六一快乐！祝小宝贝天天开心～{store}这周有亲子手工活动，{name}有空可以带宝宝来玩。",
        _P,
    ),
    (
        _K["birthday_greeting"],
        "birthday",
        "生日当天",
        "{name}，生日快乐！🎂 {store}为您准备了生日礼券：{coupon}，本月内有效。愿新的一岁一切顺遂～",
        _A,
    ),
    (
        "宝宝生日祝福",
        "birthday",
        "宝宝生日",
        "{name}，今天是宝宝的生日吧？祝小寿星健康快乐！送上宝宝生日礼：{coupon}，带宝宝来{store}还能拍一张生日照哦。",
        _A,
    ),
    (
        _K["birthday_reminder"],
        "birthday",
        "生日后第3天",
        "{name}，提醒一下：您的生日礼券{coupon}还有几天就到期啦，别浪费了～需要我帮您留货吗？",
        _A,
    ),
    (
        _K["churn_recall"],
        "recall",
        "流失预警",
        "{name}，好久没见您啦，宝宝最近还好吗？我是{store}的{guide}，最近到了几款新品很适合这个月龄，给您留了一份试用装，方便的时候过来拿。",
        _A,
    ),
    (
        "沉睡老客召回·专属券",
        "recall",
        "沉睡90天",
        "{name}，好久不见！特意给您申请了老客回归券{coupon}，本周内有效，想要什么可以直接告诉我，我帮您备好。",
        _A,
    ),
    (
        "奶粉段位升级提醒",
        "recall",
        "奶粉换段",
        "{name}，按宝宝的月龄算，差不多该考虑换段了。换段建议新旧混合过渡一周，需要的话{guide}帮您搭配。",
        _A,
    ),
    (
        _K["repurchase_reminder"],
        "recall",
        "购后第30天",
        "{name}，上次买的纸尿裤差不多快用完了吧？这周会员价还有{coupon}，需要我帮您下单送到家吗？",
        _A,
    ),
    (
        _K["post_purchase_thanks"],
        "after_sale",
        "购后第1天",
        "{name}，感谢您在{store}的选购！使用前请先看下说明书，有任何问题随时找我{guide}，我都在。",
        _A,
    ),
    (
        _K["post_purchase_care"],
        "after_sale",
        "购后第7天",
        "{name}，宝宝用了一周感觉怎么样？如果有不合适的地方告诉我，我们支持7天无理由，您放心。",
        _A,
    ),
    (
        "售后问题安抚",
        "after_sale",
        "客诉跟进",
        "{name}，非常抱歉给您带来不好的体验。这件事我已经报给店长，今天内一定给您答复，您先别着急。",
        _A,
    ),
    (
        "退换货指引",
        "after_sale",
        "退换货",
        "{name}，退换货可以直接到{store}办理，或在小程序“我的订单”里申请，快递上门取件，运费我们承担。",
        _A,
    ),
    (
        "新品到店通知",
        "product",
        "新品上市",
        "{name}，新品到店！有机棉婴儿连体衣秋冬款，面料更软更厚，{store}可以先摸摸看，给您留了尺码。",
        _A,
    ),
    (
        "辅食添加指南",
        "product",
        "6月龄",
        "{name}，宝宝满6个月可以开始添加辅食啦：先从高铁米粉开始，一次只加一种新食物，观察3天没有过敏再换下一种。",
        _A,
    ),
    (
        "会员日预告",
        "promotion",
        "会员日",
        "{name}，本周六是会员日：全场95折，积分双倍，还有{coupon}可以叠加。提前帮您看好要买的吗？",
        _A,
    ),
    (
        "双十一囤货提醒",
        "promotion",
        "大促",
        "{name}，双十一囤货清单我帮您整理好了：纸尿裤、湿巾、洗护三件套，今年会员再减{coupon}，要不要我发您看看？",
        _A,
    ),
    (
        "满减活动通知",
        "promotion",
        "周末活动",
        "{name}，这个周末{store}满299减50，和会员折扣可以同享，适合囤奶粉和纸尿裤。",
        _R,
    ),
    (
        "朋友圈：秋冬护肤",
        "moments",
        "内容包",
        "秋冬干燥，宝宝小脸容易起皮😢 {guide}每天都在用的三步护理：温水洗、轻拍干、厚涂霜。{store}新到的保湿霜欢迎来试～",
        _A,
    ),
    (
        "朋友圈：会员日",
        "moments",
        "内容包",
        "【会员日倒计时】本周六全场95折＋积分双倍！想要的宝贝先私信{guide}，帮您提前留货👍",
        _A,
    ),
    (
        "朋友圈：育儿讲座",
        "moments",
        "内容包",
        "本周日下午{store}请来儿科医生讲“秋冬宝宝防病”，名额有限，想报名的宝妈找{guide}～",
        _A,
    ),
    (
        "朋友圈：买家秀",
        "moments",
        "内容包",
        "今天收到宝妈的反馈：“换了这款纸尿裤，一夜都不红屁屁了！”❤️ 有同样困扰的可以问问{guide}。",
        _A,
    ),
    (
        "朋友圈：新品开箱",
        "moments",
        "内容包",
        "开箱今天到店的新品：有机棉连体衣、防胀气奶瓶、婴儿指甲剪套装。{store}都有实物，欢迎来摸摸看。",
        _A,
    ),
    (
        "朋友圈：早安问候",
        "moments",
        "内容包",
        "早安☀️ 今天也是认真陪伴宝宝的一天。{guide}在{store}等你们来玩～",
        _A,
    ),
    (
        _K["group_welcome"],
        "group",
        "入群第0天",
        "欢迎新朋友加入～本群是{store}宝妈交流群：每天分享育儿干货，每周有群专属福利。群规：不发广告、不刷屏，有问题@{guide}。",
        _A,
    ),
    (
        _K["group_tip"],
        "group",
        "入群第1天",
        "【今日干货】宝宝夜醒频繁怎么办？1. 固定睡前程序；2. 白天小睡不超过3小时；3. 房间温度保持在22-24℃。大家家里是怎么做的？",
        _A,
    ),
    (
        _K["group_interaction"],
        "group",
        "入群第3天",
        "【互动话题】大家的宝宝第一口辅食吃的是什么？说说宝宝当时的表情😂 今晚8点抽3位送试用装！",
        _A,
    ),
    (
        _K["group_first_offer"],
        "group",
        "入群第7天",
        "群专属福利来啦：本周群内下单享{coupon}，仅限本群，数量有限～想要的在群里接龙。",
        _A,
    ),
    (
        "社群预热·开团前",
        "group",
        "开团前一天",
        "明天上午10点开团！这次是大家呼声最高的有机棉系列，群内价比门店还低，先在群里接龙占个名额～",
        _A,
    ),
    (
        "社群预热·晒单激励",
        "group",
        "开团后",
        "已经收到货的宝妈来晒个单吧～晒单前5位送湿巾一包，{guide}统计后统一发放。",
        _D,
    ),
    (
        "社群答疑·夜间值守",
        "group",
        "夜间",
        "晚上好～今晚{guide}在群里值班到10点，宝宝喂养、选品的问题都可以问。",
        _A,
    ),
    (
        "门店活动邀约",
        "follow_up",
        "到店邀约",
        "{name}，本周末{store}有宝宝游泳体验和免费身高体重测量，要不要帮您约个时间？",
        _A,
    ),
    (
        "加微后未回复跟进",
        "follow_up",
        "新客未回复",
        "{name}，怕您错过，再打个招呼～我是{guide}，之后有适合宝宝的活动和福利第一时间告诉您。",
        _P,
    ),
    (
        "大促后跟进",
        "follow_up",
        "大促后",
        "{name}，双十一的快递都收到了吗？有任何问题随时找我，需要帮忙看尺码、退换都可以。",
        _A,
    ),
]
# (title, category, scenario, body, approval, parent title, label): the A/B material of experiments.
VARIANTS: list[tuple[str, str, str, str, ScriptApproval, str, str]] = [
    (
        "新客欢迎语（B：送礼版）",
        "welcome",
        "新客第0天",
        "{name}您好，我是{store}的{guide}！送您一份见面礼：{coupon}，宝宝有任何问题都可以问我～",
        _A,
        _K["welcome"],
        "B",
    ),
    (
        "新客欢迎语（C：简短版）",
        "welcome",
        "新客第0天",
        "{name}您好，我是{guide}，以后有问题随时找我～",
        _D,
        _K["welcome"],
        "C",
    ),
    (
        "老客回访召回（B：直给券）",
        "recall",
        "流失预警",
        "{name}，好久不见！给您准备了回归礼{coupon}，本周有效，想要什么告诉我帮您备货。",
        _A,
        _K["churn_recall"],
        "B",
    ),
    (
        "生日祝福（B：温情版）",
        "birthday",
        "生日当天",
        "{name}，生日快乐！谢谢您一直以来的信任，愿您和宝宝每天都被温柔以待。小礼物{coupon}已放进您的账户～",
        _A,
        _K["birthday_greeting"],
        "B",
    ),
    (
        "复购提醒（B：送货上门）",
        "recall",
        "购后第30天",
        "{name}，纸尿裤快用完了吧？回复“送货”我直接帮您下单送到家，会员价再减{coupon}。",
        _P,
        _K["repurchase_reminder"],
        "B",
    ),
]
# Content pack items by day offset from as_of (0 = today): (script title, task kind).
PACK_DAYS = 7
PACK_PLANS = [
    [("朋友圈：秋冬护肤", "moments_post"), ("会员日预告", "forward")],
    [("朋友圈：育儿讲座", "moments_post")],
    [("朋友圈：买家秀", "moments_post"), ("新品到店通知", "forward")],
    [("朋友圈：新品开箱", "moments_post")],
    [("朋友圈：会员日", "moments_post"), ("会员日预告", "forward")],
    [("朋友圈：早安问候", "moments_post"), ("辅食添加指南", "forward")],
]
DONE_SHARE = 0.75


def _script_rows(session: Session, as_of: date, rng: random.Random) -> dict[str, Script]:
    base = day_start_utc(as_of - timedelta(days=60), brand_zone())
    by_title: dict[str, Script] = {}
    rows = [(*r, None, None) for r in LIBRARY] + list(VARIANTS)
    for n, (title, category, scenario, body, approval, parent, label) in enumerate(rows):
        created = base + timedelta(hours=7 * n)
        reviewed = approval in (_A, _R)
        script = Script(
            title=title,
            category=category,
            scenario=scenario,
            body=body,
            approval=approval,
            parent_id=by_title[parent].id if parent else None,
            variant_label=label,
            usage_count=rng.randint(20, 900) if approval == _A else 0,
            search_text=search_text_of(title, scenario, body),
            created_at=created,
            updated_at=created + timedelta(hours=2),
            reviewed_at=created + timedelta(days=1) if reviewed else None,
            review_note="话术不要用“最低价”，改成“群内价”后再提交" if approval == _R else None,
        )
        if "小程序" in body:
            script.attachments = [
                {"kind": "miniprogram", "ref": "wx5f3a9c2b7d1e4f60/pages/member/index", "title": "会员中心"}
            ]
        elif category == "moments":
            script.attachments = [{"kind": "image", "ref": f"media/moments/{n:02d}.jpg"}]
        session.add(script)
        session.flush()
        by_title[title] = script
    return by_title


def _close_some(session: Session, pack: ContentPack, rng: random.Random) -> int:
    """Mark most of a past pack's tasks done before (some after) the due time, with task_done events."""
    tasks = session.execute(
        select(StaffTask.id, StaffTask.staff_id, StaffTask.kind, StaffTask.due_at, Staff.unit_id)
        .join(Staff, Staff.id == StaffTask.staff_id)
        .where(StaffTask.idempotency_key.like(f"pack:{pack.id}:%"))
        .order_by(StaffTask.id)
    ).all()
    to_db = datetime_adapter(session)
    events = []
    closed: list[dict[str, object]] = []
    for task_id, staff_id, kind, due, unit_id in tasks:
        if rng.random() >= DONE_SHARE:
            continue
        done_at: datetime = due - timedelta(minutes=rng.randint(30, 600))
        if rng.random() < 0.15:
            done_at = due + timedelta(minutes=rng.randint(10, 900))  # late
        proof = f"moments/{pack.day.isoformat()}/{staff_id}.jpg" if kind == "moments_post" else "已转发给客户"
        closed.append({"id": task_id, "status": TaskStatus.done, "done_at": done_at, "evidence": proof})
        at = to_db(done_at)
        data = f'{{"task_kind": "{kind}"}}'
        events.append(("task_done", at, at, None, staff_id, unit_id, "staff_task", task_id, data))
    if closed:
        session.execute(update(StaffTask), closed)  # one executemany by primary key
    insert_rows(session, Event.__table__, EVENT_COLUMNS, events)  # type: ignore[arg-type]
    return len(events)


def seed_scripts(session: Session, as_of: date) -> dict[str, int]:
    """Write the script library and the content packs of the last week (published; past ones mostly done)."""
    rng = random.Random(f"scripts:{as_of.isoformat()}")
    by_title = _script_rows(session, as_of, rng)
    zone = brand_zone()
    published = tasks = done = 0
    for offset in range(PACK_DAYS - 1, -1, -1):
        day = as_of - timedelta(days=offset)
        plan = PACK_PLANS[(day.toordinal()) % len(PACK_PLANS)]
        items = [packs.PackItemIn(by_title[title].id, kind) for title, kind in plan]
        title = f"{day.month}月{day.day}日内容包"
        pack = packs.compose_pack(
            session, SYSTEM_ACTOR, day, title, "图片在素材库，发圈时间建议20点前", items
        )
        publish_at = datetime.combine(day, datetime.min.time(), tzinfo=zone).replace(hour=8)
        pack.created_at = publish_at - timedelta(hours=14)  # composed the evening before
        result = packs.publish_pack(session, SYSTEM_ACTOR, pack.id, publish_at)
        published += 1
        tasks += result.created
        if offset > 0:
            done += _close_some(session, pack, rng)
    session.flush()
    return {
        "scripts": len(by_title),
        "approved": sum(1 for s in by_title.values() if s.approval == _A),
        "variants": len(VARIANTS),
        "content_packs": published,
        "pack_tasks": tasks,
        "pack_tasks_done": done,
    }
