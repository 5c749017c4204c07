"""Demo customers: who they are, where they came from, and their latent buying traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.demo import names
from siyu.demo.org import OrgData
from siyu.demo.timeline import DAY, Calendar, sample_tod, to_date

SOURCES = ("telesales", "order", "ad", "store", "referral", "organic", "intercept")
TELESALES, ORDER, AD, STORE, REFERRAL, ORGANIC, INTERCEPT = range(7)
SOURCE_SHARE = np.array([0.10, 0.18, 0.15, 0.30, 0.08, 0.11, 0.08])
SOURCE_TAG = ("电销名单", "订单导入", "广告线索", "门店到店", "老带新", "自然流量", "地推活动")
AD_PLATFORMS = (
    ("moments", "朋友圈广告"),
    ("douyin", "抖音信息流"),
    ("xhs", "小红书种草"),
    ("channels", "视频号"),
)
ORDER_FEEDS = ("天猫旗舰店订单", "京东自营订单", "抖音小店订单", "门店POS订单")
ORGANIC_DETAILS = ("小程序自然访问", "公众号搜索关注", "视频号主页", "朋友分享小程序")
INTERCEPT_DETAILS = ("商场中庭地推", "早教中心异业合作", "社区义诊活动", "妇幼医院周边派样")


@dataclass
class People:
    """Customers in first-seen order (index i gets id ids[i]) with their latent traits."""

    n: int
    ids: np.ndarray
    first_seen: np.ndarray
    source: np.ndarray
    store: np.ndarray
    city: list[str]
    gender: list[str | None]
    name: list[str]
    referrer: np.ndarray
    source_detail: list[str | None]
    ad_campaign: list[str | None]
    # Latent traits of the repeat-buying process (BG/NBD-like) and of spend (Gamma-Gamma).
    rate: np.ndarray
    dropout: np.ndarray
    spend_rate: np.ndarray
    advocacy: np.ndarray
    chattiness: np.ndarray


def acquisition_days(rng: np.random.Generator, cal: Calendar, n: int, season_power: float) -> np.ndarray:
    """Local day index of first contact: the programme grows over the window, campaigns bring bursts."""
    x = np.arange(cal.days) / cal.days
    weights = (0.25 + 0.75 * x) * cal.intensity**season_power
    return rng.choice(cal.days, size=n, p=weights / weights.sum())


def build_people(rng: np.random.Generator, cal: Calendar, org: OrgData, n: int, first_id: int) -> People:
    """Draw n customers, sorted by first contact so ids grow with time."""
    source = rng.choice(len(SOURCES), size=n, p=SOURCE_SHARE)
    day = acquisition_days(rng, cal, n, 0.6)
    ad_day = acquisition_days(rng, cal, n, 1.8)
    day = np.where(source == AD, ad_day, day)
    in_store = (source == STORE) | (source == INTERCEPT)
    tod = np.where(in_store, sample_tod(rng, n, "store"), sample_tod(rng, n, "online"))
    first_seen = cal.start + day * DAY + tod
    order = np.argsort(first_seen, kind="stable")
    source, first_seen = source[order], first_seen[order]

    # Home store: one open at first contact, bigger stores drawing more people.
    store = np.full(n, -1, dtype=np.int64)
    opens = np.sort(np.unique(org.store_open))
    era = np.searchsorted(opens, first_seen, side="right")
    for k in np.unique(era).tolist():
        rows = np.flatnonzero(era == k)
        open_mask = org.store_open <= (opens[k - 1] if k > 0 else opens[0])
        w = org.store_weight * open_mask
        store[rows] = rng.choice(len(w), size=len(rows), p=w / w.sum())

    # Referrers: an earlier customer, heavy-tailed so a few mothers bring many friends.
    advocacy = rng.lognormal(0.0, 1.1, n)
    referrer = np.full(n, -1, dtype=np.int64)
    referred = np.flatnonzero(source == REFERRAL)
    cum = np.cumsum(advocacy)
    has_earlier = referred > 0
    source[referred[~has_earlier]] = ORGANIC
    referred = referred[has_earlier]
    u = rng.random(len(referred)) * cum[referred - 1]
    referrer[referred] = np.minimum(np.searchsorted(cum, u, side="right"), referred - 1)
    same_store = rng.random(len(referred)) < 0.85
    store[referred[same_store]] = store[referrer[referred[same_store]]]

    city_idx = rng.integers(0, len(names.OTHER_CITIES), n)
    away = rng.random(n) < 0.1
    city = [
        names.OTHER_CITIES[c] if a else org.store_cities[s]
        for c, a, s in zip(city_idx.tolist(), away.tolist(), store.tolist(), strict=True)
    ]
    g = rng.random(n)
    gender: list[str | None] = ["female" if v < 0.86 else "male" if v < 0.97 else None for v in g.tolist()]
    real, _py, _female = names.person_names(rng, n, 0.88)
    nick_idx = rng.integers(0, len(names.NICKNAMES), n)
    pet_idx = rng.integers(0, len(names.BABY_PET_NAMES), n)
    style = rng.random(n)
    wechat_known = np.isin(source, (AD, ORGANIC, INTERCEPT))
    name: list[str] = []
    for i in range(n):
        if wechat_known[i] and style[i] < 0.35:
            name.append(names.NICKNAMES[nick_idx[i]])
        elif wechat_known[i] and style[i] < 0.55:
            name.append(names.BABY_PET_NAMES[pet_idx[i]] + "妈妈")
        else:
            name.append(real[i])

    source_detail, ad_campaign = _source_details(rng, cal, org, source, first_seen, store)
    return People(
        n=n,
        ids=np.arange(first_id, first_id + n, dtype=np.int64),
        first_seen=first_seen,
        source=source,
        store=store,
        city=city,
        gender=gender,
        name=name,
        referrer=referrer,
        source_detail=source_detail,
        ad_campaign=ad_campaign,
        rate=rng.gamma(1.6, 27.0 / 1.6, n),
        dropout=rng.beta(1.2, 22.0, n),
        spend_rate=rng.gamma(4.0, 1.0 / 140.0, n),
        advocacy=advocacy,
        chattiness=rng.lognormal(0.0, 0.7, n),
    )


def _source_details(
    rng: np.random.Generator,
    cal: Calendar,
    org: OrgData,
    source: np.ndarray,
    first_seen: np.ndarray,
    store: np.ndarray,
) -> tuple[list[str | None], list[str | None]]:
    """Human-readable origin of each customer, and the ad campaign for ad leads."""
    n = len(source)
    pick = rng.integers(0, 1 << 30, n).tolist()
    day = ((first_seen - cal.start) // DAY).tolist()
    details: list[str | None] = []
    campaigns: list[str | None] = []
    start_date = to_date(cal.start)
    for i, src in enumerate(source.tolist()):
        campaign = None
        if src == TELESALES:
            d = start_date.fromordinal(start_date.toordinal() + day[i])
            detail = f"电销名单 {d.year}-{d.month:02d} 批次"
        elif src == ORDER:
            detail = ORDER_FEEDS[pick[i] % len(ORDER_FEEDS)]
        elif src == AD:
            code, platform = AD_PLATFORMS[pick[i] % len(AD_PLATFORMS)]
            d = start_date.fromordinal(start_date.toordinal() + day[i])
            campaign = f"ad-{d.year}{d.month:02d}-{code}"
            detail = f"{platform}·新客礼包"
        elif src == STORE:
            detail = org.store_names[store[i]]
        elif src == REFERRAL:
            detail = "老带新·推荐有礼"
        elif src == ORGANIC:
            detail = ORGANIC_DETAILS[pick[i] % len(ORGANIC_DETAILS)]
        else:
            detail = INTERCEPT_DETAILS[pick[i] % len(INTERCEPT_DETAILS)]
        details.append(detail)
        campaigns.append(campaign)
    return details, campaigns
