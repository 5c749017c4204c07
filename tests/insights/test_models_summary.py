"""load_purchase_summary on hand-made rows: counted orders, refunds, merges, day cut, window edges, owners."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy.orm import Session

from siyu.insights.summary import load_purchase_summary, model_inputs
from siyu.models import AcquisitionSource, Customer, Order, OrderChannel, OrgUnit, OrgUnitKind, Staff
from siyu.timeutil import day_start_utc

ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = date(2026, 3, 31)


def _customer(s: Session, **kw: object) -> Customer:
    c = Customer(source=AcquisitionSource.order, first_seen_at=datetime(2025, 1, 1, tzinfo=UTC), **kw)
    s.add(c)
    s.flush()
    return c


def _order(s: Session, c: Customer, local: datetime, amount: int, refund: int = 0) -> None:
    n = getattr(_order, "n", 0) + 1
    _order.n = n  # type: ignore[attr-defined]
    s.add(
        Order(
            source="t",
            external_no=f"O{n}",
            customer_id=c.id,
            channel=OrderChannel.store,
            amount_fen=amount,
            refund_fen=refund,
            paid_at=local.replace(tzinfo=ZONE).astimezone(UTC),
        )
    )


def test_summary_rules(session: Session) -> None:
    s = session
    unit = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/", depth=0)
    s.add(unit)
    s.flush()
    staff = Staff(code="G1", name="G1", unit_id=unit.id)
    s.add(staff)
    s.flush()
    a = _customer(s, owner_staff_id=staff.id, home_store_id=unit.id)
    # Two orders on one local day (23:59 and 00:00 the same day) are one purchase day; 00:00 next day another.
    _order(s, a, datetime(2026, 1, 10, 0, 0), 1000)
    _order(s, a, datetime(2026, 1, 10, 23, 59, 59), 500)
    _order(s, a, datetime(2026, 1, 11, 0, 0), 300, refund=100)  # partly refunded: counted, net 200
    _order(s, a, datetime(2026, 2, 1, 12, 0), 800, refund=800)  # refunded in full: not counted
    _order(s, a, datetime(2026, 3, 31, 23, 59, 59), 4000)  # last second of as_of: in
    _order(s, a, datetime(2026, 4, 1, 0, 0), 9999)  # first second after as_of: out
    b = _customer(s)
    _order(s, b, datetime(2026, 3, 2, 9, 0), 700)  # day 30 before as_of: in a 30-day window
    _order(s, b, datetime(2026, 3, 1, 9, 0), 600)  # day 31 before: outside the window
    free = _customer(s)
    _order(s, free, datetime(2026, 3, 5, 9, 0), 0)  # 0-fen order: not counted by default
    gone = _customer(s)
    survivor = _customer(s)
    gone.merged_into_id = survivor.id
    _order(s, gone, datetime(2026, 3, 5, 9, 0), 100)  # still pointing at a merged-away customer
    s.flush()

    summary = load_purchase_summary(s, AS_OF, rfm_window_days=30, zone=ZONE)
    assert list(summary.customer_id) == [a.id, b.id]
    d = date.toordinal
    assert list(summary.first_day) == [d(date(2026, 1, 10)), d(date(2026, 3, 1))]
    assert list(summary.last_day) == [d(AS_OF), d(date(2026, 3, 2))]
    assert list(summary.purchase_days) == [3, 2]
    # a: first day 1500; repeat days 200 and 4000 → mean 2100. b: one repeat day of 700.
    np.testing.assert_allclose(summary.repeat_value_fen, [2100.0, 700.0])
    assert list(summary.window_orders) == [1, 1] and list(summary.window_spend_fen) == [4000, 700]
    assert list(summary.owner_staff_id) == [staff.id, -1] and list(summary.home_store_id) == [unit.id, -1]

    with_free = load_purchase_summary(s, AS_OF, rfm_window_days=30, zone=ZONE, free_orders=True)
    assert list(with_free.customer_id) == [a.id, b.id, free.id]
    assert with_free.window_spend_fen[2] == 0 and with_free.window_orders[2] == 1

    x, t_x, T, _ = model_inputs(summary, AS_OF)
    np.testing.assert_array_equal(x, [2, 1])
    np.testing.assert_array_equal(t_x, [d(AS_OF) - d(date(2026, 1, 10)), 1])
    np.testing.assert_array_equal(T, [d(AS_OF) - d(date(2026, 1, 10)), 30])
    _, t_w, T_w, _ = model_inputs(summary, AS_OF, unit_days=7.0)
    np.testing.assert_allclose(T_w, T / 7)
    np.testing.assert_allclose(t_w, t_x / 7)
    # The day cut follows the zone: in UTC, a's 00:00 Shanghai orders fall on the previous day.
    utc = load_purchase_summary(s, AS_OF, rfm_window_days=30, zone=ZoneInfo("UTC"))
    assert utc.first_day[0] == d(date(2026, 1, 9))
    assert day_start_utc(AS_OF, ZONE) + timedelta(days=1) == datetime(2026, 3, 31, 16, tzinfo=UTC)


def test_empty(session: Session) -> None:
    summary = load_purchase_summary(session, AS_OF, rfm_window_days=30, zone=ZONE)
    assert len(summary) == 0 and summary.customer_id.dtype == np.int64
    assert model_inputs(summary, AS_OF)[0].size == 0


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London"])
def test_dst_day_cut(session: Session, zone: str) -> None:
    """Local midnight on both sides of a DST change lands on its own day (SQLite shifts by offset segments)."""
    tz = ZoneInfo(zone)
    c = _customer(session)
    days = [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 29), date(2026, 3, 30)]
    for day in days:
        session.add(
            Order(
                source="t",
                external_no=f"D{day}",
                customer_id=c.id,
                channel=OrderChannel.store,
                amount_fen=100,
                paid_at=datetime.combine(day, datetime.min.time(), tzinfo=tz).astimezone(UTC),
            )
        )
    session.flush()
    summary = load_purchase_summary(session, AS_OF, rfm_window_days=2, zone=tz)
    assert summary.purchase_days[0] == 5
    assert summary.first_day[0] == days[0].toordinal() and summary.last_day[0] == days[-1].toordinal()
    assert summary.window_orders[0] == 1  # only 03-30 within the 2 days 03-30..03-31
