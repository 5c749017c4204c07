"""Orders, order lines, refunds, store visits and referrals, each with its events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.demo import eventlog, names
from siyu.demo.channels import Memberships
from siyu.demo.customers import People
from siyu.demo.org import OrgData
from siyu.demo.purchases import ECOMMERCE, LIVE, MINIPROGRAM, ORDER_CHANNELS, STORE_CH, Purchases
from siyu.demo.timeline import DAY, HOUR, NO_TIME, Calendar, TimeText, lognormal_seconds, sample_tod
from siyu.demo.writer import Codes, Ints, Lazy, Times, Writer
from siyu.models import Order, OrderLine, Referral, StoreVisit

ORDER_SOURCES = ("miniprogram", "pos", "tmall", "jd", "douyin_live", "channels_live")
SOURCE_PREFIX = ("MP", "POS", "TM", "JD", "DY", "SPH")
STATUSES = ("paid", "partially_refunded", "refunded")
COUPONS = ("CP-NEW-50", "CP-MEMBER-DAY", "CP-REPURCHASE-20", "CP-BIRTHDAY", "CP-POINTS")
VISIT_PURPOSES = ("purchase", "consultation", "event", "pickup", "service")


@dataclass
class OrderPlan:
    """Everything about each order beyond the purchase process (indexed like Purchases)."""

    store: np.ndarray
    staff: np.ndarray
    source: np.ndarray
    discount: np.ndarray
    coupon: np.ndarray
    campaign: np.ndarray
    refund: np.ndarray
    refunded_at: np.ndarray
    status: np.ndarray


def plan_orders(
    rng: np.random.Generator, cal: Calendar, org: OrgData, people: People, buys: Purchases, ms: Memberships
) -> OrderPlan:
    """Attribute orders to stores and guides, and draw coupons, campaigns and refunds."""
    m = buys.n
    cust, paid, ch = buys.cust, buys.paid_at, buys.channel
    home = people.store[cust]
    guide = ms.staff_at(cust, paid)
    region = org.store_region[home]
    # A store order is mostly in the home store, sometimes in another store of the region that was open.
    other = rng.integers(0, len(org.store_ids), m)
    usable = (org.store_region[other] == region) & (org.store_open[other] <= paid)
    store = np.where((rng.random(m) < 0.1) & usable, other, home)
    guide_store = np.where(guide >= 0, org.staff_store[np.maximum(guide, 0)], -1)
    store = np.where(ch == STORE_CH, store, -1)
    # Mini-program orders are credited to the customer's guide and store (导购分佣), else often to the home store.
    store = np.where((ch == MINIPROGRAM) & (guide >= 0), guide_store, store)
    store = np.where((ch == MINIPROGRAM) & (guide < 0) & (rng.random(m) < 0.7), home, store)
    staff = np.where((ch == STORE_CH) & (guide_store == store), guide, -1)
    need = np.flatnonzero((ch == STORE_CH) & (staff < 0))
    staff[need] = org.pick_guides(rng, store[need], paid[need])
    staff = np.where(ch == MINIPROGRAM, guide, staff)

    pref_feed = rng.integers(0, 2, people.n)[cust]
    source = np.select(
        [ch == MINIPROGRAM, ch == STORE_CH, ch == ECOMMERCE, ch == LIVE],
        [np.zeros(m, dtype=np.int64), np.ones(m, dtype=np.int64), 2 + pref_feed, 4 + pref_feed],
    )
    first = np.zeros(m, dtype=bool)
    first[np.unique(cust, return_index=True)[1]] = True
    campaign = cal.campaign_of(paid)
    campaign = np.where(rng.random(m) < 0.8, campaign, -1)
    coupon = np.where(first & (rng.random(m) < 0.6), 0, -1)
    more = (coupon < 0) & (rng.random(m) < np.where(campaign >= 0, 0.55, 0.18))
    coupon = np.where(more, rng.integers(1, len(COUPONS), m), coupon)
    discount = np.where(
        coupon == 0,
        np.minimum(5_000, buys.amount_fen * 3 // 10),
        np.round(buys.amount_fen * rng.uniform(0.05, 0.2, m) / 100) * 100,
    ).astype(np.int64)
    discount = np.where(coupon < 0, 0, discount)

    kind = rng.random(m)
    refunded_at = paid + lognormal_seconds(rng, m, 3 * DAY, 0.9)
    full = (kind < 0.025) & (refunded_at < cal.end)
    partial = (kind >= 0.025) & (kind < 0.04) & (refunded_at < cal.end)
    refund = np.where(full, buys.amount_fen, 0)
    share = rng.uniform(0.1, 0.6, m)
    refund = np.where(partial, np.round(buys.amount_fen * share / 10) * 10, refund).astype(np.int64)
    status = np.where(full, 2, np.where(partial, 1, 0))
    return OrderPlan(
        store=store,
        staff=staff,
        source=source,
        discount=discount,
        coupon=coupon,
        campaign=campaign,
        refund=refund,
        refunded_at=np.where(full | partial, refunded_at, NO_TIME),
        status=status,
    )


def write_orders(
    rng: np.random.Generator,
    cal: Calendar,
    org: OrgData,
    people: People,
    buys: Purchases,
    plan: OrderPlan,
    writer: Writer,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Write orders, lines and their events; returns order ids and each line's order index and SKU index."""
    writer.reporter.step("orders")
    m = buys.n
    first = writer.reserve(Order.__table__, m)  # type: ignore[arg-type]
    ids = np.arange(first, first + m, dtype=np.int64)
    day_text = TimeText("sqlite")
    local_day = (buys.paid_at + 8 * HOUR) // DAY * DAY
    source_list = plan.source.tolist()

    def external_no(a: int, b: int) -> list[str]:
        days = [d[:10].replace("-", "") for d in day_text.format(local_day[a:b]) if d is not None]
        return [f"{SOURCE_PREFIX[source_list[a + k]]}{days[k]}{a + k:08d}" for k in range(b - a)]

    store_ids = np.where(plan.store >= 0, org.store_ids[np.maximum(plan.store, 0)], -1)
    staff_ids = np.where(plan.staff >= 0, org.staff_ids[np.maximum(plan.staff, 0)], -1)
    cust_ids = people.ids[buys.cust]
    writer.write(
        Order.__table__,  # type: ignore[arg-type]
        m,
        {
            "id": Ints(ids),
            "source": Codes(plan.source, ORDER_SOURCES),
            "external_no": Lazy(external_no),
            "customer_id": Ints(cust_ids),
            "channel": Codes(buys.channel, ORDER_CHANNELS),
            "store_id": Ints(store_ids, nullable=True),
            "staff_id": Ints(staff_ids, nullable=True),
            "campaign_ref": Codes(plan.campaign, cal.campaign_refs),
            "coupon_ref": Codes(plan.coupon, COUPONS),
            "amount_fen": Ints(buys.amount_fen),
            "discount_fen": Ints(plan.discount),
            "refund_fen": Ints(plan.refund),
            "status": Codes(plan.status, STATUSES),
            "paid_at": Times(buys.paid_at),
            "refunded_at": Times(plan.refunded_at),
            "created_at": Times(buys.paid_at),
        },
    )
    line_order, line_sku = _write_lines(rng, people, buys, ids, cust_ids, writer)
    eventlog.emit(
        writer,
        eventlog.ORDERED,
        buys.paid_at,
        customer=cust_ids,
        staff=staff_ids,
        unit=store_ids,
        subject_type="order",
        subject_id=ids,
        data=eventlog.json_text(
            '{{"amount_fen": {0}, "channel": "{1}"}}',
            buys.amount_fen,
            np.asarray(ORDER_CHANNELS, dtype=object)[buys.channel],
        ),
    )
    rf = np.flatnonzero(plan.refund > 0)
    eventlog.emit(
        writer,
        eventlog.REFUNDED,
        plan.refunded_at[rf],
        customer=cust_ids[rf],
        staff=staff_ids[rf],
        unit=store_ids[rf],
        subject_type="order",
        subject_id=ids[rf],
        data=eventlog.json_text('{{"refund_fen": {0}}}', plan.refund[rf]),
    )
    return ids, line_order, line_sku


