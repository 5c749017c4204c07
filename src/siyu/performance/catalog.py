"""The metric catalog: one definition per metric, in page order (computation lives in compute.py)."""

from __future__ import annotations

from siyu.errors import NotFound
from siyu.performance import metrics_wecom
from siyu.performance.contract import Direction, MetricDef, MetricGroup, SubjectKind, Unit

ALL_SUBJECTS = frozenset(SubjectKind)
HIGHER, LOWER = Direction.higher, Direction.lower

# Attribution rules, appended to every definition so a brute-force check can be written from the text.
_PERIOD_ZH = "统计期为品牌时区的自然日 [首日 00:00, 末日次日 00:00)。"
_PERIOD_EN = "The period is brand-local days [first 00:00, day after last 00:00)."
_SUBTREE_ZH = "组织的值覆盖其整个下级子树（org_units.path），公司为全部（含未归属的数据）。"
_SUBTREE_EN = "A unit's value covers its whole subtree (org_units.path); the company covers everything, unattributed rows included."
ATTR = {
    "customer": (
        "归属：客户的归属员工（owner_staff_id）；组织为该员工所在组织，无归属员工时为客户的所属门店（home_store_id）。"
        "不含已合并的客户。",
        "Attribution: the customer's owner staff (owner_staff_id); unit = that staff's unit, else the "
        "customer's home store. Merged-away customers are excluded.",
    ),
    "order": (
        "归属：订单的员工（orders.staff_id），为空时为客户的归属员工；组织为该员工所在组织，无员工时为订单门店，"
        "再无则为客户的所属门店。",
        "Attribution: the order's staff (orders.staff_id), else the customer's owner; unit = that staff's unit, "
        "else the order's store, else the customer's home store.",
    ),
    "membership": (
        "归属：渠道关系的员工（channel_memberships.staff_id），为空时为客户的归属员工；组织为该员工所在组织，"
        "无员工时为客户的所属门店。",
        "Attribution: the membership's staff (channel_memberships.staff_id), else the customer's owner; unit = "
        "that staff's unit, else the customer's home store.",
    ),
    "warning": (
        "归属：预警开出时复制的客户归属员工（churn_warnings.owner_staff_id）；组织为该员工所在组织，无归属员工时为"
        "预警上的客户所属门店（home_store_id）。预警是已发生的事实，客户其后合并也照计。",
        "Attribution: the customer's owner staff copied onto the warning when it was issued "
        "(churn_warnings.owner_staff_id); unit = that staff's unit, else the warning's home store (home_store_id). "
        "Warnings are facts that happened: they count even if the customer is merged later.",
    ),
    "staff": (
        "归属：任务或消息的员工及其所在组织。",
        "Attribution: the task's or message's staff member and their unit.",
    ),
    "incident": (
        "归属：事件的员工（sensitive_incidents.staff_id）；组织为事件记录的组织（检测时员工所在组织，无员工时为客户的所属门店）。",
        "Attribution: the incident's staff member (sensitive_incidents.staff_id); unit = the unit recorded on the "
        "incident (the staff member's unit when detected, else the customer's home store).",
    ),
}
CHANNEL_NAMES = {
    "wecom": ("企微", "WeCom"),
    "wechat_personal": ("个微", "personal WeChat"),
    "group": ("社群", "groups"),
    "miniprogram": ("小程序", "mini-program"),
    "member": ("会员", "membership"),
    "official_account": ("公众号", "official account"),
}
COUNTED_ZH = "有效订单 = 未全额退款的订单（refund_fen < amount_fen）。"
COUNTED_EN = "A counted order is one not refunded in full (refund_fen < amount_fen)."
POP_ZH = "私域人群 = 统计期内任一时刻存在渠道关系（joined_at < 期末 且 left_at 为空或 ≥ 期初）的客户。"
POP_EN = "Private population = customers with a channel membership present at some moment of the period (joined_at < end and left_at empty or ≥ start)."
WAIT_ZH = (
    "客户消息 = 统计期内、当地时间在工作时间（默认 09:00–21:00）内、员工与客户一对一会话中的客户消息；"
    "其回复 = 同一员工–客户会话中其后第一条员工消息（按 sent_at, id 排序），须在回复窗口（默认 24 小时）内。"
)
WAIT_EN = (
    "Customer messages = customer→staff 1:1 messages sent in the period during working hours (brand-local, "
    "default 09:00–21:00); the reply is the next staff→customer message of the same staff–customer pair "
    "(ordered by sent_at, id), within the reply window (default 24 h)."
)


