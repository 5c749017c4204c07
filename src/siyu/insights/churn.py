"""Churn risk on customer_insights and the warnings it opens; the scoped warning list for the console.

At risk (churn_risk) = purchase_days ≥ min_purchase_days and (p_alive < p_alive_below or overdue_days > 0).
overdue_days = max(0, floor(days since the last purchase − overdue_factor × expected_gap_days)) for
repeat buyers (purchase_days ≥ 2) with an expected gap; the refresh writes it, and apply_churn fills it
where it was left empty, with the same formula. A warning opens for an at-risk live customer who has no
open warning and no warning issued on or after their last purchase (one warning per lapse: a customer
whose warning expired is warned again only after buying again and lapsing again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from siyu.customers.repository import readable
from siyu.errors import Invalid
from siyu.insights.contract import ChurnSettings
from siyu.models import Customer
from siyu.models.insights import ChurnWarning, CustomerInsight
from siyu.org.permissions import Actor

WARNING_STATUSES = ("open", "recalled", "expired")
WARNING_REASONS = ("p_alive", "overdue", "both")


def _days_since_last(dialect: str, as_of: date) -> Any:
    """as_of − last_order_on in days, in SQL."""
    ci = CustomerInsight
    if dialect == "postgresql":
        return literal(as_of, Date) - ci.last_order_on
    return cast(func.julianday(as_of.isoformat()) - func.julianday(ci.last_order_on), Integer)


def _overdue_fill(dialect: str, as_of: date, settings: ChurnSettings) -> tuple[Any, Any]:
    """(condition: overdue_days left empty for a repeat buyer with an expected gap, the value to fill in)."""
    ci = CustomerInsight
    late = _days_since_last(dialect, as_of) - settings.overdue_factor * ci.expected_gap_days
    # floor(x) for x ≥ 1: SQLite's CAST truncates (= floor for positives), PostgreSQL's CAST would round.
    whole = cast(func.floor(late), Integer) if dialect == "postgresql" else cast(late, Integer)
    missing = and_(
        ci.overdue_days.is_(None),
        ci.expected_gap_days.is_not(None),
        ci.last_order_on.is_not(None),
        ci.purchase_days >= 2,
    )
    return missing, case((late >= 1, whole), else_=0)


def risk_mask(purchase_days: np.ndarray, p_alive: np.ndarray, overdue_days: np.ndarray, settings: ChurnSettings) -> np.ndarray:  # fmt: skip
    """churn_risk for arrays (NaN p_alive / negative overdue = unknown): lets the refresh write the final value.

    apply_churn only updates rows whose stored churn_risk differs, so a refresh that writes this
    value saves a full-table UPDATE (about 17 s for 320,000 rows on PostgreSQL).
    """
    with np.errstate(invalid="ignore"):
        low_alive = np.nan_to_num(p_alive, nan=np.inf) < settings.p_alive_below
    return (purchase_days >= settings.min_purchase_days) & (low_alive | (overdue_days > 0))


def apply_churn(session: Session, run_id: int | None, as_of: date, settings: ChurnSettings) -> dict[str, int]:
    """Set churn_risk on every scored customer and open warnings for new at-risk customers (set-based)."""
    ci, cw = CustomerInsight, ChurnWarning
    dialect = session.get_bind().dialect.name
    missing, fill = _overdue_fill(dialect, as_of, settings)
    overdue_days = case((missing, fill), else_=ci.overdue_days)
    low_alive = func.coalesce(ci.p_alive < settings.p_alive_below, False)
    overdue = func.coalesce(overdue_days > 0, False)
    risk = case(
        (and_(ci.purchase_days >= settings.min_purchase_days, or_(low_alive, overdue)), True), else_=False
    )
    filled = session.scalar(select(func.count()).select_from(ci).where(missing)) or 0
    # One UPDATE touching only rows that change: on PostgreSQL every update of a row the refresh
    # inserted in this transaction re-runs its foreign-key checks (~50 µs a row under load).
    session.execute(
        update(ci)
        .where(or_(missing, ci.churn_risk != risk))
        .values(overdue_days=overdue_days, churn_risk=risk),
        execution_options={"synchronize_session": False},
    )
    if dialect == "postgresql":
        # The refresh has just rewritten these tables in this transaction; with the old statistics
        # PostgreSQL expects one at-risk row and probes churn_warnings by a full index scan per row
        # (320,000 at-risk customers took over 13 minutes). Fresh samples take well under a second.
        session.execute(text("ANALYZE customer_insights, churn_warnings"))
    # Each customer's past warnings folded to one row first and hash-joined: a correlated NOT EXISTS
    # on the table being inserted into was planned on PostgreSQL as a nested loop whose inner scan also
    # walks the rows the statement has just inserted (quadratic; minutes at 300,000 warnings).
    past = (
        select(
            cw.customer_id.label("customer_id"),
            func.max(cw.warned_on).label("last_warned"),
            func.max(case((cw.status == "open", 1), else_=0)).label("has_open"),
        )
        .group_by(cw.customer_id)
        .subquery("past")
    )
    already = and_(
        past.c.customer_id.is_not(None),
        or_(past.c.has_open == 1, past.c.last_warned >= ci.last_order_on),
    )
    reason = case((and_(low_alive, overdue), "both"), (low_alive, "p_alive"), else_="overdue")
    rows = (
        select(
            ci.customer_id,
            Customer.owner_staff_id,
            Customer.home_store_id,
            literal(as_of, Date),
            reason,
            ci.p_alive,
            ci.overdue_days,
            ci.clv_fen,
            literal("open"),
            literal(as_of + timedelta(days=settings.recall_window_days), Date),
            literal(run_id, BigInteger),
        )
        .join(Customer, Customer.id == ci.customer_id)
        .outerjoin(past, past.c.customer_id == ci.customer_id)
        .where(ci.churn_risk.is_(True), Customer.merged_into_id.is_(None), ~already)
        .order_by(ci.customer_id)  # warning ids follow customer ids on both databases
    )
    columns = ["customer_id", "owner_staff_id", "home_store_id", "warned_on", "reason", "p_alive",
               "overdue_days", "clv_fen", "status", "window_ends_on", "run_id"]  # fmt: skip
    before = session.scalar(select(func.max(cw.id))) or 0
    session.execute(insert(cw).from_select(columns, rows))
    # Counted, not taken from rowcount: psycopg reports -1 for INSERT … SELECT here.
    opened = session.scalar(select(func.count()).select_from(cw).where(cw.id > before)) or 0
    at_risk = session.scalar(select(func.count()).select_from(ci).where(ci.churn_risk.is_(True))) or 0
    return {
        "at_risk": int(at_risk),
        "warnings_opened": int(opened),
        "overdue_filled": filled,
    }


@dataclass(frozen=True, slots=True)
class WarningRow:
    """One churn warning as the console lists it (ids and figures; names and masking are the page's job)."""

    id: int
    customer_id: int
    owner_staff_id: int | None
    home_store_id: int | None
    warned_on: date
    reason: str
    p_alive: float | None
    overdue_days: int | None
    clv_fen: int | None
    status: str
    window_ends_on: date
    recalled_on: date | None
    recalled_order_id: int | None


def warning_list(
    session: Session,
    actor: Actor,
    day: date | None,
    *,
    owner_staff_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[WarningRow], int]:
    """Readable warnings issued on day (any day when None), highest CLV first, and how many match."""
    if status is not None and status not in WARNING_STATUSES:
        raise Invalid(f"warning status {status!r} is not one of: {', '.join(WARNING_STATUSES)}")
    if not 1 <= limit <= 1000 or offset < 0:
        raise Invalid(f"warning list: limit must be 1..1000 and offset ≥ 0 (got {limit}, {offset})")
    cw = ChurnWarning
    clauses = [readable(actor), Customer.merged_into_id.is_(None)]
    if day is not None:
        clauses.append(cw.warned_on == day)
    if owner_staff_id is not None:
        clauses.append(cw.owner_staff_id == owner_staff_id)
    if status is not None:
        clauses.append(cw.status == status)
    base = select(cw).join(Customer, Customer.id == cw.customer_id).where(*clauses)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    found: Sequence[ChurnWarning] = session.scalars(
        base.order_by(cw.warned_on.desc(), cw.clv_fen.desc().nulls_last(), cw.id).limit(limit).offset(offset)
    ).all()
    rows = [
        WarningRow(w.id, w.customer_id, w.owner_staff_id, w.home_store_id, w.warned_on, w.reason, w.p_alive,
                   w.overdue_days, w.clv_fen, w.status, w.window_ends_on, w.recalled_on, w.recalled_order_id)
        for w in found
    ]  # fmt: skip
    return rows, int(total)
