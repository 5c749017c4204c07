"""Lifecycle stages: each rule at its edges, never-buyers, recall and its expiry, history rows, idempotence."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from siyu.insights.contract import LifecycleRules
from siyu.insights.lifecycle import apply_lifecycle
from siyu.models import Customer, LifecycleStage
from siyu.models.insights import LifecycleChange
from siyu.timeutil import local_date
from tests.insights.lifecycle_world import AS_OF, add_customer, new_run, seen_at, set_insight

RULES = LifecycleRules()  # new 30, active 90, sleeping 180, recalled 30
S = LifecycleStage


def stages(session: Session) -> dict[int, LifecycleStage]:
    return {
        cid: LifecycleStage(s) for cid, s in session.execute(select(Customer.id, Customer.lifecycle_stage))
    }


def changes(session: Session) -> list[tuple[int, LifecycleStage | None, LifecycleStage, date, int | None]]:
    rows = session.execute(
        select(
            LifecycleChange.customer_id,
            LifecycleChange.from_stage,
            LifecycleChange.to_stage,
            LifecycleChange.changed_on,
            LifecycleChange.run_id,
        ).order_by(LifecycleChange.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_each_rule_at_its_edges(session: Session) -> None:
    run = new_run(session)
    expect: dict[int, LifecycleStage] = {}

    def person(
        want: LifecycleStage, seen: int, days: int, last: int | None, stage: LifecycleStage = S.new
    ) -> None:
        cid = add_customer(session, seen_days_ago=seen, stage=stage)
        if days or last is not None:
            set_insight(session, run, cid, purchase_days=days, last_days_ago=last)
        expect[cid] = want

    person(S.new, 10, 0, None)  # never bought, seen 10 days ago
    person(S.new, 29, 0, None)  # seen on the first of the 30 new days
    person(S.sleeping, 30, 0, None)  # never bought, seen 31 days ago counting as_of → not new
    person(S.new, 10, 1, 2)  # one purchase day, first seen recently
    person(S.active, 10, 2, 2)  # two purchase days: active, not new
    person(S.active, 400, 3, 89)  # last purchase on the first of the 90 active days
    person(S.sleeping, 400, 3, 90)
    person(S.sleeping, 400, 3, 179)
    person(S.lost, 400, 3, 180)
    person(S.sleeping, 179, 0, None)  # never bought: measured from first seen
    person(S.lost, 180, 0, None)
    person(S.sleeping, 100, 0, 5)  # an insights row with no purchase days counts as never bought
    person(S.recalled, 400, 5, 3, S.sleeping)  # came back from sleeping within recalled_days
    person(S.recalled, 400, 2, 29, S.lost)  # comeback on the first of the 30 recalled days
    person(S.active, 400, 2, 30, S.lost)  # comeback too long ago: active by the normal rules
    person(S.active, 400, 1, 3, S.sleeping)  # first purchase of a never-buyer is not a recall
    person(S.new, 5, 1, 3, S.sleeping)  # new wins over everything
    person(S.lost, 400, 4, 200, S.recalled)  # recalled but lapsed again
    merged = add_customer(session, seen_days_ago=400, stage=S.active)
    survivor = add_customer(session, seen_days_ago=400, stage=S.active)
    session.get_one(Customer, merged).merged_into_id = survivor
    expect[survivor] = S.lost
    session.flush()

    before = stages(session)
    figures = apply_lifecycle(session, run, AS_OF, RULES)
    got = stages(session)
    assert {c: got[c] for c in expect} == expect
    assert got[merged] is S.active  # merged-away customers are left alone
    history = changes(session)
    wanted = {(c, before[c], want, AS_OF, run) for c, want in expect.items() if before[c] is not want}
    assert set(history) == wanted and len(history) == len(wanted) == figures["changed"] > 10
    assert sum(v for k, v in figures.items() if k.startswith("to_")) == figures["changed"]


def test_idempotent_on_the_same_day(session: Session) -> None:
    run = new_run(session)
    for seen, days, last, stage in [(10, 0, None, S.new), (400, 3, 100, S.active), (400, 5, 1, S.lost)]:
        cid = add_customer(session, seen_days_ago=seen, stage=stage)
        if days:
            set_insight(session, run, cid, purchase_days=days, last_days_ago=last)
    first = apply_lifecycle(session, run, AS_OF, RULES)
    after_first = stages(session)
    history = changes(session)
    assert first["changed"] == 2 and first == {"changed": 2, "to_sleeping": 1, "to_recalled": 1}
    again = apply_lifecycle(session, new_run(session), AS_OF, RULES)
    assert again == {"changed": 0}
    assert stages(session) == after_first and changes(session) == history


def test_recalled_lasts_recalled_days_then_active(session: Session) -> None:
    run = new_run(session)
    cid = add_customer(session, seen_days_ago=500, stage=S.lost)
    # Bought on AS_OF after a long lapse (purchase days 3).
    set_insight(session, run, cid, purchase_days=3, last_days_ago=0)
    apply_lifecycle(session, run, AS_OF, RULES)
    assert stages(session)[cid] is S.recalled
    for offset, want in [(1, S.recalled), (29, S.recalled), (30, S.active)]:
        day = AS_OF + timedelta(days=offset)
        set_insight(session, run, cid, purchase_days=3, last_days_ago=offset, as_of=day)
        apply_lifecycle(session, run, day, RULES)
        assert stages(session)[cid] is want, offset
    history = changes(session)
    assert [(r[1], r[2], r[3]) for r in history] == [
        (S.lost, S.recalled, AS_OF),
        (S.recalled, S.active, AS_OF + timedelta(days=30)),
    ]


def brute_stage(prev: LifecycleStage, seen: int, days: int, last: int | None, recalled_ago: int | None, rules: LifecycleRules) -> LifecycleStage:  # fmt: skip
    """The rules written out in Python: seen/last = days before as_of, recalled_ago = days since the last recall change."""
    bought = days > 0 and last is not None
    if seen < rules.new_days and days <= 1:
        return S.new
    if bought and last is not None and last < rules.active_days and days >= 2:
        if prev in (S.sleeping, S.lost) and last < rules.recalled_days:
            return S.recalled
        if prev is S.recalled and recalled_ago is not None and recalled_ago < rules.recalled_days:
            return S.recalled
    if bought and last is not None and last < rules.active_days:
        return S.active
    if (bought and last is not None and last < rules.sleeping_days) or (
        not bought and seen < rules.sleeping_days
    ):
        return S.sleeping
    return S.lost


def test_random_world_over_days_matches_brute_force(session: Session) -> None:
    """Forty customers buying at random over sixty daily runs: stages and history equal a Python state machine."""
    rng = random.Random(7)
    rules = LifecycleRules(new_days=10, active_days=20, sleeping_days=40, recalled_days=7)
    run = new_run(session)
    start = AS_OF
    people = {}
    for _ in range(40):
        cid = add_customer(session, seen_days_ago=rng.randrange(0, 80), as_of=start)
        buys = sorted({rng.randrange(-80, 60) for _ in range(rng.randrange(0, 6))})
        people[cid] = buys
    seen_on = {cid: local_date(session.get_one(Customer, cid).first_seen_at) for cid in people}
    state = {cid: S.new for cid in people}
    recalled_on: dict[int, date] = {}
    expected_history = []
    for offset in range(60):
        day = start + timedelta(days=offset)
        for cid, buys in people.items():
            past = [b for b in buys if b <= offset]
            if past:
                set_insight(
                    session, run, cid, purchase_days=len(past), last_days_ago=offset - past[-1], as_of=day
                )
        apply_lifecycle(session, run, day, rules)
        for cid, buys in people.items():
            past = [b for b in buys if b <= offset]
            seen = (day - seen_on[cid]).days
            ago = (day - recalled_on[cid]).days if cid in recalled_on else None
            want = brute_stage(state[cid], seen, len(past), offset - past[-1] if past else None, ago, rules)
            if want is not state[cid]:
                expected_history.append((cid, state[cid], want, day))
                if want is S.recalled:
                    recalled_on[cid] = day
                state[cid] = want
        assert stages(session) == state, day
    # Within a day the insert order is the database's (PostgreSQL hash joins), so compare sorted.
    key = lambda r: (r[3], r[0])  # noqa: E731
    assert sorted((r[:4] for r in changes(session)), key=key) == sorted(expected_history, key=key)
    # The walk must pass through every stage, or it proves little.
    assert {r[2] for r in expected_history} == set(S) - {S.new} and len(expected_history) > 40


def test_first_run_moves_stay_on_their_page_on_postgresql(session: Session) -> None:
    """Customers leaving `new` are HOT updates: the page has room for the new version (fillfactor 50).

    With full pages (the default fillfactor) each move writes a new entry into all five customer indexes;
    that was two thirds of a first refresh's lifecycle time at 1M customers.
    """
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: HOT updates and fillfactor")
    run = new_run(session)
    old = seen_at(400)
    session.execute(
        text(
            "INSERT INTO customers (name, source, first_seen_at, lifecycle_stage, points_balance,"
            " marketing_opt_in, chat_archive_consent, created_at)"
            " SELECT 'customer ' || g, 'order', :old, 'new', 0, false, false, :old"
            " FROM generate_series(1, 3000) AS g"
        ),
        {"old": old},
    )
    counters = text(
        "SELECT pg_stat_get_xact_tuples_updated(CAST('customers' AS regclass)),"
        " pg_stat_get_xact_tuples_hot_updated(CAST('customers' AS regclass))"
    )
    updated_before, hot_before = session.execute(counters).one()
    moved = apply_lifecycle(session, run, AS_OF, RULES)["changed"]
    updated_after, hot_after = session.execute(counters).one()
    assert moved == 3000
    assert updated_after - updated_before == 3000
    # A new stage name can be longer than `new`, so a few versions still miss their page's room.
    assert hot_after - hot_before >= 0.9 * 3000
