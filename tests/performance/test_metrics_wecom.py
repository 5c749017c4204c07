"""The WeCom catalog metrics equal brute-force sums over the raw snapshot rows, per staff, unit and company."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.models import OrgUnit, Staff, StaffStatus, WecomBehaviorSnapshot, WecomGroupStatSnapshot
from siyu.org.service import create_staff, create_unit
from siyu.performance.catalog import METRICS
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import COMPANY_SUBJECT_ID, Period, SubjectKind

ZONE = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 9, 20), date(2026, 11, 10)
OCTOBER = Period.month(date(2026, 10, 1))
CODES = [c for c in METRICS if c.startswith("wecom_")]
FETCHED = datetime(2026, 11, 11, 4, tzinfo=UTC)


def build_brand(session: Session, seed: int = 5) -> dict[str, int]:
    """C → R1 → (ST1: A, B; ST2: C), R2 (D, left); daily snapshots with gaps, chat-less days, absent rates."""
    rng = random.Random(seed)
    create_unit(session, code="C", name="Brand", kind="company")
    create_unit(session, code="R1", name="East", kind="region", parent_code="C")
    create_unit(session, code="R2", name="North", kind="region", parent_code="C")
    create_unit(session, code="ST1", name="Store 1", kind="store", parent_code="R1")
    create_unit(session, code="ST2", name="Store 2", kind="store", parent_code="R1")
    for code, unit in (("A", "ST1"), ("B", "ST1"), ("C", "ST2"), ("D", "R2")):
        create_staff(session, code=code, name=f"导购{code}", unit_code=unit, wecom_userid=f"u{code}")
    create_staff(session, code="E", name="导购E", unit_code="ST1")  # not linked: no snapshots
    session.flush()
    staff = {s.code: s for s in session.scalars(select(Staff))}
    staff["D"].status = StaffStatus.left
    for code in "ABCD":
        for n in range((LAST - FIRST).days + 1):
            day = FIRST + timedelta(days=n)
            if rng.random() < 0.2:
                continue  # a day the sync did not store
            chats = rng.choice([0, 1, 4, 9])
            session.add(
                WecomBehaviorSnapshot(
                    staff_id=staff[code].id,
                    day=day,
                    chat_cnt=chats,
                    message_cnt=chats * rng.randrange(1, 7),
                    reply_percentage=rng.choice([None, 25.0, 60.0, 100.0]) if chats else None,
                    avg_reply_time=rng.choice([None, 1, 12, 240]) if chats else None,
                    negative_feedback_cnt=rng.choice([0, 0, 1, 2]),
                    new_apply_cnt=rng.randrange(3),
                    new_contact_cnt=rng.randrange(5),
                    fetched_at=FETCHED,
                )
            )
            if rng.random() < 0.6:
                session.add(
                    WecomGroupStatSnapshot(
                        staff_id=staff[code].id, day=day, msg_total=rng.randrange(50), fetched_at=FETCHED
                    )
                )
    session.flush()
    return {code: s.id for code, s in staff.items()}


def brute(session: Session, period: Period) -> dict[str, dict[int, Any]]:
    """Per staff straight from the raw rows: sums, and (num, den) for the weighted averages."""
    out: dict[str, dict[int, Any]] = {code: {} for code in CODES}

    def add(code: str, staff_id: int, *values: float) -> None:
        old = out[code].get(staff_id, (0.0,) * len(values))
        out[code][staff_id] = tuple(a + b for a, b in zip(old, values, strict=True))

    for b in session.scalars(select(WecomBehaviorSnapshot)):
        if not period.first <= b.day <= period.last:
            continue
        add("wecom_chats", b.staff_id, b.chat_cnt)
        add("wecom_messages", b.staff_id, b.message_cnt)
        add("wecom_new_contacts", b.staff_id, b.new_contact_cnt)
        add("wecom_negative_feedback", b.staff_id, b.negative_feedback_cnt)
        if b.chat_cnt and b.reply_percentage is not None:
            add("wecom_reply_rate", b.staff_id, b.reply_percentage / 100 * b.chat_cnt, b.chat_cnt)
        if b.chat_cnt and b.avg_reply_time is not None:
            add("wecom_avg_reply_seconds", b.staff_id, b.avg_reply_time * 60 * b.chat_cnt, b.chat_cnt)
    for g in session.scalars(select(WecomGroupStatSnapshot)):
        if period.first <= g.day <= period.last:
            add("wecom_group_messages", g.staff_id, g.msg_total)
    return out


def roll(values: dict[int, Any], members: set[int]) -> Any:
    """Sum per-staff tuples over a set of staff (None when none of them has a row)."""
    mine = [v for s, v in values.items() if s in members]
    return tuple(sum(col) for col in zip(*mine, strict=True)) if mine else None


def as_tuple(value: Any) -> Any:
    """A computed MetricValue as the brute force's tuple: (sum,) or (num, den)."""
    if value is None:
        return None
    if value.denominator is None:
        return (value.value,)
    assert value.value == pytest.approx(value.numerator / value.denominator)
    return (value.numerator, value.denominator)


