"""WeCom behaviour metrics from the stored 联系客户统计 / 群聊统计 snapshots: one grouped query per family."""

from __future__ import annotations

from sqlalchemy import and_, case, func, select

from siyu.models import Staff, WecomBehaviorSnapshot, WecomGroupStatSnapshot
from siyu.performance.contract import Direction, MetricDef, MetricGroup, SubjectKind, Unit
from siyu.performance.repository import Ctx, Facts

BEHAVIOUR_FIELDS = (
    "wecom_chats",
    "wecom_messages",
    "wecom_new_contacts",
    "wecom_negative_feedback",
    "wecom_replied_chats",  # Σ reply_percentage ÷ 100 × chat_cnt over days with a reply rate
    "wecom_rated_chats",  # Σ chat_cnt over the same days
    "wecom_reply_wait_sum",  # Σ avg_reply_time × 60 × chat_cnt over days with a reply time (seconds)
    "wecom_timed_chats",  # Σ chat_cnt over the same days
    "wecom_days",  # snapshot days present
)

_SOURCE_ZH = "来源：企业微信「联系客户统计」每日快照（wecom_behavior_snapshots，同步时按成员逐日保存；企业微信只保留 180 天）。"
_SOURCE_EN = (
    "Source: the WeCom 联系客户统计 (contact statistics) daily snapshots (wecom_behavior_snapshots, stored "
    "per member per day by the sync; WeCom itself keeps only 180 days)."
)
_GROUP_SOURCE_ZH = "来源：企业微信「群聊统计」每日快照（wecom_group_stat_snapshots，按群主逐日保存）。"
_GROUP_SOURCE_EN = (
    "Source: the WeCom 群聊统计 (group chat statistics) daily snapshots (wecom_group_stat_snapshots, stored per "
    "group owner per day)."
)
_RULES_ZH = (
    "没有快照的日子记为缺失而非 0：不计入分子也不计入分母（同步未覆盖的日子会让数值偏小，请结合快照天数看）。"
    "快照日为企业微信统计日（北京时间自然日），统计期首日 ≤ 快照日 ≤ 末日（品牌时区的日期）。"
    "归属：快照的员工（staff_id）及其当前所在组织；组织的值覆盖其整个下级子树（org_units.path），公司为全部。"
)
_RULES_EN = (
    "Days without a snapshot count as missing, not zero: they enter neither numerator nor denominator (days the "
    "sync did not cover make a total smaller — read it with the number of snapshot days). The snapshot day is "
    "WeCom's statistics day (a Beijing calendar day); it counts when first day ≤ day ≤ last day of the period "
    "(brand-local dates). Attribution: the snapshot's staff member (staff_id) and their current unit; a unit's "
    "value covers its whole subtree (org_units.path), the company covers everything."
)
_ALL = frozenset(SubjectKind)


def _entry(code: str, names: tuple[str, str], text: tuple[str, str], formula: str, unit: Unit,
           direction: Direction, group_stats: bool = False) -> MetricDef:  # fmt: skip
    src_zh, src_en = (_GROUP_SOURCE_ZH, _GROUP_SOURCE_EN) if group_stats else (_SOURCE_ZH, _SOURCE_EN)
    return MetricDef(
        code=code,
        group=MetricGroup.activity,
        name_zh=names[0],
        name_en=names[1],
        definition_zh=f"{text[0]}{src_zh}{_RULES_ZH}",
        definition_en=f"{text[1]} {src_en} {_RULES_EN}",
        formula=formula,
        unit=unit,
        direction=direction,
        subjects=_ALL,
        reads=("wecom_group_stat_snapshots" if group_stats else "wecom_behavior_snapshots", "staff"),
    )


