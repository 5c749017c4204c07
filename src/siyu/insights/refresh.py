"""The insights refresh: one unit of work from orders to scores, RFM, lifecycle stages and churn warnings.

The caller (CLI, worker job, demo builder, benchmark) owns the transaction: a refresh that raises
leaves nothing behind once the caller rolls back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from siyu.db.bulk import suspend_foreign_keys
from siyu.db.types import utcnow
from siyu.insights.churn import apply_churn, risk_mask
from siyu.insights.contract import InsightSettings
from siyu.insights.lifecycle import apply_lifecycle
from siyu.insights.recall import track_recalls
from siyu.insights.rfm import score_rfm
from siyu.insights.scoring import Progress, Steps, fit_and_score
from siyu.insights.settings import load_settings
from siyu.insights.store import (
    InsightColumns,
    prune_snapshots,
    replace_insights,
    segment_sizes,
    write_segment_sizes,
    write_snapshots,
)
from siyu.insights.summary import load_purchase_summary
from siyu.models import Customer
from siyu.models.insights import ChurnWarning, InsightRun
from siyu.timeutil import brand_zone, local_date


def default_as_of(now: datetime, zone: ZoneInfo) -> date:
    """The last complete brand-local day before now (scores describe the end of that day)."""
    return local_date(now, zone) - timedelta(days=1)


def _minus(n: int) -> np.ndarray:
    return np.full(n, -1, dtype=np.int64)


def refresh_insights(
    session: Session,
    *,
    as_of: date | None = None,
    now: datetime | None = None,
    zone: ZoneInfo | None = None,
    progress: Progress | None = None,
) -> InsightRun:
    """Recompute every customer's scores as of the end of as_of (default: brand-local yesterday)."""
    zone = zone or brand_zone()
    day = as_of or default_as_of(now or utcnow(), zone)
    # Every reference written below is built from rows just read (customers, this run): skip SQLite's
    # per-row foreign-key probes when the refresh opens its own transaction (worker, CLI, bench).
    suspend_foreign_keys(session, new_rows=1_000_000)
    with _without_row_triggers(session):
        return _refresh(session, day, zone, progress)


@contextmanager
def _without_row_triggers(session: Session) -> Iterator[None]:
    """PostgreSQL's counterpart of suspend_foreign_keys for the refresh, when the role may set it.

    session_replication_role = replica skips the per-row foreign-key triggers (the schema has no
    other triggers): a third of the cost of each bulk write here (~12 s of 35 s for 845k insight
    rows). Every reference the refresh writes comes from rows it read in this transaction, and Siyu
    never deletes customers, staff or org units. SET LOCAL: a rollback restores it too.
    """
    bind = session.get_bind()
    version = bind.dialect.server_version_info or (0,)
    if bind.dialect.name != "postgresql":
        yield
        return
    allowed = session.scalar(text("SELECT current_setting('is_superuser') = 'on'"))
    if not allowed and version >= (15,):
        allowed = session.scalar(text("SELECT has_parameter_privilege('session_replication_role', 'SET')"))
    # The lifecycle and churn joins hash ~1M customers: more than the default 4MB spills to disk.
    work_mem = session.scalar(text("SELECT current_setting('work_mem')"))
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    if allowed:
        session.execute(text("SET LOCAL session_replication_role = replica"))
    yield
    if allowed:
        session.execute(text("SET LOCAL session_replication_role = origin"))
    session.execute(text("SELECT set_config('work_mem', :value, true)"), {"value": work_mem})


def _refresh(session: Session, day: date, zone: ZoneInfo, progress: Progress | None) -> InsightRun:
    version, settings = load_settings(session)
    run = InsightRun(
        as_of=day,
        status="running",
        settings_version=version,
        settings=settings.model_dump(mode="json"),
        started_at=utcnow(),
    )
    session.add(run)
    session.flush()
    steps = Steps(progress)
    started = time.perf_counter()
    figures, models, notes = _compute_and_store(session, run.id, day, zone, settings, steps)
    with steps.step("lifecycle"):
        figures["lifecycle_step"] = apply_lifecycle(session, run.id, day, settings.lifecycle)
    with steps.step("recall"):
        figures["recall_step"] = track_recalls(session, day, settings.churn)
    with steps.step("churn"):
        figures["churn_step"] = apply_churn(session, run.id, day, settings.churn)
    with steps.step("counts"):
        figures["lifecycle"] = _lifecycle_counts(session)
        figures["warnings_opened"] = int(
            session.scalar(select(func.count()).where(ChurnWarning.run_id == run.id)) or 0
        )
    steps.seconds["total"] = round(time.perf_counter() - started, 3)
    figures["timings"] = steps.seconds
    run.models = models
    run.figures = figures
    run.message = "; ".join(notes) or None
    run.status = "done"
    run.finished_at = utcnow()
    session.flush()
    return run