def _def(code: str, group: MetricGroup, names: tuple[str, str], text: tuple[str, str], formula: str,
         unit: Unit, direction: Direction, attribution: str, reads: tuple[str, ...]) -> MetricDef:  # fmt: skip
    zh, en = ATTR[attribution]
    return MetricDef(
        code=code,
        group=group,
        name_zh=names[0],
        name_en=names[1],
        definition_zh=f"{text[0]}{zh}{_SUBTREE_ZH}{_PERIOD_ZH}",
        definition_en=f"{text[1]} {en} {_SUBTREE_EN} {_PERIOD_EN}",
        formula=formula,
        unit=unit,
        direction=direction,
        subjects=ALL_SUBJECTS,
        reads=reads,
    )


def _users() -> list[MetricDef]:
    g = MetricGroup.users
    out = [
        _def("private_users", g, ("私域用户数", "Private-domain users"),
             ("期末时刻存在任一渠道关系（joined_at < 期末 且 left_at 为空或 ≥ 期末）的客户数；每人只计一次。",
              "Customers with any channel membership present at the period's end (joined_at < end and left_at empty or ≥ end); each person once."),
             "count(distinct customer: membership present at end)", Unit.count, HIGHER, "customer",
             ("channel_memberships", "customers")),
    ]  # fmt: skip
    for channel, (zh, en) in CHANNEL_NAMES.items():
        out.append(_def(
            f"private_users_{channel}", g, (f"私域用户数·{zh}", f"Private users · {en}"),
            (f"期末时刻存在 {channel} 渠道关系的客户数；每人只计一次。",
             f"Customers with a {channel} membership present at the period's end; each person once."),
            f"count(distinct customer: {channel} membership present at end)", Unit.count, HIGHER, "customer",
            ("channel_memberships", "customers"),
        ))  # fmt: skip
    out += [
        _def("new_contacts", g, ("加粉数", "New contacts"),
             ("统计期内新建立的一对一联系人关系数（渠道 wecom 或 wechat_personal，joined_at 在期内），含在职/离职继承接收的联系人。",
              "New 1:1 contact memberships (channel wecom or wechat_personal) joined in the period, including contacts received by handover."),
             "count(1:1 memberships joined in period)", Unit.count, HIGHER, "membership", ("channel_memberships",)),
        _def("net_growth", g, ("净增长", "Net growth"),
             ("加粉数减去统计期内结束（left_at 在期内，任何原因，含交接）的一对一联系人关系数；可为负。",
              "New contacts minus 1:1 memberships (wecom, wechat_personal) ended in the period for any reason, handover included; may be negative."),
             "new_contacts − count(1:1 memberships left in period)", Unit.count, HIGHER, "membership",
             ("channel_memberships",)),
        _def("customers_lost", g, ("流失客户数", "Customers lost"),
             ("统计期内因客户删除员工（customer_deleted_staff）或主动退群（left_group）而结束的渠道关系数。",
              "Memberships ended in the period because the customer deleted the staff (customer_deleted_staff) or left the group (left_group)."),
             "count(memberships left in period with leave_reason in {customer_deleted_staff, left_group})",
             Unit.count, LOWER, "membership", ("channel_memberships",)),
    ]  # fmt: skip
    for days in (7, 30, 90):
        for channel, (zh, en) in (("all", ("全渠道", "all channels")), *CHANNEL_NAMES.items()):
            where_zh = "" if channel == "all" else f"渠道为 {channel}、"
            where_en = "" if channel == "all" else f"{channel} "
            out.append(_def(
                f"retention_rate_{days}d" + ("" if channel == "all" else f"_{channel}"), g,
                (f"{days}日留存率·{zh}", f"{days}-day retention · {en}"),
                (f"同期群 = {where_zh}joined_at 在统计期内、且 joined_at + {days} 天 ≤ 计算时刻（as_of）的渠道关系；"
                 f"留存 = 其中 left_at 为空或 ≥ joined_at + {days} 天者。留存率 = 留存 ÷ 同期群，同期群为空时无值。",
                 f"Cohort = {where_en}memberships joined in the period with joined_at + {days} days ≤ the computation "
                 f"moment (as_of); kept = those with left_at empty or ≥ joined_at + {days} days. Rate = kept ÷ cohort, "
                 "undefined for an empty cohort."),
                f"kept_{days}d ÷ cohort_{days}d", Unit.ratio, HIGHER, "membership", ("channel_memberships",),
            ))  # fmt: skip
    return out