def test_staff_unit_and_company_values_equal_raw_sums(session: Session) -> None:
    ids = build_brand(session)
    expected = brute(session, OCTOBER)
    units = {u.code: u for u in session.scalars(select(OrgUnit))}
    staff_unit = {int(s): int(u) for s, u in session.execute(select(Staff.id, Staff.unit_id))}
    for kind in SubjectKind:
        table = compute_metrics(session, CODES, OCTOBER, kind, zone=ZONE)
        for code in CODES:
            if kind is SubjectKind.staff:
                want = {s: v for s, v in expected[code].items()}
            elif kind is SubjectKind.company:
                want = {COMPANY_SUBJECT_ID: roll(expected[code], set(staff_unit))}
            else:
                want = {}
                for unit in units.values():
                    tree = {u.id for u in units.values() if u.path.startswith(unit.path)}
                    total = roll(expected[code], {s for s, u in staff_unit.items() if u in tree})
                    if total is not None:
                        want[unit.id] = total
            got = {s: as_tuple(v) for s, v in table.values[code].items()}
            assert got == {s: pytest.approx(v, rel=1e-9) for s, v in want.items()}, f"{code} {kind}"
    # The fixture is not trivial: the region R1 sums two stores, the left member D still counts, E has nothing.
    staff_table = compute_metrics(session, CODES, OCTOBER, SubjectKind.staff, zone=ZONE)
    assert ids["D"] in staff_table.values["wecom_chats"] and ids["E"] not in staff_table.values["wecom_chats"]
    unit_table = compute_metrics(session, ["wecom_new_contacts"], OCTOBER, SubjectKind.unit, zone=ZONE)
    r1 = unit_table.values["wecom_new_contacts"][units["R1"].id].value
    parts = [unit_table.values["wecom_new_contacts"][units[c].id].value for c in ("ST1", "ST2")]
    assert all(parts) and r1 == sum(p or 0 for p in parts)


def test_missing_days_are_missing_not_zero(session: Session) -> None:
    ids = build_brand(session)
    session.execute(delete(WecomBehaviorSnapshot))
    # One snapshot in the whole month with a 100 % reply rate: the rate is 100 %, not diluted by 30 empty days.
    session.add(
        WecomBehaviorSnapshot(
            staff_id=ids["A"], day=date(2026, 10, 9), chat_cnt=4, message_cnt=10,
            reply_percentage=100.0, avg_reply_time=3, fetched_at=FETCHED,
        )
    )  # fmt: skip
    # A day with chats but no rate given adds chats, not to the rate's denominator.
    session.add(
        WecomBehaviorSnapshot(staff_id=ids["A"], day=date(2026, 10, 10), chat_cnt=2, fetched_at=FETCHED)
    )
    session.flush()
    table = compute_metrics(session, CODES, OCTOBER, SubjectKind.staff, zone=ZONE)
    rate = table.get("wecom_reply_rate", ids["A"])
    wait = table.get("wecom_avg_reply_seconds", ids["A"])
    assert rate is not None and (rate.value, rate.numerator, rate.denominator) == (1.0, 4.0, 4)
    assert wait is not None and wait.value == 180.0
    assert table.get("wecom_chats", ids["A"]).value == 6  # type: ignore[union-attr]
    assert table.get("wecom_reply_rate", ids["B"]) is None


def test_period_boundary_is_the_brand_local_day(session: Session) -> None:
    ids = build_brand(session)
    session.execute(delete(WecomBehaviorSnapshot))
    for day, contacts in ((date(2026, 9, 30), 1), (date(2026, 10, 1), 10), (date(2026, 10, 31), 100), (date(2026, 11, 1), 1000)):  # fmt: skip
        session.add(
            WecomBehaviorSnapshot(staff_id=ids["B"], day=day, new_contact_cnt=contacts, fetched_at=FETCHED)
        )
    session.flush()

    def added(period: Period) -> Any:
        value = compute_metrics(session, ["wecom_new_contacts"], period, SubjectKind.staff, zone=ZONE)
        found = value.get("wecom_new_contacts", ids["B"])
        return found.value if found else None

    assert added(OCTOBER) == 110  # 1 October and 31 October in, 30 September and 1 November out
    assert added(Period.day(date(2026, 11, 1))) == 1000
    assert added(Period.week(date(2026, 9, 30))) == 11  # Mon 28 Sep – Sun 4 Oct
    assert added(Period.custom(date(2026, 10, 2), date(2026, 10, 30))) is None


def test_definitions_name_the_source_and_missing_days() -> None:
    for code in CODES:
        m = METRICS[code]
        assert "快照" in m.definition_zh and "缺失而非 0" in m.definition_zh, code
        assert "snapshots" in m.definition_en and "missing, not zero" in m.definition_en, code
