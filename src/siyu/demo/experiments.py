"""Demo experiments: a finished welcome-script A/B test and one still collecting, with consistent raw rows."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.journeys.experiment_repository import arms_of
from siyu.journeys.experiment_schemas import ArmIn, ExperimentCreate
from siyu.journeys.experiment_service import assign_arms, create_experiment, start_experiment, stop_experiment
from siyu.journeys.scripts_repository import search_text_of
from siyu.models import (
    ChatMessage,
    Customer,
    CustomerIdentity,
    Experiment,
    ExperimentMetric,
    IdentityKind,
    MessageDirection,
    OutboundMessage,
    Script,
    ScriptApproval,
    SendStatus,
    Staff,
    StaffStatus,
)
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.timeutil import day_start_utc

SEED = 20260302
# (category, parent title, parent body, variant body): used only when the library has no approved pair.
PAIRS = {
    "welcome": (
        "新客欢迎语",
        "{name}您好，我是{store}的{guide}，以后有任何护肤问题都可以找我～",
        "{name}您好呀！我是{guide}，送您一张新人券{coupon}，到店或小程序都能用，有问题随时问我哦",
    ),
    "follow_up": (
        "购后回访",
        "{name}您好，上次买的产品用得怎么样？有任何问题都可以告诉我。",
        "{name}您好～用了几天感觉如何？回复「1」我发您一份专属使用小贴士",
    ),
}
REPLIES = ["好的谢谢", "收到～", "请问新人券怎么用？", "有试用装吗", "谢谢，周末去店里看看", "好的"]


def _variant_pair(session: Session, category: str, at: datetime) -> tuple[int, int]:
    """An approved script of category with an approved variant (the library's if present, else created)."""
    parent = Script.__table__.alias("parent")
    row = session.execute(
        select(parent.c.id, Script.id)
        .join(Script, Script.parent_id == parent.c.id)
        .where(
            parent.c.category == category,
            parent.c.approval == ScriptApproval.approved,
            Script.approval == ScriptApproval.approved,
        )
        .order_by(parent.c.id, Script.id)
        .limit(1)
    ).first()
    if row is not None:
        return int(row[0]), int(row[1])
    title, body_a, body_b = PAIRS[category]
    a = Script(
        title=title,
        category=category,
        scenario="A/B",
        body=body_a,
        approval=ScriptApproval.approved,
        search_text=search_text_of(title, "A/B", body_a),
        reviewed_at=at,
        created_at=at,  # fixed times keep the demo's rows deterministic
        updated_at=at,
    )
    session.add(a)
    session.flush()
    b = Script(
        title=f"{title}（B）",
        category=category,
        scenario="A/B",
        body=body_b,
        approval=ScriptApproval.approved,
        parent_id=a.id,
        variant_label="B",
        search_text=search_text_of(f"{title}（B）", "A/B", body_b),
        reviewed_at=at,
        created_at=at,
        updated_at=at,
    )
    session.add(b)
    session.flush()
    return a.id, b.id


def _touch(
    session: Session,
    rng: np.random.Generator,
    experiment: Experiment,
    people: list[tuple[int, int, tuple[str, str | None]]],
    start: datetime,
    days: int,
    truth: dict[str, float],
) -> dict[str, int]:
    """Assign, then write one confirmed touch per customer and replies drawn from each arm's true reply rate.

    Orders are never invented here: the order outcome counts the brand's real orders after the touch, so
    every order figure elsewhere (rollups, leaderboard, RFM) stays reconciled with the same rows.
    """
    owner = {c: (s, chat) for c, s, chat in people}
    assigned = assign_arms(session, experiment.id, [c for c, _, _ in people], start)
    labels = {a.id: a.label for a in arms_of(session, experiment.id)}
    out, chats = [], []
    for c in sorted(assigned):
        arm_id, script_id = assigned[c]
        reply_rate = truth[labels[arm_id]]
        staff_id, (external, userid) = owner[c]
        at = start + timedelta(minutes=int(rng.integers(0, days * 24 * 60)))
        out.append(
            OutboundMessage(
                idempotency_key=f"demo-exp:{experiment.id}:c{c}",
                channel="staff_task",
                source_type=experiment.source_type,
                source_id=None,  # a demo touch: no mass send or journey row behind it
                customer_id=c,
                staff_id=staff_id,
                script_id=script_id,
                experiment_arm_id=arm_id,
                status=SendStatus.confirmed,
                created_at=at,
                sent_at=at,
                confirmed_at=at + timedelta(minutes=20),
            )
        )
        if rng.random() < reply_rate:
            # Most replies come within a day; about one in ten only after the horizon (not counted).
            late = rng.random() < 0.1
            hours = (
                experiment.horizon_hours + rng.uniform(1, 48)
                if late
                else rng.exponential(6) % experiment.horizon_hours
            )
            chats.append(
                ChatMessage(
                    msgid=f"demo-exp-{experiment.id}-{c}",
                    sender=external,
                    receivers=userid,
                    direction=MessageDirection.customer_to_staff,
                    staff_id=staff_id,
                    customer_id=c,
                    msg_type="text",
                    text=str(rng.choice(REPLIES)),
                    sent_at=at + timedelta(hours=float(hours)),
                )
            )
    session.add_all([*out, *chats])
    session.flush()
    return {"outbound": len(out), "replies": len(chats)}


def seed_experiments(session: Session, as_of: date) -> dict[str, int]:
    """A finished welcome A/B test (B really better) and a collecting follow-up test; returns row counts."""
    rng = np.random.default_rng(SEED)
    end = day_start_utc(as_of + timedelta(days=1))
    # WeCom contacts of staff still employed, in the chat archive: touch and reply are a real 1:1 chat.
    pool = [
        (int(c), s, (external, userid))
        for c, s, external, userid in session.execute(
            select(Customer.id, Customer.owner_staff_id, CustomerIdentity.value, Staff.wecom_userid)
            .join(Staff, Staff.id == Customer.owner_staff_id)
            .join(
                CustomerIdentity,
                (CustomerIdentity.customer_id == Customer.id)
                & (CustomerIdentity.kind == IdentityKind.wecom_external_userid),
            )
            .where(
                Customer.merged_into_id.is_(None),
                Staff.status == StaffStatus.active,
                Customer.chat_archive_consent.is_(True),  # the archive holds only consenting customers' chats
            )
            .order_by(Customer.id)
        )
    ]
    order = rng.permutation(len(pool))
    shuffled = [pool[i] for i in order]
    counts = {"experiments": 0, "outbound": 0, "replies": 0}

    welcome_a, welcome_b = _variant_pair(session, "welcome", end - timedelta(days=45))
    finished = create_experiment(
        session,
        SYSTEM_ACTOR,
        ExperimentCreate(
            name="新客欢迎语 A/B：标准版 vs 新人券版",
            source_type="journey_step",
            source_ref="journey:new_contact:step:day0",
            metric=ExperimentMetric.reply,
            horizon_hours=48,
            baseline_rate=0.3,
            mde=0.12,
            arms=[ArmIn(label="A", script_id=welcome_a), ArmIn(label="B", script_id=welcome_b)],
        ),
    )
    start = end - timedelta(days=40)
    finished.salt, finished.created_at = "demo-welcome", start  # deterministic demo rows
    start_experiment(session, SYSTEM_ACTOR, finished.id, start)
    take = min(len(shuffled), 2 * finished.min_sample_per_arm + 200)
    made = _touch(session, rng, finished, shuffled[:take], start, 21, {"A": 0.30, "B": 0.44})
    stop_experiment(session, SYSTEM_ACTOR, finished.id, start + timedelta(days=24))
    counts = {k: counts[k] + made.get(k, 0) for k in counts}

    follow_a, follow_b = _variant_pair(session, "follow_up", end - timedelta(days=45))
    collecting = create_experiment(
        session,
        SYSTEM_ACTOR,
        ExperimentCreate(
            name="购后回访话术 A/B（进行中）",
            source_type="mass_send",
            metric=ExperimentMetric.order,
            horizon_hours=72,
            baseline_rate=0.05,
            mde=0.03,
            arms=[ArmIn(label="A", script_id=follow_a), ArmIn(label="B", script_id=follow_b)],
        ),
    )
    start = end - timedelta(days=4)
    collecting.salt, collecting.created_at = "demo-follow-up", start
    start_experiment(session, SYSTEM_ACTOR, collecting.id, start)
    rest = shuffled[
        take : take + min(300, collecting.min_sample_per_arm)
    ]  # well short of the plan: collecting
    made = _touch(session, rng, collecting, rest, start, 4, {"A": 0.2, "B": 0.2})
    counts = {k: counts[k] + made.get(k, 0) for k in counts}
    counts["experiments"] = 2
    return counts