def _results() -> list[MetricDef]:
    g = MetricGroup.results
    orders = ("orders", "customers")
    return [
        _def("gmv", g, ("GMV", "GMV"),
             (f"统计期内支付（paid_at 在期内）的订单实付金额减退款之和（amount_fen − refund_fen，单位分）。{COUNTED_ZH}",
              f"Sum of amount_fen − refund_fen (fen) of orders paid in the period. {COUNTED_EN}"),
             "Σ(amount_fen − refund_fen), orders paid in period", Unit.fen, HIGHER, "order", orders),
        _def("orders", g, ("订单数", "Orders"),
             (f"统计期内支付的有效订单数。{COUNTED_ZH}", f"Counted orders paid in the period. {COUNTED_EN}"),
             "count(counted orders paid in period)", Unit.count, HIGHER, "order", orders),
        _def("avg_order_value", g, ("客单价", "Average order value"),
             ("GMV ÷ 订单数（分）；订单数为 0 时无值。", "GMV ÷ orders (fen); undefined with no orders."),
             "gmv ÷ orders", Unit.fen, HIGHER, "order", orders),
        _def("conversion_rate", g, ("转化率", "Conversion rate"),
             (f"{POP_ZH}转化率 = 私域人群中统计期内有有效订单的人数 ÷ 私域人群人数。",
              f"{POP_EN} Rate = people of the population with a counted order paid in the period ÷ the population."),
             "buyers in population ÷ population", Unit.ratio, HIGHER, "customer",
             ("channel_memberships", "orders", "customers")),
        _def("repurchase_rate", g, ("复购率", "Repurchase rate"),
             (f"统计期内有效订单 ≥ 2 笔的客户数 ÷ 统计期内有有效订单的客户数。{COUNTED_ZH}",
              f"Customers with ≥ 2 counted orders paid in the period ÷ customers with ≥ 1. {COUNTED_EN}"),
             "buyers with ≥ 2 orders ÷ buyers", Unit.ratio, HIGHER, "customer", orders),
        _def("store_visit_rate", g, ("到店率", "Store-visit rate"),
             (f"{POP_ZH}到店率 = 私域人群中统计期内有到店记录（store_visits.visited_at 在期内）的人数 ÷ 私域人群人数。",
              f"{POP_EN} Rate = people of the population with a store visit in the period ÷ the population."),
             "visitors in population ÷ population", Unit.ratio, HIGHER, "customer",
             ("channel_memberships", "store_visits", "customers")),
        _def("referral_rate", g, ("转介绍率", "Referral rate"),
             (f"{POP_ZH}转介绍率 = 私域人群中统计期内介绍了新客户（referrals.referrer_id，referred_at 在期内）的人数 ÷ 私域人群人数。",
              f"{POP_EN} Rate = people of the population who referred someone in the period (referrals.referrer_id) ÷ the population."),
             "referrers in population ÷ population", Unit.ratio, HIGHER, "customer",
             ("channel_memberships", "referrals", "customers")),
        _def("recall_rate", g, ("流失用户召回率", "Lost-user recall rate"),
             ("流失用户 = 期初前有订单、且期初前最后一笔订单（任何订单，含已退款）早于 期初 − N 天（默认 90）的客户；召回率 = 其中统计期内有有效订单的人数 ÷ 流失用户数。",
              "Lost = customers whose last order before the period (any order, refunded ones included) is earlier than start − N days (default 90); rate = those with a counted order in the period ÷ lost."),
             "lost who bought in period ÷ lost at start", Unit.ratio, HIGHER, "customer", orders),
        _def("high_value_share", g, ("高价值用户占比", "High-value share"),
             ("期末私域用户中会员等级属于高价值等级（默认 gold、diamond；为客户当前等级）的人数 ÷ 私域用户数。",
              "Private users at the period's end whose member tier is a high-value tier (default gold, diamond; the customer's current tier) ÷ private users."),
             "high-value private users ÷ private_users", Unit.ratio, HIGHER, "customer",
             ("channel_memberships", "customers")),
        _def("revenue_per_staff", g, ("人效", "GMV per staff"),
             ("GMV ÷ 人数；人数 = 统计期内在职（入职日 ≤ 末日且离职日为空或 ≥ 首日）的员工数（员工本人为 1），组织为其子树内员工。",
              "GMV ÷ headcount; headcount = staff employed in the period (hired_on ≤ last day, left_on empty or ≥ first day): 1 for a staff member, the subtree's staff for a unit."),
             "gmv ÷ headcount", Unit.fen_per_staff, HIGHER, "order", ("orders", "customers", "staff")),
        _def("rfm_high_value_share", g, ("RFM高价值客户占比", "RFM high-value share"),
             ("取期末当日或之前最近一次洞察计算日（rfm_snapshots.computed_on ≤ 末日）；该日被RFM评分的客户（窗口内有有效订单者）中，"
              "分群属于高价值分群（重要价值 important_value、冠军 champions、忠诚 loyal）的人数 ÷ 被评分客户数。客户归属按当前归属。",
              "Take the last insights computation day on or before the period's last day (rfm_snapshots.computed_on ≤ last day); "
              "of the customers RFM-scored that day (a counted order in the RFM window), those whose segment is high-value "
              "(important_value, champions, loyal) ÷ the scored customers. Customers are attributed as they are now."),
             "high-value scored customers ÷ scored customers (last computed day ≤ period end)", Unit.ratio, HIGHER,
             "customer", ("rfm_snapshots", "customers")),
        _def("warning_recall_rate", g, ("流失预警召回率", "Churn-warning recall rate"),
             ("统计期内开出（warned_on 在期内）的流失预警中，在召回窗口内（预警次日至 window_ends_on，品牌时区）有有效订单而"
              "标记为已召回（status = recalled）的数量 ÷ 期内开出的预警数。窗口未结束的预警计入分母，故近期数值会随召回上升。",
              "Of the churn warnings issued in the period (warned_on in the period), those recalled — a counted order on a "
              "brand-local day from the day after the warning to window_ends_on (status recalled) — ÷ warnings issued. "
              "Warnings whose window is still open count in the denominator, so recent values rise as recalls come in."),
             "recalled warnings ÷ warnings issued in period", Unit.ratio, HIGHER, "warning", ("churn_warnings", "staff")),
    ]  # fmt: skip


