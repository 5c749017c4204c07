"""RFM scoring in NumPy: the eight-class scheme (high/low against a cut) and 1–5 quintile scores with named segments.

Inputs are one entry per scored customer (the caller keeps only customers with a counted order in the
window): recency_days = days from the last counted order to as_of (0 = bought on as_of), frequency =
counted orders in the window, monetary_fen = net spend in the window.

Eight-class: R is high when recency_days ≤ cut (recent is good), F high when frequency ≥ cut, M high
when monetary_fen ≥ cut — a value equal to the cut is high on all three. The cut is the mean or the
median of the scored customers, or the fixed thresholds of the settings. Scores are 1 (high) / 0 (low).

Quintile: every dimension is oriented so larger is better (R uses −recency_days), ranked with ties
sharing their average rank (1-based; the group occupying ranks k+1 … k+t gets k + (t+1)/2), and
score = ceil(5 × rank / n). Without ties this is the usual fifths (ranks 1 … n/5 → 1); equal values
always share a score because they share a rank. The segment comes from R and FM = round-half-up of
(F + M) / 2 through QUINTILE_GRID.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from siyu.insights.contract import EIGHT_CLASS, QUINTILE_SEGMENTS, RfmCut, RfmScheme, RfmSettings

# QUINTILE_GRID[r - 1][fm - 1] → segment code (rows R 1..5, columns FM 1..5).
QUINTILE_GRID: tuple[tuple[str, ...], ...] = (
    ("lost", "lost", "at_risk", "at_risk", "cannot_lose"),  # R = 1
    ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),  # R = 2
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),  # R = 3
    ("promising", "potential_loyal", "potential_loyal", "loyal", "champions"),  # R = 4
    ("new_customers", "potential_loyal", "potential_loyal", "champions", "champions"),  # R = 5
)


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    """How the console names a segment and what it suggests doing about it."""

    scheme: RfmScheme
    label_zh: str
    label_en: str
    action_zh: str
    action_en: str


_E, _Q = RfmScheme.eight_class, RfmScheme.quintile
SEGMENT_INFO: dict[str, SegmentInfo] = {
    "important_value": SegmentInfo(_E, "重要价值", "Important value", "专属权益与新品首发，维持关系", "Exclusive perks and first looks; keep them close"),
    "important_develop": SegmentInfo(_E, "重要发展", "Important develop", "会员日、复购券提升购买频次", "Member days and repeat coupons to raise frequency"),
    "important_keep": SegmentInfo(_E, "重要保持", "Important keep", "导购主动回访，唤回近期未购", "Guide follow-up to bring recent lapses back"),
    "important_retain": SegmentInfo(_E, "重要挽留", "Important retain", "一对一召回，重点挽留", "One-to-one recall; top retention priority"),
    "general_value": SegmentInfo(_E, "一般价值", "General value", "交叉推荐提升客单价", "Cross-sell to lift order value"),
    "general_develop": SegmentInfo(_E, "一般发展", "General develop", "新客培育内容与首复购引导", "Nurture content and a nudge to the second purchase"),
    "general_keep": SegmentInfo(_E, "一般保持", "General keep", "社群活动保持触达", "Group activities to stay in touch"),
    "general_retain": SegmentInfo(_E, "一般挽留", "General retain", "低成本群发唤醒", "Low-cost mass reactivation"),
    "champions": SegmentInfo(_Q, "重要价值（冠军）", "Champions", "专属权益、邀请转介绍", "Exclusive perks; invite referrals"),
    "loyal": SegmentInfo(_Q, "忠诚客户", "Loyal", "会员升级与忠诚度奖励", "Tier upgrades and loyalty rewards"),
    "potential_loyal": SegmentInfo(_Q, "潜力忠诚", "Potential loyal", "会员招募与复购券", "Membership invitation and repeat coupons"),
    "new_customers": SegmentInfo(_Q, "新客", "New customers", "新客欢迎旅程与首复购引导", "Welcome journey and a nudge to the second purchase"),
    "promising": SegmentInfo(_Q, "有潜力", "Promising", "品牌内容种草，建立认知", "Brand content to build awareness"),
    "need_attention": SegmentInfo(_Q, "需要关注", "Need attention", "限时优惠与个性化推荐", "Limited-time offers and personal picks"),
    "about_to_sleep": SegmentInfo(_Q, "即将沉睡", "About to sleep", "热门商品推荐，防止沉睡", "Popular products before they drift off"),
    "at_risk": SegmentInfo(_Q, "流失风险", "At risk", "导购一对一关怀召回", "Guide one-to-one care and recall"),
    "cannot_lose": SegmentInfo(_Q, "不能失去", "Cannot lose", "一对一召回，高价值挽留礼遇", "One-to-one recall with a high-value win-back offer"),
    "hibernating": SegmentInfo(_Q, "沉睡", "Hibernating", "低成本唤醒，或降低触达频率", "Low-cost wake-up, or contact less often"),
    "lost": SegmentInfo(_Q, "已流失", "Lost", "大促时唤醒，否则不再投入", "Wake up at big sales, otherwise stop spending"),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RfmScores:
    """Per-customer scores (same order as the inputs), the segment code of each, and the cuts used.

    segment is a NumPy str array of codes (contract.EIGHT_CLASS values or QUINTILE_SEGMENTS).
    """

    r: np.ndarray  # int8: 0/1 (eight-class) or 1..5 (quintile)
    f: np.ndarray
    m: np.ndarray
    segment: np.ndarray
    cuts: dict[str, Any]  # JSON-able: the thresholds (eight-class) or each score's value range (quintile)


def score_rfm(
    recency_days: np.ndarray, frequency: np.ndarray, monetary_fen: np.ndarray, settings: RfmSettings
) -> RfmScores:
    """Score customers by the settings' scheme; arrays are aligned, one entry per scored customer."""
    rec = np.asarray(recency_days, dtype=np.int64)
    freq = np.asarray(frequency, dtype=np.int64)
    money = np.asarray(monetary_fen, dtype=np.int64)
    if not rec.shape == freq.shape == money.shape:
        raise ValueError(f"RFM inputs differ in length: {rec.shape}, {freq.shape}, {money.shape}")
    if settings.scheme is RfmScheme.quintile:
        return _quintile(rec, freq, money)
    return _eight_class(rec, freq, money, settings)