def definitions() -> list[MetricDef]:
    """The catalog entries of the WeCom metrics (catalog.py appends them)."""
    higher, lower = Direction.higher, Direction.lower
    return [
        _entry("wecom_new_contacts", ("企微新增客户数", "WeCom new contacts"),
               ("统计期内快照的新增客户数之和（new_contact_cnt：成员新添加的客户数）。",
                "Sum of new_contact_cnt (customers the member newly added) over the period's snapshots."),
               "Σ new_contact_cnt", Unit.count, higher),
        _entry("wecom_negative_feedback", ("企微删除/拉黑成员的客户数", "WeCom negative feedback"),
               ("统计期内快照的删除/拉黑成员的客户数之和（negative_feedback_cnt）。",
                "Sum of negative_feedback_cnt (customers who deleted or blocked the member) over the period's snapshots."),
               "Σ negative_feedback_cnt", Unit.count, lower),
        _entry("wecom_chats", ("企微聊天数", "WeCom chats"),
               ("统计期内快照的聊天总数之和（chat_cnt：成员有主动发送过消息的单聊数，按日计）。",
                "Sum of chat_cnt (1:1 chats in which the member sent a message, counted per day) over the period's snapshots."),
               "Σ chat_cnt", Unit.count, higher),
        _entry("wecom_messages", ("企微发送消息数", "WeCom messages sent"),
               ("统计期内快照的发送消息数之和（message_cnt：成员在单聊中发送的消息数）。",
                "Sum of message_cnt (messages the member sent in 1:1 chats) over the period's snapshots."),
               "Σ message_cnt", Unit.count, higher),
        _entry("wecom_reply_rate", ("企微已回复聊天占比", "WeCom reply rate"),
               ("按聊天数加权的已回复聊天占比：只取有回复率（reply_percentage 非空）且 chat_cnt > 0 的快照日，"
                "值 = Σ(reply_percentage ÷ 100 × chat_cnt) ÷ Σ chat_cnt。企业微信只在当日确有聊天时给出回复率；"
                "按 chat_cnt 加权是近似（企业微信的分母是客户主动发起的聊天数，未单独提供）。",
                "Chat-weighted reply rate: over the snapshot days with a reply rate (reply_percentage present) and "
                "chat_cnt > 0, value = Σ(reply_percentage ÷ 100 × chat_cnt) ÷ Σ chat_cnt. WeCom gives a reply rate "
                "only on days with chats; weighting by chat_cnt is an approximation (WeCom's own denominator, chats "
                "the customer started, is not published)."),
               "Σ(reply_percentage/100 × chat_cnt) ÷ Σ chat_cnt, days with a rate", Unit.ratio, higher),
        _entry("wecom_avg_reply_seconds", ("企微平均首次回复时长", "WeCom average first-reply time"),
               ("按聊天数加权的平均首次回复时长（秒）：只取有回复时长（avg_reply_time 非空，单位分钟）且 chat_cnt > 0 "
                "的快照日，值 = Σ(avg_reply_time × 60 × chat_cnt) ÷ Σ chat_cnt。",
                "Chat-weighted average first-reply time in seconds: over the snapshot days with a reply time "
                "(avg_reply_time present, in minutes) and chat_cnt > 0, value = Σ(avg_reply_time × 60 × chat_cnt) ÷ Σ chat_cnt."),
               "Σ(avg_reply_time×60 × chat_cnt) ÷ Σ chat_cnt, days with a time", Unit.seconds, lower),
        _entry("wecom_group_messages", ("企微客户群消息数", "WeCom group messages"),
               ("统计期内群主快照的群聊消息总数之和（msg_total），归属于群主。",
                "Sum of msg_total (messages in the owner's customer groups) over the period's snapshots, attributed to the group owner."),
               "Σ msg_total", Unit.count, higher, group_stats=True),
    ]  # fmt: skip


def behaviour_facts(ctx: Ctx) -> Facts:
    """Per staff: sums of the behaviour snapshots whose day lies in the period (missing days add nothing)."""
    b = WecomBehaviorSnapshot
    rated = and_(b.reply_percentage.is_not(None), b.chat_cnt > 0)
    timed = and_(b.avg_reply_time.is_not(None), b.chat_cnt > 0)
    query = (
        select(
            b.staff_id,
            Staff.unit_id,
            func.sum(b.chat_cnt),
            func.sum(b.message_cnt),
            func.sum(b.new_contact_cnt),
            func.sum(b.negative_feedback_cnt),
            func.sum(case((rated, b.reply_percentage * b.chat_cnt / 100.0), else_=0.0)),
            func.sum(case((rated, b.chat_cnt), else_=0)),
            func.sum(case((timed, b.avg_reply_time * 60.0 * b.chat_cnt), else_=0.0)),
            func.sum(case((timed, b.chat_cnt), else_=0)),
            func.count(),
        )
        .join(Staff, Staff.id == b.staff_id)
        .where(b.day >= ctx.period.first, b.day <= ctx.period.last)
        .group_by(b.staff_id, Staff.unit_id)
    )
    rows = []
    for r in ctx.session.execute(query):
        ints = tuple(int(v or 0) for v in r[2:6])
        rows.append((r[0], r[1], (*ints, float(r[6] or 0.0), int(r[7] or 0), float(r[8] or 0.0), int(r[9] or 0), int(r[10]))))  # fmt: skip
    return Facts(BEHAVIOUR_FIELDS, rows)


def group_stat_facts(ctx: Ctx) -> Facts:
    """Per group owner: Σ msg_total of the group statistics snapshots in the period."""
    g = WecomGroupStatSnapshot
    query = (
        select(g.staff_id, Staff.unit_id, func.sum(g.msg_total), func.count())
        .join(Staff, Staff.id == g.staff_id)
        .where(g.day >= ctx.period.first, g.day <= ctx.period.last)
        .group_by(g.staff_id, Staff.unit_id)
    )
    rows = [(r[0], r[1], (int(r[2] or 0), int(r[3]))) for r in ctx.session.execute(query)]
    return Facts(("wecom_group_messages", "wecom_group_days"), rows)