def _activity() -> list[MetricDef]:
    g = MetricGroup.activity
    return [
        _def("tasks_done", g, ("完成任务数", "Tasks done"),
             ("统计期内完成（status = done，done_at 在期内）的员工任务数，所有类型。",
              "Staff tasks done in the period (status done, done_at in the period), all kinds."),
             "count(tasks done in period)", Unit.count, HIGHER, "staff", ("staff_tasks",)),
        _def("task_on_time_rate", g, ("任务按时完成率", "Task on-time rate"),
             ("统计期内到期（due_at 在期内）且未取消的任务中，已完成且 done_at ≤ due_at 的比例。",
              "Of tasks due in the period (due_at in the period) and not cancelled, the share done with done_at ≤ due_at."),
             "done on time ÷ due", Unit.ratio, HIGHER, "staff", ("staff_tasks",)),
        _def("moments_posts", g, ("朋友圈发布数", "Moments posts"),
             ("统计期内完成的朋友圈任务数（任务类型默认 moments_post）。",
              "Moments tasks (kind moments_post by default) done in the period."),
             "count(moments tasks done in period)", Unit.count, HIGHER, "staff", ("staff_tasks",)),
        _def("greetings_sent", g, ("节日问候数", "Greetings sent"),
             ("统计期内完成的问候群发任务数（任务类型默认 holiday_greeting）。",
              "Greeting tasks (kind holiday_greeting by default) done in the period."),
             "count(greeting tasks done in period)", Unit.count, HIGHER, "staff", ("staff_tasks",)),
        _def("first_response_seconds", g, ("首次响应时长", "First-response time"),
             (f"{WAIT_ZH}首次响应时长 = 有回复的客户消息的平均等待秒数（回复时刻 − 消息时刻）。",
              f"{WAIT_EN} Value = mean seconds from each answered customer message to its reply."),
             "Σ reply delay ÷ answered customer messages", Unit.seconds, LOWER, "staff", ("chat_messages",)),
        _def("reply_within_3min_rate", g, ("3分钟回复率", "Replied within 3 minutes"),
             (f"{WAIT_ZH}比例 = 回复在 180 秒（可配置）内的客户消息数 ÷ 客户消息数。",
              f"{WAIT_EN} Rate = customer messages replied within 180 s (configurable) ÷ customer messages."),
             "messages replied ≤ 180 s ÷ customer messages", Unit.ratio, HIGHER, "staff", ("chat_messages",)),
        _def("unanswered_customers", g, ("未回复客户数", "Unanswered customers"),
             (f"{WAIT_ZH}未回复客户 = 至少有一条客户消息在回复窗口内无回复的员工–客户对数。",
              f"{WAIT_EN} Count = staff–customer pairs with at least one customer message unanswered within the window."),
             "count(pairs with an unanswered customer message)", Unit.count, LOWER, "staff", ("chat_messages",)),
        _def("sensitive_incidents", g, ("敏感行为次数", "Sensitive-behaviour incidents"),
             ("合规模块记录、经审核确认（状态 confirmed）且发生时间（occurred_at）在统计期内的敏感行为事件数（私单、飞单、辱骂客户、违规承诺、联系方式、支付、外链、行为类）。待审核与已驳回的事件不计。",
              "Confirmed incidents: compliance incidents (private deals, diverted orders, abuse, forbidden promises, contact, payment, links, behaviour) a reviewer confirmed (status confirmed) whose occurrence time (occurred_at) falls in the period. Open and dismissed incidents are not counted."),
             "count(confirmed incidents occurred in period)", Unit.count, LOWER, "incident", ("sensitive_incidents",)),
    ]  # fmt: skip


METRICS: dict[str, MetricDef] = {
    m.code: m for m in (*_users(), *_results(), *_activity(), *metrics_wecom.definitions())
}


def metric(code: str) -> MetricDef:
    """The catalog entry for code."""
    try:
        return METRICS[code]
    except KeyError:
        raise NotFound(f"metric {code!r} is not in the catalog (see GET /api/v1/metrics)") from None
