"""Experiment queries: arms, sticky assignments (insert-if-absent) and the set-based outcome counts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Select, and_, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from siyu.customers.repository import readable
from siyu.db.base import Base
from siyu.models import (
    ChatMessage,
    Customer,
    Experiment,
    ExperimentArm,
    ExperimentAssignment,
    MessageDirection,
    Order,
    OutboundMessage,
    SendStatus,
)
from siyu.org.permissions import Actor, DataScope
from siyu.performance.metrics_results import COUNTED, NET_FEN

# A touch that reached (or is on its way to) the customer; failed/capped/opted-out ones did not.
TOUCHED = (SendStatus.queued, SendStatus.sent, SendStatus.confirmed)

_Ts = TypeVarTuple("_Ts")

# Customers per IN list: far below SQLite's and PostgreSQL's parameter limits.
CHUNK = 5000


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterator[Sequence[int]]:
    """ids in slices of at most size."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def hash_unit(salt: str, customer_id: int) -> float:
    """A uniform number in [0, 1) from SHA-256 of "<salt>:<customer_id>" (first 8 bytes, big-endian / 2**64).

    SHA-256 rather than Python's hash(): stable across processes and versions, and its output bits
    are uniform for any input, so the split follows the weights whatever the customer ids look like.
    """
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def pick_arm(salt: str, customer_id: int, arms: Sequence[tuple[int, int]]) -> int:
    """The arm id for customer_id: arms = [(arm_id, weight)] in a fixed order, cut by cumulative weight."""
    total = sum(w for _, w in arms)
    point = hash_unit(salt, customer_id) * total
    running = 0
    for arm_id, weight in arms:
        running += weight
        if point < running:
            return arm_id
    return arms[-1][0]  # only reachable through float rounding at the very top


def get_experiment(session: Session, experiment_id: int) -> Experiment | None:
    """The experiment with experiment_id."""
    return session.get(Experiment, experiment_id)


def arms_of(session: Session, experiment_id: int) -> list[ExperimentArm]:
    """The experiment's arms in id order (the first is the control)."""
    return list(
        session.scalars(
            select(ExperimentArm)
            .where(ExperimentArm.experiment_id == experiment_id)
            .order_by(ExperimentArm.id)
        )
    )


def arms_for(session: Session, experiment_ids: Sequence[int]) -> dict[int, list[ExperimentArm]]:
    """Arms of several experiments (one query), each list in id order."""
    out: dict[int, list[ExperimentArm]] = {i: [] for i in experiment_ids}
    if not experiment_ids:
        return out
    rows = session.scalars(
        select(ExperimentArm)
        .where(ExperimentArm.experiment_id.in_(set(experiment_ids)))
        .order_by(ExperimentArm.id)
    )
    for arm in rows:
        out[arm.experiment_id].append(arm)
    return out


def existing_assignments(session: Session, experiment_id: int, customer_ids: Sequence[int]) -> dict[int, int]:
    """customer_id -> arm_id for those of customer_ids already assigned (one IN query per chunk)."""
    found: dict[int, int] = {}
    for part in chunks(customer_ids):
        rows = session.execute(
            select(ExperimentAssignment.customer_id, ExperimentAssignment.arm_id).where(
                ExperimentAssignment.experiment_id == experiment_id,
                ExperimentAssignment.customer_id.in_(part),
            )
        )
        found.update({int(c): int(a) for c, a in rows})
    return found