def _lifecycle_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Customer.lifecycle_stage, func.count())
        .where(Customer.merged_into_id.is_(None))
        .group_by(Customer.lifecycle_stage)
    ).all()
    return {str(stage.value if hasattr(stage, "value") else stage): int(n) for stage, n in sorted(rows)}


def _compute_and_store(
    session: Session, run_id: int, day: date, zone: ZoneInfo, settings: InsightSettings, steps: Steps
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    with steps.step("load_summary"):
        summary = load_purchase_summary(session, day, rfm_window_days=settings.rfm.window_days, zone=zone)
    n = int(summary.customer_id.shape[0])
    today = day.toordinal()
    purchase_days = summary.purchase_days.astype(np.int64)
    buyer = purchase_days > 0
    recency = np.where(buyer, today - summary.last_day, -1).astype(np.int64)
    scores = fit_and_score(summary, day, settings, buyer, steps)
    # Overdue (repeat buyers only): days since the last purchase beyond overdue_factor × own expected gap.
    overdue = _minus(n)
    gap = scores.expected_gap_days
    late = buyer & (purchase_days >= 2) & ~np.isnan(gap)
    overdue[late] = np.maximum(0, np.floor(recency[late] - settings.churn.overdue_factor * gap[late]))
    with steps.step("rfm"):
        # Only customers with a counted order in the window are scored (the 口径 of RfmSettings).
        scored = summary.window_orders > 0
        r_score, f_score, m_score = _minus(n), _minus(n), _minus(n)
        segment = np.full(n, None, dtype=object)
        cuts: dict[str, Any] = {}
        if scored.any():
            rfm = score_rfm(
                recency[scored], summary.window_orders[scored], summary.window_spend_fen[scored], settings.rfm
            )
            r_score[scored], f_score[scored], m_score[scored] = rfm.r, rfm.f, rfm.m
            segment[scored] = rfm.segment
            cuts = rfm.cuts
        sizes = segment_sizes(segment, summary.window_spend_fen)
    cols = InsightColumns(
        customer_id=summary.customer_id,
        purchase_days=purchase_days,
        first_order_on=np.where(buyer, summary.first_day, -1),
        last_order_on=np.where(buyer, summary.last_day, -1),
        recency_days=recency,
        frequency=summary.window_orders,
        monetary_fen=summary.window_spend_fen,
        r_score=r_score,
        f_score=f_score,
        m_score=m_score,
        rfm_segment=segment,
        p_alive=scores.p_alive,
        expected_purchases=scores.expected_purchases,
        expected_value_fen=scores.expected_value_fen,
        clv_fen=scores.clv_fen,
        expected_gap_days=gap,
        overdue_days=overdue,
        churn_risk=risk_mask(purchase_days, scores.p_alive, overdue, settings.churn),
    )
    with steps.step("write_insights"):
        written = replace_insights(session, run_id, day, cols)
    with steps.step("write_snapshots"):
        snapshots = write_snapshots(session, day, summary.customer_id, segment)
        pruned = prune_snapshots(session, day, settings.rfm.snapshot_daily_days)
        write_segment_sizes(session, day, settings.rfm.scheme.value, sizes)
    figures: dict[str, Any] = {
        "customers": written,
        "buyers": int(buyer.sum()),
        "rfm_scored": int(scored.sum()),
        "rfm": {code: count for code, (count, _money) in sizes.items()},
        "rfm_cuts": cuts,
        "model_scored": int((~np.isnan(scores.p_alive)).sum()),
        "snapshots_written": snapshots,
        "snapshot_days_pruned": [d.isoformat() for d in pruned],
    }
    return figures, scores.models, scores.notes


def refresh_job(session: Session) -> dict[str, Any]:
    """The worker's nightly refresh of yesterday's scores, audited as the system (the worker commits)."""
    from siyu.audit import audit
    from siyu.org.permissions import SYSTEM_ACTOR

    run = refresh_insights(session)
    audit(session, SYSTEM_ACTOR, "insights.refresh", "insight_run", run.id, {"as_of": run.as_of.isoformat()})
    figures = run.figures or {}
    return {"run_id": run.id, "as_of": run.as_of.isoformat(), "customers": figures.get("customers", 0)}