def _write_lines(
    rng: np.random.Generator,
    people: People,
    buys: Purchases,
    order_ids: np.ndarray,
    cust_ids: np.ndarray,
    writer: Writer,
) -> tuple[np.ndarray, np.ndarray]:
    """1-3 lines per order whose amounts add up to the order amount exactly."""
    m = buys.n
    prices = np.array([p[3] for p in names.PRODUCTS], dtype=np.float64) * 100
    weights = np.array([p[4] for p in names.PRODUCTS])
    favourite = rng.choice(len(prices), size=people.n, p=weights / weights.sum())
    count = rng.choice(3, size=m, p=[0.65, 0.25, 0.10]) + 1
    line_order = np.repeat(np.arange(m), count)
    rank = np.arange(len(line_order)) - np.repeat(np.cumsum(count) - count, count)
    sku = rng.choice(len(prices), size=len(line_order), p=weights / weights.sum())
    fav = (rank == 0) & (rng.random(len(line_order)) < 0.7)
    sku = np.where(fav, favourite[buys.cust[line_order]], sku)
    share = prices[sku] / np.bincount(line_order, weights=prices[sku])[line_order]
    amount = np.floor(buys.amount_fen[line_order] * share).astype(np.int64)
    # The last line takes the rounding remainder so lines reconcile with the order to the fen.
    last = np.cumsum(count) - 1
    amount[last] += buys.amount_fen - np.bincount(line_order, weights=amount, minlength=m).astype(np.int64)
    quantity = np.clip(np.round(amount / prices[sku]), 1, 6).astype(np.int64)
    n = len(line_order)
    first = writer.reserve(OrderLine.__table__, n)  # type: ignore[arg-type]
    writer.write(
        OrderLine.__table__,  # type: ignore[arg-type]
        n,
        {
            "id": Ints(np.arange(first, first + n, dtype=np.int64)),
            "order_id": Ints(order_ids[line_order]),
            "customer_id": Ints(cust_ids[line_order]),
            "sku": Codes(sku, [p[0] for p in names.PRODUCTS]),
            "name": Codes(sku, [p[1] for p in names.PRODUCTS]),
            "quantity": Ints(quantity),
            "amount_fen": Ints(amount),
        },
    )
    return line_order, sku


