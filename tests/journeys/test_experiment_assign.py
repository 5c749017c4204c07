"""assign_arms: sticky, deterministic, weighted, insert-if-absent, nothing written when not running."""

from __future__ import annotations

from scipy import stats
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.journeys import experiment_repository as repo
from siyu.journeys.experiment_service import assign_arms
from siyu.models import ExperimentAssignment, ExperimentStatus
from tests.journeys.experiment_world import T0, add_customers, add_experiment


def _rows(session: Session, experiment_id: int) -> dict[int, int]:
    rows = session.execute(
        select(ExperimentAssignment.customer_id, ExperimentAssignment.arm_id).where(
            ExperimentAssignment.experiment_id == experiment_id
        )
    )
    return {int(c): int(a) for c, a in rows}


def test_assignment_is_sticky_and_matches_the_rows(session: Session) -> None:
    customers = add_customers(session, 300)
    exp_id, arms, scripts = add_experiment(session, weights=(1, 1))
    first = assign_arms(session, exp_id, customers[:200], T0)
    assert set(first) == set(customers[:200])
    assert {a for a, _ in first.values()} == set(arms)
    assert all(scripts[arms.index(a)] == s for a, s in first.values())
    # A customer already holding an arm keeps it even if the hash would now say otherwise.
    moved = customers[0]
    other = arms[1] if first[moved][0] == arms[0] else arms[0]
    session.execute(
        update(ExperimentAssignment).where(ExperimentAssignment.customer_id == moved).values(arm_id=other)
    )
    again = assign_arms(session, exp_id, customers, T0)
    assert again[moved][0] == other
    assert all(again[c] == first[c] for c in customers[1:200])
    stored = _rows(session, exp_id)
    assert len(stored) == 300
    assert {c: a for c, (a, _) in again.items()} == stored


def test_assignment_is_deterministic_from_salt_and_customer(session: Session) -> None:
    customers = add_customers(session, 100)
    exp_id, arms, _ = add_experiment(session, weights=(1, 3))
    got = assign_arms(session, exp_id, customers, T0)
    for c in customers:
        assert got[c][0] == repo.pick_arm("s3cr3t", c, [(arms[0], 1), (arms[1], 3)])


def test_insert_if_absent_keeps_a_row_written_concurrently(session: Session) -> None:
    customers = add_customers(session, 10)
    exp_id, arms, _ = add_experiment(session)
    # Another worker got there first for customer 0 (with the "wrong" arm): no error, its row wins.
    session.add(
        ExperimentAssignment(experiment_id=exp_id, customer_id=customers[0], arm_id=arms[1], assigned_at=T0)
    )
    session.flush()
    repo.insert_assignments_if_absent(
        session,
        [
            {"experiment_id": exp_id, "customer_id": c, "arm_id": arms[0], "assigned_at": T0}
            for c in customers
        ],
    )
    stored = _rows(session, exp_id)
    assert len(stored) == 10 and stored[customers[0]] == arms[1]


def test_not_running_gives_control_and_writes_nothing(session: Session) -> None:
    customers = add_customers(session, 20)
    exp_id, arms, scripts = add_experiment(session, status=ExperimentStatus.stopped)
    got = assign_arms(session, exp_id, customers, T0)
    assert set(got.values()) == {(arms[0], scripts[0])}
    assert session.scalar(select(func.count()).select_from(ExperimentAssignment)) == 0


def test_weighted_split_passes_a_chi_square() -> None:
    # 1:2:1 weights over 20,000 consecutive ids: the counts fit the weights (p > 0.001 = no evidence
    # of a skew), and a deliberately wrong expectation (equal thirds) is rejected — the test can fail.
    arms = [(10, 1), (11, 2), (12, 1)]
    counts = {10: 0, 11: 0, 12: 0}
    n = 20_000
    for customer_id in range(1, n + 1):
        counts[repo.pick_arm("salt-x", customer_id, arms)] += 1
    observed = [counts[10], counts[11], counts[12]]
    assert stats.chisquare(observed, [n / 4, n / 2, n / 4]).pvalue > 0.001
    assert stats.chisquare(observed, [n / 3, n / 3, n / 3]).pvalue < 1e-6


def test_different_salts_give_independent_splits() -> None:
    arms = [(1, 1), (2, 1)]
    a = [repo.pick_arm("one", c, arms) for c in range(1, 4001)]
    b = [repo.pick_arm("two", c, arms) for c in range(1, 4001)]
    same = sum(x == y for x, y in zip(a, b, strict=True))
    assert 1800 < same < 2200  # about half agree, as for independent fair coins


def test_two_sessions_assigning_the_same_customers_keep_one_row_each(engine: Engine) -> None:
    with session_factory(engine)() as s:
        customers = add_customers(s, 50)
        exp_id, _, _ = add_experiment(s)
        s.commit()
    first, second = session_factory(engine)(), session_factory(engine)()
    try:
        a = assign_arms(first, exp_id, customers[:30], T0)
        first.commit()
        b = assign_arms(second, exp_id, customers, T0)  # overlaps the 30 already committed
        second.commit()
    finally:
        first.close()
        second.close()
    assert all(b[c] == a[c] for c in customers[:30])
    with session_factory(engine)() as s:
        assert len(_rows(s, exp_id)) == 50