def insert_assignments_if_absent(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert assignment rows, silently keeping any (experiment, customer) row that already exists.

    ON CONFLICT DO NOTHING on both dialects: two workers assigning the same customer at once
    cannot fail or create a second row; the caller re-reads to learn which row won.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert
    table = Base.metadata.tables["experiment_assignments"]
    stmt = maker(table).on_conflict_do_nothing(index_elements=["experiment_id", "customer_id"])
    # executemany on the Core table: the drivers batch it (insertmanyvalues), no per-row round trip.
    session.connection().execute(stmt, list(rows))


def _in_scope(query: Select[*_Ts], actor: Actor) -> Select[*_Ts]:
    # Only scoped actors pay for the join: readable() is true() for scope "all".
    if actor.scope is DataScope.all:
        return query
    return query.join(Customer, Customer.id == ExperimentAssignment.customer_id).where(readable(actor))


def assignment_counts(session: Session, actor: Actor, experiment_id: int) -> dict[int, int]:
    """arm_id -> number of the actor's readable customers assigned to it."""
    query = select(ExperimentAssignment.arm_id, func.count()).where(
        ExperimentAssignment.experiment_id == experiment_id
    )
    rows = session.execute(_in_scope(query, actor).group_by(ExperimentAssignment.arm_id))
    return {int(a): int(n) for a, n in rows}


def list_experiments(session: Session) -> list[Experiment]:
    """Every experiment, newest first."""
    return list(session.scalars(select(Experiment).order_by(Experiment.id.desc())))


def assigned_per_experiment(session: Session, actor: Actor, experiment_ids: Sequence[int]) -> dict[int, int]:
    """experiment_id -> the actor's readable customers assigned (one grouped query)."""
    if not experiment_ids:
        return {}
    query = select(ExperimentAssignment.experiment_id, func.count()).where(
        ExperimentAssignment.experiment_id.in_(set(experiment_ids))
    )
    rows = session.execute(_in_scope(query, actor).group_by(ExperimentAssignment.experiment_id))
    return {int(e): int(n) for e, n in rows}


@dataclass
class Recipient:
    """One recipient of an arm: first touch, first reply after it, and counted orders after it."""

    customer_id: int
    arm_id: int
    touched_at: datetime
    first_reply_at: datetime | None = None
    orders: list[tuple[datetime, int]] | None = None  # (paid_at, net fen) of counted orders after the touch

    def replied_within(self, horizon: timedelta) -> bool:
        """Whether the customer replied after the touch, at most horizon later."""
        return self.first_reply_at is not None and self.first_reply_at <= self.touched_at + horizon

    def orders_within(self, horizon: timedelta) -> list[tuple[datetime, int]]:
        """Counted orders paid after the touch, at most horizon later."""
        end = self.touched_at + horizon
        return [o for o in self.orders or [] if o[0] <= end]


def recipients(session: Session, actor: Actor, experiment_id: int, arm_ids: Sequence[int]) -> list[Recipient]:
    """Every readable recipient of the arms with reply and orders after the touch (three set-based queries).

    A recipient is an assigned customer with an outbound message carrying their own arm in a
    touched status (queued/sent/confirmed); the touch is their first such message. Replies are
    customer_to_staff chat messages after the touch; orders are counted orders (not refunded in
    full, as the performance metrics count them) paid after the touch, valued net of refunds.
    The horizon is applied by the caller, so one read serves every horizon question.
    """
    if not arm_ids:
        return []
    first = (
        select(
            OutboundMessage.customer_id.label("customer_id"),
            ExperimentAssignment.arm_id.label("arm_id"),
            func.min(OutboundMessage.created_at).label("touched_at"),
        )
        .join(
            ExperimentAssignment,
            and_(
                ExperimentAssignment.experiment_id == experiment_id,
                ExperimentAssignment.customer_id == OutboundMessage.customer_id,
                ExperimentAssignment.arm_id == OutboundMessage.experiment_arm_id,
            ),
        )
        .join(Customer, Customer.id == OutboundMessage.customer_id)
        .where(
            OutboundMessage.experiment_arm_id.in_(list(arm_ids)),
            OutboundMessage.status.in_(TOUCHED),
            readable(actor),
        )
        .group_by(OutboundMessage.customer_id, ExperimentAssignment.arm_id)
        .subquery()
    )
    found = {
        int(c): Recipient(int(c), int(a), t)
        for c, a, t in session.execute(select(first.c.customer_id, first.c.arm_id, first.c.touched_at))
    }
    replies = session.execute(
        select(first.c.customer_id, func.min(ChatMessage.sent_at))
        .join(
            ChatMessage,
            and_(
                ChatMessage.customer_id == first.c.customer_id,
                ChatMessage.direction == MessageDirection.customer_to_staff,
                ChatMessage.sent_at > first.c.touched_at,
            ),
        )
        .group_by(first.c.customer_id)
    )
    for customer_id, at in replies:
        found[int(customer_id)].first_reply_at = at
    orders = session.execute(
        select(first.c.customer_id, Order.paid_at, NET_FEN).join(
            Order, and_(Order.customer_id == first.c.customer_id, Order.paid_at > first.c.touched_at, COUNTED)
        )
    )
    for customer_id, paid_at, net in orders:
        r = found[int(customer_id)]
        r.orders = [*(r.orders or []), (paid_at, int(net))]
    return sorted(found.values(), key=lambda r: (r.touched_at, r.customer_id))
