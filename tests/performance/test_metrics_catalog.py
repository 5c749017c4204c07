"""Every catalog metric equals a brute-force recomputation from raw rows, for every subject kind and period kind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.errors import NotFound
from siyu.performance.catalog import METRICS, metric
from siyu.performance.compute import SPECS, compute_metrics
from siyu.performance.contract import MetricTable, Period, SubjectKind, Unit
from siyu.performance.settings import PerformanceSettings
from tests.conftest import truncate_all
from tests.performance import dataset
from tests.performance.metrics_naive import Naive

SETTINGS = PerformanceSettings(as_of=dataset.AS_OF)
PERIODS = [
    Period.month(dataset.MONTH),
    Period.day(date(2026, 10, 1)),
    Period.day(date(2026, 10, 17)),
    Period.week(date(2026, 10, 8)),
    Period.quarter(date(2026, 11, 2)),
    Period.custom(date(2026, 9, 28), date(2026, 10, 3)),
]


@pytest.fixture(scope="module")
def brand(migrated_engine: Engine) -> Iterator[tuple[Session, dataset.Raw]]:
    """The dataset, built once for the module, with its raw rows."""
    session = session_factory(migrated_engine)()
    dataset.build(session)
    session.commit()
    try:
        yield session, dataset.load(session)
    finally:
        session.close()
        truncate_all(migrated_engine)


def observed(table: MetricTable, code: str) -> dict[int, Any]:
    """The computed values normalised like Naive.values (zero counts and zero denominators dropped)."""
    how = SPECS[code].how
    out: dict[int, Any] = {}
    for subject, v in table.values[code].items():
        if how in ("sum", "unavailable"):
            if v.value:
                out[subject] = v.value
        elif how == "diff":
            assert v.value == (v.numerator or 0) - (v.denominator or 0)
            if v.numerator or v.denominator:
                out[subject] = (v.numerator, v.denominator)
        elif v.denominator:
            assert v.numerator is not None
            assert v.value == pytest.approx(v.numerator / v.denominator)
            out[subject] = (v.numerator, v.denominator)
        else:
            assert v.value is None, f"{code} for {subject}: zero denominator must give None"
    return out


def approx(values: dict[int, Any]) -> dict[int, Any]:
    return {k: pytest.approx(v, rel=1e-9, abs=1e-6) for k, v in values.items()}


@pytest.mark.parametrize("code", list(METRICS))
def test_metric_matches_brute_force(brand: tuple[Session, dataset.Raw], code: str) -> None:
    session, raw = brand
    checked = 0
    for period in PERIODS:
        naive = Naive(raw, period, dataset.ZONE, SETTINGS)
        for kind in SubjectKind:
            table = compute_metrics(session, [code], period, kind, zone=dataset.ZONE, settings=SETTINGS)
            expected = naive.values(code, kind)
            assert observed(table, code) == approx(expected), f"{code} {period.label} {kind}"
            checked += len(expected)
    # The dataset must make every metric non-trivial somewhere, or the comparison proves nothing.
    assert checked > 0, f"{code} is empty on the test brand"


def test_dataset_hits_the_edges(brand: tuple[Session, dataset.Raw]) -> None:
    """The brute force sees refunds, lost buyers, answered and unanswered messages, fast and slow replies."""
    _, raw = brand
    naive = Naive(raw, PERIODS[0], dataset.ZONE, SETTINGS)
    waits = [d for _, _, d in naive.waits()]
    assert any(d is None for d in waits) and any(d is not None and d <= 180 for d in waits)
    assert any(d is not None and d > 180 for d in waits)
    assert any(o["refund_fen"] == o["amount_fen"] for o in raw.orders)
    assert naive.values("recall_rate", SubjectKind.company)
    company = naive.values("retention_rate_7d", SubjectKind.company)[0]
    assert 0 < company[0] < company[1]


def test_subject_ids_limit_the_table(brand: tuple[Session, dataset.Raw]) -> None:
    session, _ = brand
    period = PERIODS[0]
    full = compute_metrics(session, ["gmv", "orders"], period, SubjectKind.staff, zone=dataset.ZONE)
    some = sorted(full.values["gmv"])[:2]
    part = compute_metrics(session, ["gmv"], period, SubjectKind.staff, subject_ids=some, zone=dataset.ZONE)
    assert set(part.values["gmv"]) == set(some)
    assert all(part.values["gmv"][s] == full.values["gmv"][s] for s in some)


def test_catalog_entries_are_complete() -> None:
    for code, m in METRICS.items():
        assert m.code == code and code in SPECS
        assert m.name_zh and m.name_en and m.definition_zh and m.definition_en and m.formula and m.reads
        assert m.subjects
        if m.unit is Unit.ratio:
            assert SPECS[code].how == "ratio"
    assert metric("gmv").code == "gmv"
    with pytest.raises(NotFound, match="nope"):
        metric("nope")
    with pytest.raises(NotFound):
        compute_metrics(None, ["nope"], PERIODS[0], SubjectKind.staff)


def test_sensitive_incidents_counts_only_confirmed(brand: tuple[Session, dataset.Raw]) -> None:
    session, raw = brand
    table = compute_metrics(
        session, ["sensitive_incidents"], PERIODS[0], SubjectKind.company, zone=dataset.ZONE
    )
    start, end = PERIODS[0].utc_range(dataset.ZONE)
    in_period = [i for i in raw.incidents if start <= i["occurred_at"] < end]
    confirmed = sum(1 for i in in_period if i["status"] == "confirmed")
    assert 0 < confirmed < len(in_period)  # open and dismissed ones exist and are left out
    assert table.values["sensitive_incidents"][0].value == confirmed
