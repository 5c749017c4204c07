"""Small worlds for the experiment tests: customers, approved script variants, an experiment."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from siyu.journeys.experiment_schemas import ArmIn, ExperimentCreate
from siyu.journeys.experiment_service import assign_arms, create_experiment, start_experiment
from siyu.models import (
    AcquisitionSource,
    ChatMessage,
    Customer,
    Experiment,
    ExperimentArm,
    ExperimentMetric,
    ExperimentStatus,
    MessageDirection,
    Order,
    OrderChannel,
    OrderStatus,
    OutboundMessage,
    Script,
    ScriptApproval,
    SendStatus,
)
from siyu.org.permissions import SYSTEM_ACTOR

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
HORIZON = 48


def add_customers(session: Session, count: int) -> list[int]:
    """count customers (one bulk insert); their ids in order."""
    session.execute(
        insert(Customer),
        [{"name": f"c{i}", "source": AcquisitionSource.organic, "first_seen_at": T0} for i in range(count)],
    )
    session.flush()
    return sorted(int(c.id) for c in session.query(Customer).all())


def add_scripts(
    session: Session, labels: Sequence[str], approval: ScriptApproval = ScriptApproval.approved
) -> list[int]:
    """An approved parent script (first label) and its variants; their ids."""
    parent = Script(title="欢迎 A", category="welcome", body="你好 {name}", approval=approval)
    session.add(parent)
    session.flush()
    ids = [parent.id]
    for label in labels[1:]:
        s = Script(
            title=f"欢迎 {label}",
            category="welcome",
            body=f"您好 {{name}} {label}",
            approval=approval,
            parent_id=parent.id,
            variant_label=label,
        )
        session.add(s)
        session.flush()
        ids.append(s.id)
    return ids


def add_experiment(
    session: Session,
    weights: Sequence[int] = (1, 1),
    status: ExperimentStatus = ExperimentStatus.running,
    salt: str = "s3cr3t",
) -> tuple[int, list[int], list[int]]:
    """A running experiment with one arm per weight; (experiment id, arm ids, script ids)."""
    labels = [chr(ord("A") + i) for i in range(len(weights))]
    scripts = add_scripts(session, labels)
    exp = Experiment(
        name="welcome test",
        source_type="journey_step",
        metric=ExperimentMetric.reply,
        horizon_hours=48,
        alpha=0.05,
        power=0.8,
        baseline_rate=0.2,
        min_detectable_effect=0.05,
        min_sample_per_arm=100,
        salt=salt,
        status=status,
        started_at=T0,
    )
    session.add(exp)
    session.flush()
    arm_ids = []
    for label, script_id, weight in zip(labels, scripts, weights, strict=True):
        arm = ExperimentArm(experiment_id=exp.id, label=label, script_id=script_id, weight=weight)
        session.add(arm)
        session.flush()
        arm_ids.append(arm.id)
    return exp.id, arm_ids, scripts


def create_welcome(session: Session, scripts: list[int]) -> Experiment:
    """A draft two-arm reply experiment through the service (baseline 0.3, lift 0.25, horizon 48 h)."""
    data = ExperimentCreate(
        name="welcome A/B",
        baseline_rate=0.3,
        mde=0.25,
        horizon_hours=HORIZON,
        arms=[ArmIn(label=chr(65 + i), script_id=s) for i, s in enumerate(scripts)],
    )
    return create_experiment(session, SYSTEM_ACTOR, data)


def touch_world(session: Session, seed: int = 5) -> tuple[Experiment, list[int], dict[int, tuple[int, int]]]:
    """A started two-arm experiment over 240 customers with random touches, replies and orders (flushed)."""
    rng = random.Random(seed)
    customers = add_customers(session, 240)
    scripts = add_scripts(session, ["A", "B"])
    exp = create_welcome(session, scripts)
    start_experiment(session, SYSTEM_ACTOR, exp.id, T0)
    assigned = assign_arms(session, exp.id, customers, T0)
    outbound, chats, orders = [], [], []
    for n, c in enumerate(customers):
        arm, script = assigned[c]
        if n % 12 == 0:
            continue  # assigned but never touched
        touched = T0 + timedelta(hours=rng.randint(0, 200))
        status = rng.choice([SendStatus.queued, SendStatus.sent, SendStatus.confirmed, SendStatus.failed])
        outbound.append((f"t{c}", c, arm, script, status, touched))
        if rng.random() < 0.3:  # a second, later touch: the first one counts
            outbound.append((f"u{c}", c, arm, script, SendStatus.sent, touched + timedelta(hours=5)))
        for k in range(rng.randint(0, 2)):
            at = touched + timedelta(hours=rng.uniform(-10, 70))
            direction = rng.choice([MessageDirection.customer_to_staff, MessageDirection.staff_to_customer])
            chats.append((f"m{c}-{k}", c, direction, at))
        for k in range(rng.randint(0, 2)):
            amount = rng.randint(1000, 90000)
            refund = rng.choice([0, 0, amount // 3, amount])
            at = touched + timedelta(hours=rng.uniform(-10, 70))
            orders.append((f"o{c}-{k}", c, amount, refund, at))
    for key, c, arm, script, status, at in outbound:
        session.add(
            OutboundMessage(
                idempotency_key=key,
                channel="loopback",
                source_type="journey_step",
                customer_id=c,
                script_id=script,
                experiment_arm_id=arm,
                status=status,
                created_at=at,
            )
        )
    for msgid, c, direction, at in chats:
        session.add(
            ChatMessage(
                msgid=msgid, sender="x", direction=direction, customer_id=c, msg_type="text", sent_at=at
            )
        )
    for no, c, amount, refund, at in orders:
        paid = OrderStatus.paid if not refund else OrderStatus.partially_refunded
        session.add(
            Order(
                source="t",
                external_no=no,
                customer_id=c,
                channel=OrderChannel.store,
                amount_fen=amount,
                refund_fen=refund,
                status=paid,
                paid_at=at,
            )
        )
    session.flush()
    return exp, customers, assigned
