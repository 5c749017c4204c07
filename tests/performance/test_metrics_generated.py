"""Property test: on randomly generated brands and settings, every metric equals the brute force."""

from __future__ import annotations

from datetime import date, time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from siyu.db.engine import session_factory
from siyu.performance.catalog import METRICS
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import Period, SubjectKind
from siyu.performance.settings import HeadcountSource, PerformanceSettings
from tests.conftest import truncate_all
from tests.performance import dataset
from tests.performance.metrics_naive import Naive
from tests.performance.test_metrics_catalog import approx, observed

rules = st.builds(
    PerformanceSettings,
    work_start=st.sampled_from([time(0, 0), time(9, 0), time(12, 30)]),
    work_end=st.sampled_from([time(21, 0), time(23, 59)]),
    fast_reply_seconds=st.sampled_from([60, 180, 600]),
    reply_window_hours=st.sampled_from([1, 24]),
    high_value_tiers=st.sampled_from([("gold", "diamond"), ("silver",)]),
    lost_after_days=st.sampled_from([7, 30, 90]),
    headcount=st.sampled_from(list(HeadcountSource)),
    as_of=st.just(dataset.AS_OF),
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    customers=st.integers(5, 40),
    rule=rules,
    day=st.dates(date(2026, 9, 20), date(2026, 11, 10)),
    kind=st.sampled_from(["day", "week", "month"]),
)
def test_generated_brands_match_brute_force(
    migrated_engine: Engine, seed: int, customers: int, rule: PerformanceSettings, day: date, kind: str
) -> None:
    period = {"day": Period.day, "week": Period.week, "month": Period.month}[kind](day)
    session = session_factory(migrated_engine)()
    try:
        dataset.build(session, seed=seed, customers=customers)
        session.flush()
        raw = dataset.load(session)
        naive = Naive(raw, period, dataset.ZONE, rule)
        for subject in SubjectKind:
            table = compute_metrics(session, None, period, subject, zone=dataset.ZONE, settings=rule)
            for code in METRICS:
                assert observed(table, code) == approx(naive.values(code, subject)), (
                    f"{code} {subject} {period}"
                )
    finally:
        session.rollback()
        session.close()
        truncate_all(migrated_engine)
