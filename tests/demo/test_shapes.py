"""The demo brand has the promised shapes, and its numbers reconcile with each other."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased
from tests.demo.conftest import SMALL, Built

from siyu.db.base import Base
from siyu.demo.builder import recorded_params
from siyu.demo.chats import violation_labels
from siyu.demo.org import CENTRAL_TEAMS
from siyu.insights.contract import LifecycleRules
from siyu.models import (
    Account,
    ChannelMembership,
    ChatGroup,
    ChatMessage,
    Customer,
    CustomerIdentity,
    CustomerTag,
    Event,
    InsightRun,
    LifecycleChange,
    Order,
    OrderLine,
    OrgUnit,
    Referral,
    Staff,
    StaffRole,
    StaffTask,
    StoreVisit,
)
from siyu.org.passwords import verify_password

SHANGHAI = ZoneInfo("Asia/Shanghai")
# insight_settings_versions: the demo runs on the default insights settings (nothing saved).
EMPTY_BY_DESIGN = {
    "api_tokens",
    "import_jobs",
    "web_sessions",
    "login_throttles",
    "insight_settings_versions",
    # A segment-triggered journey's last-scan members: none of the demo's active journeys is segment-triggered.
    "journey_segment_members",
    # The demo brand has no WeCom app (SIYU_WECOM_FAKE=1 make demo connects one): nothing received or sent yet.
    "wecom_apps",
    "wecom_callback_events",
    "wecom_welcomes",
    "wecom_sync_runs",
    "wecom_group_messages",
    "wecom_moments",
    "wecom_moment_staff",
    "handover_batches",
    "handover_transfers",
}


def count(db: Session, query: object) -> int:
    return int(db.scalar(query) or 0)  # type: ignore[call-overload]


def test_every_table_has_rows(built: Built, db: Session) -> None:
    empty = [
        t.name
        for t in Base.metadata.sorted_tables
        if t.name not in EMPTY_BY_DESIGN and not db.scalar(select(func.count()).select_from(t))
    ]
    assert empty == []
    assert db.scalar(select(func.count()).select_from(Customer)) == SMALL
    counts = built.result.counts
    # Orders and messages scale with customers: roughly 8 orders and 10 messages per customer.
    assert 5 * SMALL < counts["orders"] < 12 * SMALL
    assert 6 * SMALL < counts["chat_messages"] < 15 * SMALL
    assert counts["orders"] <= counts["order_lines"]


def test_org_tree_and_staff(db: Session) -> None:
    kinds = Counter(db.scalars(select(OrgUnit.kind)))
    assert kinds["company"] == 1 and kinds["region"] == 3 and kinds["department"] == 1
    assert kinds["team"] == len(CENTRAL_TEAMS) and kinds["store"] >= 3
    parent = aliased(OrgUnit)
    bad_paths = db.scalar(
        select(func.count())
        .select_from(OrgUnit)
        .join(parent, parent.id == OrgUnit.parent_id)
        .where(~OrgUnit.path.startswith(parent.path))
    )
    assert bad_paths == 0
    roles = set(db.scalars(select(StaffRole.role_code)))
    central = {role for _code, _name, team in CENTRAL_TEAMS for role, _n in team}
    assert {"guide", "store_manager", "region_manager", "private_domain_lead"} | central <= roles
    left = db.execute(select(Staff.status, Staff.hired_on, Staff.left_on).where(Staff.status == "left")).all()
    assert left and all(row.left_on is not None and row.left_on > row.hired_on for row in left)
    assert count(db, select(func.count()).where(Staff.wecom_userid.is_(None))) == 0


def test_references_hold(db: Session) -> None:
    orphan_orders = select(func.count()).select_from(Order).outerjoin(Customer).where(Customer.id.is_(None))
    assert count(db, orphan_orders) == 0
    mismatched = (
        select(func.count())
        .select_from(OrderLine)
        .join(Order)
        .where(OrderLine.customer_id != Order.customer_id)
    )
    assert count(db, mismatched) == 0
    line_sums = select(OrderLine.order_id, func.sum(OrderLine.amount_fen).label("s")).group_by(
        OrderLine.order_id
    )
    sums = line_sums.subquery()
    off = (
        select(func.count())
        .select_from(Order)
        .join(sums, sums.c.order_id == Order.id)
        .where(sums.c.s != Order.amount_fen)
    )
    assert count(db, off) == 0
    assert count(db, select(func.count()).where(Order.refund_fen > Order.amount_fen)) == 0
    backwards = select(func.count()).where(ChannelMembership.left_at < ChannelMembership.joined_at)
    assert count(db, backwards) == 0
    reasonless = select(func.count()).where(
        ChannelMembership.left_at.is_not(None) != ChannelMembership.leave_reason.is_not(None)
    )
    assert count(db, reasonless) == 0
    one_to_one = ChannelMembership.channel.in_(["wecom", "wechat_personal"])
    assert count(db, select(func.count()).where(one_to_one, ChannelMembership.staff_id.is_(None))) == 0
    in_group = ChannelMembership.channel == "group"
    assert count(db, select(func.count()).where(in_group, ChannelMembership.group_id.is_(None))) == 0
    # Staff act only while employed (dates cut in the brand's time zone; left_on is the first day gone).
    employed = {
        sid: (hired, left) for sid, hired, left in db.execute(select(Staff.id, Staff.hired_on, Staff.left_on))
    }
    acts = [
        select(ChannelMembership.staff_id, ChannelMembership.joined_at),
        select(ChatMessage.staff_id, ChatMessage.sent_at),
        select(Order.staff_id, Order.paid_at),
        select(StoreVisit.staff_id, StoreVisit.visited_at),
        select(CustomerTag.applied_by_id, CustomerTag.applied_at).where(CustomerTag.applied_by == "staff"),
        select(StaffTask.staff_id, StaffTask.due_at),
    ]
    for query in acts:
        rows = db.execute(query).all()
        assert rows
        for staff_id, at in rows:
            if staff_id is None:
                continue
            hired, left = employed[staff_id]
            day = at.astimezone(SHANGHAI).date()
            assert hired <= day and (left is None or day < left), (query, staff_id, at)
    referral_mismatch = (
        select(func.count()).select_from(Referral).join(Customer, Customer.id == Referral.referred_id)
        .where((Customer.referrer_id != Referral.referrer_id) | (Customer.source != "referral"))
    )  # fmt: skip
    assert count(db, referral_mismatch) == 0
    assert count(db, select(func.count()).where(Customer.source == "referral")) == count(
        db, select(func.count()).select_from(Referral)
    )


def test_identities(db: Session) -> None:
    phones = list(db.scalars(select(CustomerIdentity.value).where(CustomerIdentity.kind == "phone")))
    assert phones and all(re.fullmatch(r"\+861[3-9]\d{9}", p) for p in phones)
    assert len(set(phones)) == len(phones)
    kinds = Counter(db.scalars(select(CustomerIdentity.kind)))
    assert set(kinds) == {
        "phone",
        "unionid",
        "miniprogram_openid",
        "member_no",
        "wecom_external_userid",
        "telesales_id",
    }
    members = count(
        db,
        select(func.count(func.distinct(ChannelMembership.customer_id))).where(
            ChannelMembership.channel == "member"
        ),
    )
    assert kinds["member_no"] == members
    reachable = select(ChannelMembership.customer_id).where(ChannelMembership.channel.in_(["wecom", "group"]))
    stray = select(func.count()).where(
        CustomerIdentity.kind == "wecom_external_userid", CustomerIdentity.customer_id.not_in(reachable)
    )
    assert count(db, stray) == 0
    tiers = set(db.scalars(select(Customer.member_tier).where(Customer.member_tier.is_not(None))))
    assert tiers <= {"regular", "silver", "gold", "diamond"} and len(tiers) >= 2


def test_orders_reconcile_with_events(db: Session) -> None:
    orders = db.execute(select(Order.id, Order.amount_fen, Order.customer_id)).all()
    events = db.execute(
        select(Event.subject_id, Event.customer_id, Event.data).where(Event.kind == "ordered")
    ).all()
    assert len(events) == len(orders)
    by_id = {o.id: o for o in orders}
    assert sum(e.data["amount_fen"] for e in events) == sum(o.amount_fen for o in orders)
    assert all(by_id[e.subject_id].customer_id == e.customer_id for e in events)
    refunds = count(db, select(func.count()).where(Order.refund_fen > 0))
    assert refunds > 0
    assert count(db, select(func.count()).where(Event.kind == "refunded")) == refunds
    visits = count(db, select(func.count()).select_from(StoreVisit))
    assert count(db, select(func.count()).where(Event.kind == "store_visit")) == visits
    referrals = count(db, select(func.count()).select_from(Referral))
    assert count(db, select(func.count()).where(Event.kind == "referred")) == referrals > 0
    tags = count(db, select(func.count()).select_from(CustomerTag))
    assert count(db, select(func.count()).where(Event.kind == "tagged")) == tags
    applied = set(db.scalars(select(CustomerTag.applied_by)))
    assert {"system", "staff", "rule"} <= applied


def test_memberships_churn_and_events(db: Session) -> None:
    reasons = Counter(
        db.scalars(select(ChannelMembership.leave_reason).where(ChannelMembership.leave_reason.is_not(None)))
    )
    for reason in (
        "customer_deleted_staff",
        "staff_deleted_customer",
        "left_group",
        "handover",
        "unsubscribed",
    ):
        assert reasons[reason] > 0, reason
    channels = set(db.scalars(select(ChannelMembership.channel)))
    assert channels == {"wecom", "wechat_personal", "group", "miniprogram", "member", "official_account"}
    spans = count(db, select(func.count()).select_from(ChannelMembership))
    assert count(db, select(func.count()).where(Event.kind == "joined_channel")) == spans
    ended = count(db, select(func.count()).where(ChannelMembership.left_at.is_not(None)))
    assert count(db, select(func.count()).where(Event.kind == "left_channel")) == ended
    sizes = list(
        db.scalars(
            select(func.count())
            .where(ChannelMembership.group_id.is_not(None))
            .group_by(ChannelMembership.group_id)
        )
    )
    assert sizes and max(sizes) <= 300
    assert count(db, select(func.count()).select_from(ChatGroup)) == len(sizes)


def test_lifecycle_follows_the_insights_rules(db: Session) -> None:
    # The build ends with an insights refresh, which moves every customer to their stage by the
    # default lifecycle rules (counted orders, brand-local days); the generator's stage is the "before".
    params = recorded_params(db)
    assert params is not None and params.customers == SMALL
    as_of, rules = params.as_of, LifecycleRules()
    days: dict[int, set[date]] = defaultdict(set)
    for cid, at, amount, refund in db.execute(
        select(Order.customer_id, Order.paid_at, Order.amount_fen, Order.refund_fen)
    ):
        day = at.astimezone(SHANGHAI).date()
        if refund < amount and day <= as_of:
            days[cid].add(day)
    run_id = db.scalar(select(func.max(InsightRun.id)))
    before: dict[int, str | None] = dict(
        db.execute(
            select(LifecycleChange.customer_id, LifecycleChange.from_stage).where(
                LifecycleChange.run_id == run_id
            )
        ).all()
    )

    def within(day: date | None, n: int) -> bool:
        return day is not None and (as_of - day).days < n

    stages: Counter[str] = Counter()
    for cid, stage, first_seen in db.execute(
        select(Customer.id, Customer.lifecycle_stage, Customer.first_seen_at).where(
            Customer.merged_into_id.is_(None)
        )
    ):
        bought = days.get(cid, set())
        last = max(bought) if bought else None
        seen = first_seen.astimezone(SHANGHAI).date()
        prev = before.get(cid, stage)
        stages[stage] += 1
        if within(seen, rules.new_days) and len(bought) <= 1:
            expected = {"new"}
        elif within(last, rules.active_days) and len(bought) >= 2 and prev in ("sleeping", "lost"):
            expected = {"recalled"} if within(last, rules.recalled_days) else {"active"}
        elif within(last, rules.active_days):
            expected = {"active"}
        elif within(last, rules.sleeping_days) or (last is None and within(seen, rules.sleeping_days)):
            expected = {"sleeping"}
        else:
            expected = {"lost"}
        assert stage in expected, (cid, stage, expected, prev)
    assert {"new", "active", "sleeping", "lost"} <= set(stages)


def test_chats_and_violations(built: Built, db: Session) -> None:
    directions = Counter(db.scalars(select(ChatMessage.direction)))
    assert set(directions) == {
        "staff_to_customer",
        "customer_to_staff",
        "staff_to_group",
        "customer_to_group",
    }
    assert (
        count(
            db, select(func.count()).where(ChatMessage.group_id.is_not(None), ChatMessage.room_id.is_(None))
        )
        == 0
    )
    one_to_one = ChatMessage.group_id.is_(None)
    assert count(db, select(func.count()).where(one_to_one, ChatMessage.receivers.is_(None))) == 0
    nonconsenting = (
        select(func.count()).select_from(ChatMessage).join(Customer)
        .where(one_to_one, Customer.chat_archive_consent.is_(False))
    )  # fmt: skip
    assert count(db, nonconsenting) == 0
    truth = built.result.violations
    assert all(truth[kind] for kind in ("abuse", "private_deal", "diverted_order")), truth
    assert violation_labels(db, seed=7) == truth
    labelled = [m for kind in truth.values() for m in kind]
    rows = db.execute(
        select(ChatMessage.direction, ChatMessage.text).where(ChatMessage.msgid.in_(labelled))
    ).all()
    assert len(rows) == len(labelled)
    assert all(r.direction in ("staff_to_customer", "staff_to_group") and r.text for r in rows)
    staff_texts = count(
        db,
        select(func.count()).where(
            ChatMessage.direction.in_(["staff_to_customer", "staff_to_group"]), ChatMessage.msg_type == "text"
        ),
    )
    assert 0.001 < len(labelled) / staff_texts < 0.02
    # A different seed labels different messages: the truth is keyed, not guessable from the msgid.
    assert violation_labels(db, seed=8) != truth


def test_tasks(db: Session) -> None:
    params = recorded_params(db)
    assert params is not None
    statuses = Counter((r.kind, r.status) for r in db.execute(select(StaffTask.kind, StaffTask.status)))
    kinds = {k for k, _s in statuses}
    assert {"follow_up", "moments_post", "holiday_greeting", "recall"} <= kinds
    assert {s for _k, s in statuses} == {"open", "done", "cancelled"}
    done = db.execute(select(StaffTask.done_at, StaffTask.evidence).where(StaffTask.status == "done")).all()
    assert done and all(r.done_at is not None and r.evidence for r in done)
    as_of = db.scalar(select(func.max(Order.paid_at)))
    assert as_of is not None
    overdue = select(func.count()).where(StaffTask.status == "open", StaffTask.due_at < as_of)
    assert count(db, overdue) > 0
    assert count(db, select(func.count()).where(Event.kind == "task_done")) == len(done)


def test_accounts(db: Session) -> None:
    accounts = {a.username: a for a in db.scalars(select(Account))}
    expected = {
        "admin": ("admin", "all"),
        "lead": ("private_domain_lead", "all"),
        "region": ("manager", "subtree"),
        "store": ("manager", "unit"),
        "guide": ("guide", "self"),
        "operator": ("operator", "all"),
        "analyst": ("analyst", "all"),
    }
    assert {u: (a.permission_role, a.data_scope) for u, a in accounts.items()} == expected
    assert accounts["guide"].staff_id is not None
    guide_role = db.scalar(
        select(StaffRole.role_code).where(StaffRole.staff_id == accounts["guide"].staff_id)
    )
    assert guide_role == "guide"
    region = db.scalar(select(OrgUnit.kind).where(OrgUnit.id == accounts["region"].scope_unit_id))
    assert region == "region"
    assert verify_password(accounts["admin"].password_hash or "", "admin-demo-2026")
    own = count(db, select(func.count()).where(Customer.owner_staff_id == accounts["guide"].staff_id))
    assert own > 0
    assert json.dumps(built_detail(db))  # the audit row is plain JSON


def built_detail(db: Session) -> dict[str, object]:
    from siyu.models import AuditLog

    detail = db.scalar(select(AuditLog.detail).where(AuditLog.action == "demo.build"))
    assert isinstance(detail, dict)
    return detail