def write_visits(
    rng: np.random.Generator,
    cal: Calendar,
    org: OrgData,
    people: People,
    buys: Purchases,
    plan: OrderPlan,
    ms: Memberships,
    writer: Writer,
) -> tuple[np.ndarray, np.ndarray]:
    """Store visits: one per store order, plus visits without a purchase; returns who came to events, and when."""
    writer.reporter.step("store visits")
    buy = np.flatnonzero(buys.channel == STORE_CH)
    v_cust = buys.cust[buy]
    v_store = plan.store[buy]
    v_staff = plan.staff[buy]
    v_at = buys.paid_at[buy] - rng.integers(300, 2400, len(buy))
    v_purpose = np.zeros(len(buy), dtype=np.int64)
    # Extra visits for customers near their store, at a personal rate over the time they have been known.
    exposure = (cal.end - people.first_seen) / (365 * DAY)
    extra_rate = np.where(buys.preferred == STORE_CH, 1.2, 0.35) * people.chattiness
    extra = rng.poisson(extra_rate * exposure)
    e_cust = np.repeat(np.arange(people.n), extra)
    u = rng.random(len(e_cust))
    e_day = people.first_seen[e_cust] + (u * (cal.end - people.first_seen[e_cust])).astype(np.int64)
    e_at = cal.at_local_time(e_day, sample_tod(rng, len(e_cust), "store"))
    ok = (e_at > people.first_seen[e_cust]) & (e_at < cal.end)
    e_cust, e_at = e_cust[ok], e_at[ok]
    e_store = people.store[e_cust]
    e_staff = ms.staff_at(e_cust, e_at)
    same = (e_staff >= 0) & (org.staff_store[np.maximum(e_staff, 0)] == e_store)
    e_staff = np.where(same, e_staff, org.pick_guides(rng, e_store, e_at))
    e_purpose = rng.choice(4, size=len(e_cust), p=[0.4, 0.25, 0.25, 0.1]) + 1
    cust = np.concatenate([v_cust, e_cust])
    at = np.concatenate([v_at, e_at])
    order = np.argsort(at, kind="stable")
    cust, at = cust[order], at[order]
    store = np.concatenate([v_store, e_store])[order]
    staff = np.concatenate([v_staff, e_staff])[order]
    purpose = np.concatenate([v_purpose, e_purpose])[order]
    n = len(cust)
    first = writer.reserve(StoreVisit.__table__, n)  # type: ignore[arg-type]
    ids = np.arange(first, first + n, dtype=np.int64)
    cust_ids = people.ids[cust]
    store_ids = org.store_ids[store]
    staff_ids = np.where(staff >= 0, org.staff_ids[np.maximum(staff, 0)], -1)
    writer.write(
        StoreVisit.__table__,  # type: ignore[arg-type]
        n,
        {
            "id": Ints(ids),
            "customer_id": Ints(cust_ids),
            "store_id": Ints(store_ids),
            "staff_id": Ints(staff_ids, nullable=True),
            "visited_at": Times(at),
            "purpose": Codes(purpose, VISIT_PURPOSES),
        },
    )
    eventlog.emit(
        writer,
        eventlog.STORE_VISIT,
        at,
        customer=cust_ids,
        staff=staff_ids,
        unit=store_ids,
        subject_type="store_visit",
        subject_id=ids,
        data=eventlog.json_text('{{"purpose": "{0}"}}', np.asarray(VISIT_PURPOSES, dtype=object)[purpose]),
    )
    event = purpose == VISIT_PURPOSES.index("event")
    return cust[event], at[event]


def write_referrals(org: OrgData, people: People, ms: Memberships, writer: Writer) -> None:
    """A Referral row and a 'referred' event per customer who came through another."""
    referred = np.flatnonzero(people.referrer >= 0)
    referrer = people.referrer[referred]
    at = people.first_seen[referred]
    staff = ms.staff_at(referrer, at)
    staff_ids = np.where(staff >= 0, org.staff_ids[np.maximum(staff, 0)], -1)
    n = len(referred)
    first = writer.reserve(Referral.__table__, n)  # type: ignore[arg-type]
    ids = np.arange(first, first + n, dtype=np.int64)
    writer.write(
        Referral.__table__,  # type: ignore[arg-type]
        n,
        {
            "id": Ints(ids),
            "referrer_id": Ints(people.ids[referrer]),
            "referred_id": Ints(people.ids[referred]),
            "staff_id": Ints(staff_ids, nullable=True),
            "referred_at": Times(at),
        },
    )
    unit = np.where(staff >= 0, org.store_ids[people.store[referrer]], -1)
    eventlog.emit(
        writer,
        eventlog.REFERRED,
        at,
        customer=people.ids[referrer],
        staff=staff_ids,
        unit=unit,
        subject_type="customer",
        subject_id=people.ids[referred],
    )
