"""Evidence beside competency scores: values equal the metric catalog's brute force; percentiles by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Invalid
from siyu.models import (
    AcquisitionSource,
    ChatMessage,
    Customer,
    MessageDirection,
    Staff,
    StaffRole,
    StaffStatus,
    StaffTask,
    TaskStatus,
)
from siyu.org.service import create_staff, create_unit
from siyu.performance.catalog import METRICS
from siyu.performance.contract import Direction, Period, SubjectKind
from siyu.performance.settings import PerformanceSettings
from siyu.talent.competency import DEFAULT_DIMENSIONS, GUIDE_DIMENSIONS
from siyu.talent.contract import Dimension
from siyu.talent.evidence import (
    KPI_IMPROVEMENT,
    evidence_for,
    evidence_percentile,
    previous_period,
)
from tests.performance import dataset
from tests.performance.metrics_naive import Naive

OCT_FIRST, OCT_LAST = date(2026, 10, 1), date(2026, 10, 31)
SETTINGS = PerformanceSettings(as_of=dataset.AS_OF)
ANCHORS = ("1", "2", "3", "4", "5")


def naive_value(naive: Naive, code: str, staff_id: int) -> float | None:
    """The brute-force value of one staff member: counts default to 0, ratios to undefined."""
    found: Any = naive.values(code, SubjectKind.staff).get(staff_id)
    if isinstance(found, tuple):
        num, den = found
        return None if not den else num / den
    return float(found or 0)


def brute_percentile(values: dict[int, float | None], who: int, lower_better: bool) -> float | None:
    """(peers strictly worse + half the peers tied) ÷ (defined peers − 1), written independently of the code."""
    mine = values[who]
    others = [v for k, v in values.items() if k != who and v is not None]
    if mine is None or not others:
        return None
    worse = sum(1 for v in others if (v > mine if lower_better else v < mine))
    tied = sum(1 for v in others if v == mine)
    return (worse + tied / 2) / len(others)


def test_values_and_percentiles_equal_the_brute_force(session: Session) -> None:
    dataset.build(session, seed=5, customers=60)
    staff = {s.code: s for s in session.scalars(select(Staff))}
    # S1, S2, S3, S5 guides; S6 a guide who has left; S4 a store manager (alone in the role).
    for code in ("S1", "S2", "S3", "S5", "S6"):
        session.add(StaffRole(staff_id=staff[code].id, role_code="guide"))
    session.add(StaffRole(staff_id=staff["S4"].id, role_code="store_manager"))
    session.flush()
    raw = dataset.load(session)
    naive = Naive(raw, Period.custom(OCT_FIRST, OCT_LAST), dataset.ZONE, SETTINGS)
    ids = [staff[c].id for c in ("S1", "S4", "S6")]
    dims = [d for d in GUIDE_DIMENSIONS if d.code != "learning"]
    dims = [
        Dimension(d.code, d.name_zh, d.name_en, d.weight, d.anchors, d.evidence_metric_codes) for d in dims
    ]
    found = evidence_for(session, ids, OCT_FIRST, OCT_LAST, dims, zone=dataset.ZONE, settings=SETTINGS)
    assert set(found) == set(ids)
    active_guides = [staff[c].id for c in ("S1", "S2", "S3", "S5")]
    checked = 0
    for sid in ids:
        assert list(found[sid]) == [d.code for d in dims]
        for d in dims:
            assert [i.metric_code for i in found[sid][d.code]] == list(d.evidence_metric_codes)
            for item in found[sid][d.code]:
                expected = naive_value(naive, item.metric_code, sid)
                assert item.value == pytest.approx(expected), (sid, item.metric_code)
                lower = METRICS[item.metric_code].direction is Direction.lower
                if sid == staff["S4"].id:
                    # Alone in the role: no comparison.
                    assert item.percentile is None
                    assert item.peers == (0 if item.value is None else 1)
                    continue
                group = set(active_guides) | {sid}
                values = {g: naive_value(naive, item.metric_code, g) for g in group}
                assert item.percentile == pytest.approx(brute_percentile(values, sid, lower)), item
                assert item.peers == sum(1 for v in values.values() if v is not None)
                checked += 1
    assert checked >= 2 * 9
    # The left guide is compared with the active guides but never counted in their groups.
    alone = evidence_for(
        session, [staff["S1"].id], OCT_FIRST, OCT_LAST, dims, zone=dataset.ZONE, settings=SETTINGS
    )
    assert alone[staff["S1"].id] == found[staff["S1"].id]


# --- a hand example ------------------------------------------------------------------------------------

ZONE = dataset.ZONE


def at(day: date, hour: int, seconds: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZONE).astimezone(UTC) + timedelta(seconds=seconds)


def _hand_world(session: Session) -> dict[str, int]:
    """Four active guides and one who left, with tasks and replies chosen for ties."""
    create_unit(session, code="hq", name="总部", kind="company")
    ids = {}
    for code in ("g1", "g2", "g3", "g4", "gx"):
        ids[code] = create_staff(session, code=code, name=code, unit_code="hq", role_codes=["guide"]).id
    session.flush()
    gone = session.get(Staff, ids["gx"])
    assert gone is not None
    gone.status = StaffStatus.left
    customer = Customer(
        name="客户", source=next(iter(AcquisitionSource)), first_seen_at=at(date(2026, 1, 1), 9)
    )
    session.add(customer)
    session.flush()
    oct5, sep10 = date(2026, 10, 5), date(2026, 9, 10)
    # tasks done in October: g1 3, g2 3, g3 1, g4 0, gx 5; each due the same hour, done before it.
    done = {"g1": 3, "g2": 3, "g3": 1, "g4": 0, "gx": 5}
    for code, n in done.items():
        for k in range(n):
            session.add(StaffTask(kind="follow_up", title=f"{code}{k}", staff_id=ids[code], due_at=at(oct5, 15),
                                  status=TaskStatus.done, done_at=at(oct5, 14)))  # fmt: skip
    # Previous period (Aug 31 – Sep 30): g1 did one task on time.
    session.add(StaffTask(kind="follow_up", title="prev", staff_id=ids["g1"], due_at=at(sep10, 15),
                          status=TaskStatus.done, done_at=at(sep10, 14)))  # fmt: skip
    # First response in October: g1 60 s, g2 60 s, g3 600 s, g4 no customer message at all.
    n = 0
    for code, delay in (("g1", 60), ("g2", 60), ("g3", 600)):
        for direction, sent in (
            (MessageDirection.customer_to_staff, at(oct5, 10)),
            (MessageDirection.staff_to_customer, at(oct5, 10, delay)),
        ):
            n += 1
            session.add(ChatMessage(msgid=f"h{n}", sender="x", direction=direction, staff_id=ids[code],
                                    customer_id=customer.id, msg_type="text", sent_at=sent))  # fmt: skip
    session.flush()
    return ids


def test_percentiles_by_hand_with_ties_and_a_lower_is_better_metric(session: Session) -> None:
    ids = _hand_world(session)
    dims = [
        Dimension("execution", "执行", "Execution", 40, ANCHORS, ("tasks_done", "task_on_time_rate")),
        Dimension("user_thinking", "用户", "User", 40, ANCHORS, ("first_response_seconds",)),
        Dimension("learning", "学习", "Learning", 20, ANCHORS, (KPI_IMPROVEMENT,)),
    ]
    who = [ids["g1"], ids["g3"], ids["g4"], ids["gx"]]
    found = evidence_for(session, who, OCT_FIRST, OCT_LAST, dims, zone=ZONE, settings=SETTINGS)

    def item(code: str, dim: str, metric: str) -> tuple[float | None, float | None, int]:
        i = next(i for i in found[ids[code]][dim] if i.metric_code == metric)
        return i.value, i.percentile, i.peers

    # tasks_done among active guides 3, 3, 1, 0 → ranks g4 1, g3 2, g1/g2 3.5 → (r − 1) ÷ 3.
    assert item("g1", "execution", "tasks_done") == (3.0, pytest.approx(2.5 / 3), 4)
    assert item("g3", "execution", "tasks_done") == (1.0, pytest.approx(1 / 3), 4)
    assert item("g4", "execution", "tasks_done") == (0.0, 0.0, 4)
    # The left guide is ranked among the four active ones plus themselves: best of five.
    assert item("gx", "execution", "tasks_done") == (5.0, 1.0, 5)
    # Lower is better: 60, 60, 600 s (g4 undefined) → g3 worst, g1/g2 share ranks 2 and 3.
    assert item("g1", "user_thinking", "first_response_seconds") == (60.0, 0.75, 3)
    assert item("g3", "user_thinking", "first_response_seconds") == (600.0, 0.0, 3)
    assert item("g4", "user_thinking", "first_response_seconds") == (None, None, 3)
    # Improvement vs Aug 31 – Sep 30: g1 tasks 3 > 1 (improved), on-time 1.0 = 1.0 (not), response new (n/a).
    assert previous_period(OCT_FIRST, OCT_LAST) == (date(2026, 8, 31), date(2026, 9, 30))
    assert item("g1", "learning", KPI_IMPROVEMENT)[0] == 0.5
    assert item("g3", "learning", KPI_IMPROVEMENT)[0] == 1.0  # tasks 1 > 0; on-time had no tasks before
    assert item("g4", "learning", KPI_IMPROVEMENT)[0] == 0.0  # 0 tasks both periods: compared, not improved
    # g2 (not assessed) also scores 1.0, so among 0.5, 1.0, 1.0, 0.0: g1 rank 2 → 1/3.
    assert item("g1", "learning", KPI_IMPROVEMENT)[1] == pytest.approx(1 / 3)
    assert evidence_percentile(found[ids["g4"]]) == pytest.approx((0.0 + 0.0 + 0.0) / 3)


def test_default_dimensions_and_bad_periods(session: Session) -> None:
    ids = _hand_world(session)
    found = evidence_for(
        session, [ids["g1"]], OCT_FIRST, OCT_LAST, DEFAULT_DIMENSIONS, zone=ZONE, settings=SETTINGS
    )
    assert list(found[ids["g1"]]) == [d.code for d in DEFAULT_DIMENSIONS]
    # roles= overrides the grouping: as a store manager g1 has no peers.
    solo = evidence_for(session, [ids["g1"]], OCT_FIRST, OCT_LAST, DEFAULT_DIMENSIONS, roles={ids["g1"]: "store_manager"},
                        zone=ZONE, settings=SETTINGS)  # fmt: skip
    assert all(i.percentile is None for items in solo[ids["g1"]].values() for i in items)
    with pytest.raises(Invalid, match="before the first day"):
        evidence_for(session, [ids["g1"]], OCT_LAST, OCT_FIRST, DEFAULT_DIMENSIONS)
    with pytest.raises(Invalid, match="longer than"):
        evidence_for(session, [ids["g1"]], date(2025, 1, 1), OCT_LAST, DEFAULT_DIMENSIONS)
