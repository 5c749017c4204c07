"""The repeat-purchase process: who buys, when and how much (BG/NBD-like rates, Gamma-Gamma spend)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.demo.customers import AD, INTERCEPT, ORDER, ORGANIC, REFERRAL, STORE, TELESALES, People
from siyu.demo.timeline import DAY, HOUR, NO_TIME, Calendar, lognormal_seconds, sample_tod

ORDER_CHANNELS = ("miniprogram", "store", "ecommerce", "live")
MINIPROGRAM, STORE_CH, ECOMMERCE, LIVE = range(4)
LIFECYCLE = ("new", "active", "sleeping", "lost", "recalled")
ACTIVE_DAYS, SLEEPING_DAYS, NEW_DAYS = 90, 180, 90
GLOBAL_MIX = np.array([0.36, 0.34, 0.18, 0.12])
# Chance that a customer from each source ever buys (conversion differs by how they came in).
BUY_PROB = {TELESALES: 0.38, ORDER: 1.0, AD: 0.45, STORE: 0.8, REFERRAL: 0.62, ORGANIC: 0.5, INTERCEPT: 0.42}
# Preferred order channel by source (miniprogram, store, ecommerce, live).
PREFERRED = {
    TELESALES: (0.5, 0.2, 0.2, 0.1),
    ORDER: (0.3, 0.1, 0.45, 0.15),
    AD: (0.55, 0.15, 0.15, 0.15),
    STORE: (0.25, 0.7, 0.03, 0.02),
    REFERRAL: (0.4, 0.5, 0.05, 0.05),
    ORGANIC: (0.7, 0.15, 0.05, 0.1),
    INTERCEPT: (0.35, 0.55, 0.05, 0.05),
}


@dataclass
class Purchases:
    """Orders sorted by paid_at, plus per-customer summaries."""

    cust: np.ndarray
    paid_at: np.ndarray
    channel: np.ndarray
    amount_fen: np.ndarray
    first_order: np.ndarray
    last_order: np.ndarray
    order_count: np.ndarray
    first_channel_order: np.ndarray  # (customers, channels): first order time per channel or NO_TIME
    died_at: np.ndarray
    preferred: np.ndarray

    @property
    def n(self) -> int:
        """Number of orders."""
        return len(self.cust)


def _per_customer(n: int, cust: np.ndarray, values: np.ndarray, reduce: np.ufunc) -> np.ndarray:
    """Min or max of values per customer (NO_TIME where a customer has none)."""
    empty = np.iinfo(np.int64).max if reduce is np.minimum else np.iinfo(np.int64).min + 1
    out = np.full(n, empty, dtype=np.int64)
    reduce.at(out, cust, values)
    return np.where(out == empty, NO_TIME, out)


def purchase_process(rng: np.random.Generator, cal: Calendar, people: People) -> Purchases:
    """Draw every customer's orders over the window up to as_of."""
    n = people.n
    src = people.source
    buy_p = np.vectorize(BUY_PROB.__getitem__)(src)
    buyer = rng.random(n) < buy_p
    same_visit = (src == STORE) & (rng.random(n) < 0.7)
    delay = lognormal_seconds(rng, n, 5 * DAY, 1.3)
    delay = np.where(same_visit, rng.integers(300, 2400, n), delay)
    delay = np.where(src == ORDER, 0, delay)
    t1 = people.first_seen + delay
    buyer &= t1 < cal.end - HOUR
    pref_table = np.array([PREFERRED[s] for s in range(len(PREFERRED))])
    cum = np.cumsum(pref_table[src], axis=1)
    preferred = (rng.random(n)[:, None] >= cum).sum(axis=1).clip(0, 3)

    b = np.flatnonzero(buyer)
    exposure = cal.exposure_years(t1[b], np.full(len(b), cal.end))
    n_pois = rng.poisson(people.rate[b] * exposure)
    # After each purchase the customer may become inactive for good (the BG/NBD drop-out).
    lives = rng.geometric(people.dropout[b]) - 1
    repeats = np.minimum(n_pois, lives)
    died = lives < n_pois
    owner = np.repeat(np.arange(len(b)), n_pois)
    u = rng.random(len(owner))
    order = np.lexsort((u, owner))
    u = u[order]
    starts = np.concatenate([[0], np.cumsum(n_pois)[:-1]])
    rank = np.arange(len(owner)) - starts[owner]
    keep = rank < repeats[owner]
    owner, u = owner[keep], u[keep]
    rep_cust = b[owner]
    rep_t = cal.warp(t1[rep_cust], np.full(len(rep_cust), cal.end), u)

    # Some lapsed customers are won back by a recall campaign after a long gap (召回), then buy a few times.
    last_t = t1[b].copy()
    np.maximum.at(last_t, owner, rep_t)
    back = np.flatnonzero(died & (rng.random(len(b)) < 0.18))
    back_at = last_t[back] + (SLEEPING_DAYS + 5) * DAY + lognormal_seconds(rng, len(back), 50 * DAY, 0.8)
    inside = back_at < cal.end - DAY
    back, back_at = back[inside], back_at[inside]
    extra = rng.integers(1, 4, len(back))
    rec_owner = np.repeat(back, extra)
    step = np.repeat(back_at, extra) + (
        np.arange(len(rec_owner)) - np.repeat(np.cumsum(extra) - extra, extra)
    ) * (lognormal_seconds(rng, len(rec_owner), 30 * DAY, 0.5))
    rec_keep = step < cal.end - DAY
    rep_cust = np.concatenate([rep_cust, b[rec_owner[rec_keep]]])
    rep_t = np.concatenate([rep_t, step[rec_keep]])

    cust = np.concatenate([b, rep_cust])
    is_first = np.concatenate([np.ones(len(b), bool), np.zeros(len(rep_cust), bool)])
    m = len(cust)
    channel = np.where(
        rng.random(m) < 0.7, preferred[cust], rng.choice(4, size=m, p=GLOBAL_MIX / GLOBAL_MIX.sum())
    )
    channel[: len(b)] = np.where(same_visit[b], STORE_CH, preferred[b])
    tod = np.where(channel == STORE_CH, sample_tod(rng, m, "store"), sample_tod(rng, m, "online"))
    paid = np.concatenate([t1[b], cal.at_local_time(rep_t, tod[len(b) :])])
    first_t = t1[cust]
    # A repeat drawn on the first-order day but earlier in the day moves to later that day.
    early = ~is_first & (paid <= first_t)
    paid = np.where(early, first_t + rng.integers(HOUR, 6 * HOUR, m), paid)
    paid = np.minimum(paid, cal.end - rng.integers(60, HOUR, m))

    # Spend per order varies around the customer's own mean (Gamma-Gamma), in whole jiao.
    z = rng.gamma(6.0, 1.0 / people.spend_rate[cust])
    amount = np.maximum(990, np.round(z * 10) * 10).astype(np.int64)

    order_idx = np.lexsort((cust, paid))
    cust, paid, channel, amount = cust[order_idx], paid[order_idx], channel[order_idx], amount[order_idx]
    count = np.bincount(cust, minlength=n)
    first_order = _per_customer(n, cust, paid, np.minimum)
    last_order = _per_customer(n, cust, paid, np.maximum)
    first_channel = np.stack(
        [_per_customer(n, cust[channel == c], paid[channel == c], np.minimum) for c in range(4)], axis=1
    )
    died_at = np.full(n, NO_TIME, dtype=np.int64)
    died_at[b[died]] = last_t[died]
    return Purchases(
        cust=cust,
        paid_at=paid,
        channel=channel,
        amount_fen=amount,
        first_order=first_order,
        last_order=last_order,
        order_count=count,
        first_channel_order=first_channel,
        died_at=died_at,
        preferred=preferred,
    )


