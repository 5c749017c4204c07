"""The refresh: stored figures reconcile with the raw rows, the run's record matches the tables, reruns replace."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.insights.bgnbd import bgnbd_expected_gap, bgnbd_p_alive
from siyu.insights.contract import BgNbdParams, InsightSettings, RfmScheme, RfmSettings
from siyu.insights.refresh import default_as_of, refresh_insights
from siyu.insights.service import latest_run, run_history
from siyu.insights.settings import save_settings
from siyu.insights.store import snapshot_days_to_prune
from siyu.models import Customer
from siyu.models.insights import ChurnWarning, CustomerInsight, InsightRun, RfmSegmentSize, RfmSnapshot
from siyu.org.permissions import SYSTEM_ACTOR
from tests.insights.refresh_world import AS_OF, ZONE, brute_force, build_world


def _rows(session: Session) -> dict[int, CustomerInsight]:
    return {r.customer_id: r for r in session.scalars(select(CustomerInsight))}


def test_scores_reconcile_with_the_raw_orders(session: Session) -> None:
    world = build_world(session)
    run = refresh_insights(session, as_of=AS_OF, zone=ZONE)
    truth = brute_force(session, AS_OF, InsightSettings().rfm.window_days)
    rows = _rows(session)
    assert world.merged_away not in rows  # merged customers are never scored
    assert truth[world.survivor].purchase_days > 0
    buyers = {c for c, t in truth.items() if t.purchase_days}
    assert buyers and buyers <= set(rows)
    for cust, t in truth.items():
        row = rows.get(cust)
        if not t.purchase_days:
            assert row is None or (row.purchase_days == 0 and row.last_order_on is None), cust
            continue
        assert row is not None and row.run_id == run.id and row.computed_on == AS_OF
        got = (row.purchase_days, row.first_order_on, row.last_order_on, row.frequency, row.monetary_fen)
        assert got == (t.purchase_days, t.first, t.last, t.window_orders, t.window_spend), cust
        assert t.last is not None and row.recency_days == (AS_OF - t.last).days
        assert (row.rfm_segment is not None) == (t.window_orders > 0)
    assert run.status == "done" and run.finished_at is not None and run.message is None


def test_model_scores_follow_the_stored_parameters(session: Session) -> None:
    build_world(session)
    run = refresh_insights(session, as_of=AS_OF, zone=ZONE)
    fit = (run.models or {})["bgnbd"]
    assert fit["converged"] is True and fit["n"] == (run.models or {})["calibration"]["customers"]
    params = BgNbdParams(r=fit["r"], alpha=fit["alpha"], a=fit["a"], b=fit["b"])
    gg = (run.models or {})["gamma_gamma"]
    assert gg["converged"] is True and gg["q"] > 1
    rows = [r for r in _rows(session).values() if r.purchase_days]
    assert rows
    x = np.array([float(r.purchase_days - 1) for r in rows])
    first = [r.first_order_on or AS_OF for r in rows]
    t_x = np.array([float(((r.last_order_on or AS_OF) - f).days) for r, f in zip(rows, first, strict=True)])
    big_t = np.array([float((AS_OF - f).days) for f in first])
    # T runs to the end of as_of: one day more than the day difference, or exactly it; both are
    # plausible conventions, so accept the one the summary uses — but it must be the same for all.
    stored = np.array([r.p_alive for r in rows], dtype=float)
    ok = [np.allclose(bgnbd_p_alive(params, x, t_x, big_t + k), stored, rtol=1e-9) for k in (0, 1)]
    assert any(ok)
    k = ok.index(True)
    gaps = np.array([r.expected_gap_days for r in rows], dtype=float)
    assert np.allclose(bgnbd_expected_gap(params, x, big_t + k), gaps, rtol=1e-9)
    assert all(r.clv_fen is not None and r.clv_fen >= 0 for r in rows)
    assert all(r.expected_purchases is not None and r.expected_purchases >= 0 for r in rows)
    # Overdue days: days since the last purchase past 1.5 × own expected gap, repeat buyers only.
    for r, gap in zip(rows, gaps, strict=True):
        if r.purchase_days >= 2:
            assert r.overdue_days == max(0, int(np.floor((r.recency_days or 0) - 1.5 * gap)))
        else:
            assert r.overdue_days is None


def test_the_run_records_what_the_tables_hold(session: Session) -> None:
    build_world(session)
    run = refresh_insights(session, as_of=AS_OF, zone=ZONE)
    figures = run.figures or {}
    by_segment = dict(
        session.execute(
            select(CustomerInsight.rfm_segment, func.count())
            .where(CustomerInsight.rfm_segment.is_not(None))
            .group_by(CustomerInsight.rfm_segment)
        ).all()
    )
    assert figures["rfm"] == by_segment and sum(by_segment.values()) == figures["rfm_scored"]
    sizes = session.scalars(select(RfmSegmentSize).where(RfmSegmentSize.computed_on == AS_OF)).all()
    assert {s.rfm_segment: s.customers for s in sizes} == by_segment
    assert {s.scheme for s in sizes} == {RfmScheme.eight_class.value}
    money = dict(
        session.execute(
            select(CustomerInsight.rfm_segment, func.sum(CustomerInsight.monetary_fen)).group_by(
                CustomerInsight.rfm_segment
            )
        ).all()
    )
    assert {s.rfm_segment: s.monetary_fen for s in sizes} == {k: v for k, v in money.items() if k}
    assert figures["customers"] == session.scalar(select(func.count()).select_from(CustomerInsight))
    assert figures["buyers"] == session.scalar(select(func.count()).where(CustomerInsight.purchase_days > 0))
    stages = dict(
        session.execute(
            select(Customer.lifecycle_stage, func.count())
            .where(Customer.merged_into_id.is_(None))
            .group_by(Customer.lifecycle_stage)
        ).all()
    )
    assert figures["lifecycle"] == {str(k.value): v for k, v in stages.items()}
    assert figures["warnings_opened"] == session.scalar(
        select(func.count()).where(ChurnWarning.run_id == run.id)
    )
    snapshots = session.scalar(select(func.count()).where(RfmSnapshot.computed_on == AS_OF))
    assert snapshots == figures["rfm_scored"] == figures["snapshots_written"]
    assert {
        "load_summary",
        "fit_bgnbd",
        "fit_gamma_gamma",
        "rfm",
        "write_insights",
        "lifecycle",
        "total",
    } <= set(figures["timings"])
    assert run.settings_version is None and run.settings == InsightSettings().model_dump(mode="json")


def test_a_second_refresh_the_same_day_replaces(session: Session) -> None:
    build_world(session)
    first = refresh_insights(session, as_of=AS_OF, zone=ZONE)
    before = {
        "insights": session.scalar(select(func.count()).select_from(CustomerInsight)),
        "snapshots": session.scalar(select(func.count()).select_from(RfmSnapshot)),
        "sizes": session.scalar(select(func.count()).select_from(RfmSegmentSize)),
    }
    second = refresh_insights(session, as_of=AS_OF, zone=ZONE)
    after = {
        "insights": session.scalar(select(func.count()).select_from(CustomerInsight)),
        "snapshots": session.scalar(select(func.count()).select_from(RfmSnapshot)),
        "sizes": session.scalar(select(func.count()).select_from(RfmSegmentSize)),
    }
    assert after == before and second.id != first.id
    assert set(session.scalars(select(CustomerInsight.run_id).distinct())) == {second.id}
    assert (second.figures or {})["rfm"] == (first.figures or {})["rfm"]
    assert latest_run(session) is second and [r.id for r in run_history(session, 5)] == [second.id, first.id]


def test_snapshot_retention_rule() -> None:
    days = [
        date(2026, 1, 30),
        date(2026, 1, 31),
        date(2026, 2, 1),
        date(2026, 2, 2),
        date(2026, 3, 4),
        date(2026, 3, 5),
    ]
    # Daily for 2 days (Mar 4, Mar 5); before that the first computed day of each month.
    assert snapshot_days_to_prune(days, date(2026, 3, 5), 2) == [date(2026, 1, 31), date(2026, 2, 2)]
    assert snapshot_days_to_prune(days, date(2026, 3, 5), 400) == []


def test_snapshots_are_pruned_by_the_settings(session: Session) -> None:
    build_world(session, customers=80)
    settings = InsightSettings(rfm=RfmSettings(snapshot_daily_days=2))
    save_settings(session, SYSTEM_ACTOR, settings, "short retention")
    for day in (
        date(2026, 8, 30),
        date(2026, 8, 31),
        date(2026, 9, 1),
        date(2026, 9, 2),
        date(2026, 10, 4),
        AS_OF,
    ):
        run = refresh_insights(session, as_of=day, zone=ZONE)
        assert run.settings_version == 1
    kept = sorted(session.scalars(select(RfmSnapshot.computed_on).distinct()))
    # Daily for the last 2 days (only AS_OF was computed among them), then each month's first computed day.
    assert kept == [date(2026, 8, 30), date(2026, 9, 1), date(2026, 10, 4), AS_OF]
    # Segment sizes are kept for every computed day (the chart of sizes over time).
    assert len(set(session.scalars(select(RfmSegmentSize.computed_on)))) == 6


def test_too_few_buyers_skips_the_models_but_keeps_rfm(session: Session) -> None:
    build_world(session, customers=12, buyers=3)
    run = refresh_insights(session, as_of=AS_OF, zone=ZONE)
    assert run.status == "done" and run.message is not None and "models not fitted" in run.message
    assert (run.models or {})["bgnbd"] is None and (run.models or {})["gamma_gamma"] is None
    rows = [r for r in _rows(session).values() if r.purchase_days]
    assert rows and all(r.p_alive is None and r.clv_fen is None and r.expected_gap_days is None for r in rows)
    assert any(r.rfm_segment is not None for r in rows)
    assert sum((run.figures or {})["rfm"].values()) == sum(1 for r in rows if r.rfm_segment)


def test_the_default_day_is_yesterday_in_the_brand_zone() -> None:
    from datetime import UTC, datetime

    # 2026-11-01 17:00 UTC is already 2 November in Shanghai: yesterday there is 1 November.
    assert default_as_of(datetime(2026, 11, 1, 17, 0, tzinfo=UTC), ZONE) == date(2026, 11, 1)
    assert default_as_of(datetime(2026, 11, 1, 15, 0, tzinfo=UTC), ZONE) == date(2026, 10, 31)


def test_an_empty_brand_refreshes_to_nothing(session: Session) -> None:
    run = refresh_insights(session, as_of=AS_OF, zone=ZONE)
    assert run.status == "done" and (run.figures or {})["customers"] == 0
    assert session.scalar(select(func.count()).select_from(InsightRun)) == 1


@pytest.mark.parametrize("offset", [1, 40])
def test_orders_after_the_day_do_not_count(session: Session, offset: int) -> None:
    build_world(session, customers=40)
    day = AS_OF - timedelta(days=offset)
    refresh_insights(session, as_of=day, zone=ZONE)
    truth = brute_force(session, day, InsightSettings().rfm.window_days)
    rows = _rows(session)
    for cust, t in truth.items():
        if t.purchase_days:
            assert (rows[cust].purchase_days, rows[cust].last_order_on) == (t.purchase_days, t.last)