def _cut_values(rec: np.ndarray, freq: np.ndarray, money: np.ndarray, settings: RfmSettings) -> tuple[float, float, float] | None:  # fmt: skip
    if settings.cut is RfmCut.fixed:
        assert settings.fixed_recency_days is not None and settings.fixed_frequency is not None
        assert settings.fixed_monetary_fen is not None
        return (
            float(settings.fixed_recency_days),
            float(settings.fixed_frequency),
            float(settings.fixed_monetary_fen),
        )
    if rec.size == 0:
        return None
    stat = np.mean if settings.cut is RfmCut.mean else np.median
    return float(stat(rec)), float(stat(freq)), float(stat(money))


def _eight_class(rec: np.ndarray, freq: np.ndarray, money: np.ndarray, settings: RfmSettings) -> RfmScores:
    cut = _cut_values(rec, freq, money, settings)
    cuts: dict[str, Any] = {
        "scheme": RfmScheme.eight_class.value,
        "cut": settings.cut.value,
        "n": int(rec.size),
        "rule": "R high: recency_days <= cut; F high: frequency >= cut; M high: monetary_fen >= cut",
        "recency_days": None if cut is None else cut[0],
        "frequency": None if cut is None else cut[1],
        "monetary_fen": None if cut is None else cut[2],
    }
    if cut is None:
        empty = np.zeros(0, dtype=np.int8)
        return RfmScores(empty, empty, empty, np.zeros(0, dtype="<U17"), cuts)
    # Integers up to 2**53 compare exactly with a float cut, so "equal to the mean" is decided exactly.
    r = (rec <= cut[0]).astype(np.int8)
    f = (freq >= cut[1]).astype(np.int8)
    m = (money >= cut[2]).astype(np.int8)
    codes = np.array([EIGHT_CLASS[(bool(i & 4), bool(i & 2), bool(i & 1))] for i in range(8)])
    segment = codes[(r.astype(np.intp) << 2) | (f.astype(np.intp) << 1) | m.astype(np.intp)]
    return RfmScores(r, f, m, segment, cuts)


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """1..5 by average rank (larger value = higher score); equal values always get equal scores."""
    return _ranked(values)[0]


def _ranked(values: np.ndarray) -> tuple[np.ndarray, list[list[int] | None]]:
    """Per-entry scores and, for each score 1..5, the [min, max] of the values that got it (None if none)."""
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.int8), [None] * 5
    low, high = int(values.min()), int(values.max())
    if high - low <= 4 * n:
        # Small integer ranges (recency, frequency) count with bincount instead of sorting: ~20× faster.
        shifted = values - low
        counts_all = np.bincount(shifted, minlength=high - low + 1)
        present = np.flatnonzero(counts_all)
        uniq, counts = present + low, counts_all[present]
        index_of = np.zeros(high - low + 1, dtype=np.intp)
        index_of[present] = np.arange(present.size)
        inverse = index_of[shifted]
    else:
        uniq, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts  # customers with a strictly smaller value
    # average 1-based rank = below + (t + 1) / 2; score = ceil(5 × rank / n), in integers: ceil(5(2b+t+1) / 2n)
    per_value = np.clip((5 * (2 * below + counts + 1) + 2 * n - 1) // (2 * n), 1, 5).astype(np.int8)
    ranges: list[list[int] | None] = []
    for s in range(1, 6):
        hit = uniq[per_value == s]  # uniq is sorted, so the ends are the range
        ranges.append([int(hit[0]), int(hit[-1])] if hit.size else None)
    return per_value[inverse.reshape(-1)], ranges


def _quintile(rec: np.ndarray, freq: np.ndarray, money: np.ndarray) -> RfmScores:
    r, r_ranges = _ranked(-rec)
    f, f_ranges = _ranked(freq)
    m, m_ranges = _ranked(money)
    fm = (f.astype(np.intp) + m + 1) // 2
    grid = np.array(QUINTILE_GRID)
    segment = grid[r.astype(np.intp) - 1, fm - 1] if rec.size else np.zeros(0, dtype="<U15")
    cuts: dict[str, Any] = {
        "scheme": RfmScheme.quintile.value,
        "n": int(rec.size),
        "rule": "score = ceil(5 * average rank / n), ties share their average rank; R ranks -recency_days",
        # Value range of each score 1..5 (recency: score 5 holds the most recent).
        "recency_days": [None if x is None else [-x[1], -x[0]] for x in r_ranges],
        "frequency": f_ranges,
        "monetary_fen": m_ranges,
    }
    return RfmScores(r, f, m, segment, cuts)


def segment_codes(scheme: RfmScheme) -> tuple[str, ...]:
    """The segment codes of a scheme, in the order the console lists them."""
    return tuple(EIGHT_CLASS.values()) if scheme is RfmScheme.eight_class else QUINTILE_SEGMENTS
