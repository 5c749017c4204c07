"""Helpers for the lifecycle and churn tests: customers, a refresh run and customer_insights rows written directly."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from siyu.models import AcquisitionSource, Customer, LifecycleStage
from siyu.models.insights import CustomerInsight, InsightRun
from siyu.timeutil import day_start_utc

AS_OF = date(2026, 10, 31)


def seen_at(days_ago: int, as_of: date = AS_OF, hour: int = 10) -> datetime:
    """An aware moment at a brand-local hour, days_ago days before as_of."""
    return day_start_utc(as_of - timedelta(days=days_ago)) + timedelta(hours=hour)


def new_run(session: Session, as_of: date = AS_OF) -> int:
    """An insight_runs row to hang results on."""
    run = InsightRun(as_of=as_of, status="done", started_at=day_start_utc(as_of))
    session.add(run)
    session.flush()
    return run.id


def add_customer(
    session: Session,
    *,
    seen_days_ago: int = 400,
    stage: LifecycleStage = LifecycleStage.new,
    owner_staff_id: int | None = None,
    home_store_id: int | None = None,
    as_of: date = AS_OF,
) -> int:
    """A customer first seen seen_days_ago days before as_of, currently in stage."""
    c = Customer(
        name="c",
        source=AcquisitionSource.order,
        first_seen_at=seen_at(seen_days_ago, as_of),
        lifecycle_stage=stage,
        owner_staff_id=owner_staff_id,
        home_store_id=home_store_id,
    )
    session.add(c)
    session.flush()
    return c.id


def set_insight(
    session: Session,
    run_id: int,
    customer_id: int,
    *,
    purchase_days: int,
    last_days_ago: int | None,
    as_of: date = AS_OF,
    p_alive: float | None = None,
    expected_gap_days: float | None = None,
    overdue_days: int | None = None,
    clv_fen: int | None = None,
) -> None:
    """Insert or replace a customer's customer_insights row."""
    last = None if last_days_ago is None else as_of - timedelta(days=last_days_ago)
    row = session.get(CustomerInsight, customer_id)
    if row is None:
        row = CustomerInsight(customer_id=customer_id)
        session.add(row)
    row.run_id = run_id
    row.computed_on = as_of
    row.purchase_days = purchase_days
    row.first_order_on = last if purchase_days <= 1 else (None if last is None else last - timedelta(days=60))
    row.last_order_on = last
    row.recency_days = last_days_ago
    row.p_alive = p_alive
    row.expected_gap_days = expected_gap_days
    row.overdue_days = overdue_days
    row.clv_fen = clv_fen
    row.churn_risk = False
    session.flush()