def lifecycle_stages(cal: Calendar, people: People, buys: Purchases) -> np.ndarray:
    """Lifecycle code per customer (index into LIFECYCLE), from orders as of the end of the window."""
    # Never bought: new if first seen within 90 days, else lost. Bought: lost if the last order is
    # over 180 days old, sleeping if over 90; otherwise recalled if the latest order ended a gap of
    # over 180 days, new if the first order is within 90 days, else active.
    end = cal.end
    stage = np.full(people.n, 3, dtype=np.int64)
    never = buys.order_count == 0
    stage[never & (end - people.first_seen <= NEW_DAYS * DAY)] = 0
    recency = end - buys.last_order
    bought = ~never
    # A gap of over 180 days that ended with an order inside the active window: a lost customer came back.
    by_customer = np.lexsort((buys.paid_at, buys.cust))
    cust, paid = buys.cust[by_customer], buys.paid_at[by_customer]
    same = cust[1:] == cust[:-1]
    returns = same & (np.diff(paid) > SLEEPING_DAYS * DAY) & (end - paid[1:] <= ACTIVE_DAYS * DAY)
    recalled = np.zeros(people.n, dtype=bool)
    recalled[cust[1:][returns]] = True
    stage[bought & (recency > SLEEPING_DAYS * DAY)] = 3
    stage[bought & (recency <= SLEEPING_DAYS * DAY)] = 2
    fresh = bought & (recency <= ACTIVE_DAYS * DAY)
    stage[fresh] = 1
    stage[fresh & (end - buys.first_order <= NEW_DAYS * DAY)] = 0
    stage[fresh & recalled] = 4
    return stage
