"""Tag groups, tags and who applied which tag to whom (system, rules, guides)."""

from __future__ import annotations

import numpy as np

from siyu.demo import eventlog, names
from siyu.demo.channels import PERSONAL, WECOM, Memberships
from siyu.demo.customers import SOURCE_TAG, TELESALES, People
from siyu.demo.org import OrgData
from siyu.demo.purchases import Purchases
from siyu.demo.timeline import DAY, Calendar, lognormal_seconds
from siyu.demo.writer import Bools, Codes, Ints, Times, Values, Writer
from siyu.models import CustomerTag, Tag, TagGroup

CATEGORIES = tuple(dict.fromkeys(p[2] for p in names.PRODUCTS))
TAG_GROUPS: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    ("客户来源", True, SOURCE_TAG),
    ("宝宝阶段", True, ("备孕", "孕期", "0-6月", "6-12月", "1-3岁", "3岁以上")),
    ("关注品类", False, CATEGORIES),
    ("价格敏感度", True, ("价格敏感", "品质优先")),
    ("沟通偏好", False, ("喜欢图文", "喜欢直播", "夜间活跃", "勿扰")),
    ("活动参与", False, ("618参与", "双11参与", "育儿讲座")),
    ("风险提示", False, ("退款较多", "投诉过")),
)
APPLIED_BY = ("staff", "account", "import", "rule", "system")
STAFF_, ACCOUNT_, IMPORT_, RULE_, SYSTEM_ = range(5)


def _tag_index() -> dict[tuple[int, str], int]:
    out: dict[tuple[int, str], int] = {}
    for g, (_name, _exclusive, tags) in enumerate(TAG_GROUPS):
        for t in tags:
            out[(g, t)] = len(out)
    return out


def write_tags(
    rng: np.random.Generator,
    cal: Calendar,
    org: OrgData,
    people: People,
    buys: Purchases,
    ms: Memberships,
    coupon: np.ndarray,
    campaign: np.ndarray,
    refund_fen: np.ndarray,
    refunded_at: np.ndarray,
    line_cust: np.ndarray,
    line_sku: np.ndarray,
    line_at: np.ndarray,
    event_visits: tuple[np.ndarray, np.ndarray],
    writer: Writer,
) -> None:
    """Write the tag catalogue and the customer tags (with a 'tagged' event each)."""
    writer.reporter.step("tags")
    index = _tag_index()
    first_group = writer.reserve(TagGroup.__table__, len(TAG_GROUPS))  # type: ignore[arg-type]
    group_ids = np.arange(first_group, first_group + len(TAG_GROUPS), dtype=np.int64)
    writer.write(
        TagGroup.__table__,  # type: ignore[arg-type]
        len(TAG_GROUPS),
        {
            "id": Ints(group_ids),
            "name": Values([g[0] for g in TAG_GROUPS]),
            "exclusive": Bools(np.array([g[1] for g in TAG_GROUPS])),
            "sort_order": Ints(np.arange(len(TAG_GROUPS)) * 10),
            "created_at": Times(np.full(len(TAG_GROUPS), cal.start)),
        },
    )
    first_tag = writer.reserve(Tag.__table__, len(index))  # type: ignore[arg-type]
    tag_ids = np.arange(first_tag, first_tag + len(index), dtype=np.int64)
    writer.write(
        Tag.__table__,  # type: ignore[arg-type]
        len(index),
        {
            "id": Ints(tag_ids),
            "group_id": Ints(np.array([group_ids[g] for g, _t in index])),
            "name": Values([t for _g, t in index]),
            "created_at": Times(np.full(len(index), cal.start)),
        },
    )

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    employed_until = org.left_or_never()

    def add(
        cust: np.ndarray, tag: np.ndarray, by: int | np.ndarray, staff: np.ndarray | None, at: np.ndarray
    ) -> None:
        keep = at < cal.end
        if staff is not None:  # a guide who has left tags nobody any more
            keep &= at < employed_until[staff]
        k = int(keep.sum())
        who = np.full(k, -1) if staff is None else staff[keep]
        parts.append(
            (
                cust[keep],
                np.broadcast_to(tag, at.shape)[keep],
                np.broadcast_to(by, at.shape)[keep],
                who,
                at[keep],
            )
        )

    n = people.n
    everyone = np.arange(n)
    src_tags = np.array([index[(0, t)] for t in SOURCE_TAG])
    add(
        everyone,
        src_tags[people.source],
        np.where(people.source == TELESALES, IMPORT_, SYSTEM_),
        None,
        people.first_seen,
    )

    # Guides tag their 1:1 contacts (baby stage, preferences, complaints) some days after adding them.
    one = np.flatnonzero((ms.channel == WECOM) | (ms.channel == PERSONAL))
    one = one[~ms.handover[one]]
    c1, s1, j1 = ms.cust[one], ms.staff[one], ms.joined[one]
    stage_tags = np.array([index[(1, t)] for t in TAG_GROUPS[1][2]])
    pick = rng.random(len(one)) < 0.6
    stage = rng.choice(len(stage_tags), size=len(one), p=[0.04, 0.12, 0.22, 0.22, 0.3, 0.1])
    at = j1 + lognormal_seconds(rng, len(one), 2 * DAY, 1.0)
    add(c1[pick], stage_tags[stage[pick]], STAFF_, s1[pick], at[pick])
    pref_tags = np.array([index[(4, t)] for t in TAG_GROUPS[4][2]])
    pick = rng.random(len(one)) < 0.15
    pref = rng.integers(0, len(pref_tags), len(one))
    add(
        c1[pick],
        pref_tags[pref[pick]],
        STAFF_,
        s1[pick],
        j1[pick] + lognormal_seconds(rng, int(pick.sum()), 30 * DAY, 0.8),
    )
    pick = rng.random(len(one)) < 0.004
    add(
        c1[pick],
        np.array(index[(6, "投诉过")]),
        STAFF_,
        s1[pick],
        j1[pick] + lognormal_seconds(rng, int(pick.sum()), 60 * DAY, 1.0),
    )

    # Rule: a category becomes an interest at the third purchase of it.
    cat_of_sku = np.array([CATEGORIES.index(p[2]) for p in names.PRODUCTS])
    key = line_cust * 32 + cat_of_sku[line_sku]
    order = np.lexsort((line_at, key))
    key_s, at_s = key[order], line_at[order]
    start = np.flatnonzero(np.concatenate([[True], key_s[1:] != key_s[:-1]]))
    size = np.diff(np.concatenate([start, [len(key_s)]]))
    third = start[size >= 3] + 2
    cat_tags = np.array([index[(2, t)] for t in CATEGORIES])
    add(key_s[third] // 32, cat_tags[key_s[third] % 32], RULE_, None, at_s[third])

    # Rule: price sensitivity from coupon use and order value, for customers with three orders or more.
    count = buys.order_count
    used = np.bincount(buys.cust, weights=(coupon >= 0), minlength=n)
    spend = np.bincount(buys.cust, weights=buys.amount_fen, minlength=n)
    regular = count >= 3
    sensitive = regular & (used >= 0.4 * count)
    premium = regular & ~sensitive & (spend >= 40_000 * np.maximum(count, 1))
    rows = np.flatnonzero(sensitive | premium)
    tag = np.where(sensitive[rows], index[(3, "价格敏感")], index[(3, "品质优先")])
    add(rows, tag, RULE_, None, buys.last_order[rows])

    # System: campaign participation at the first order in that campaign; lecture attendance from visits.
    keys = [ref.split("-", 1)[1] for ref in cal.campaign_refs]
    for label, wanted in (("618参与", "618"), ("双11参与", "double11")):
        hit = np.flatnonzero(np.isin(campaign, [i for i, k in enumerate(keys) if k == wanted]))
        cust, first = np.unique(buys.cust[hit], return_index=True)
        add(cust, np.array(index[(5, label)]), SYSTEM_, None, buys.paid_at[hit][first])
    v_cust, v_at = event_visits
    order = np.argsort(v_at, kind="stable")
    cust, first = np.unique(v_cust[order], return_index=True)
    add(cust, np.array(index[(5, "育儿讲座")]), SYSTEM_, None, v_at[order][first])

    # Rule: two refunds or more.
    rf = np.flatnonzero(refund_fen > 0)
    rf = rf[np.lexsort((refunded_at[rf], buys.cust[rf]))]
    rc = buys.cust[rf]
    second = np.flatnonzero(np.concatenate([[False], rc[1:] == rc[:-1]]))
    cust, first = np.unique(rc[second], return_index=True)
    add(cust, np.array(index[(6, "退款较多")]), RULE_, None, refunded_at[rf][second][first])

    cust = np.concatenate([p[0] for p in parts]).astype(np.int64)
    tag = np.concatenate([p[1] for p in parts]).astype(np.int64)
    by = np.concatenate([p[2] for p in parts]).astype(np.int64)
    staff = np.concatenate([p[3] for p in parts]).astype(np.int64)
    at = np.concatenate([p[4] for p in parts]).astype(np.int64)
    # One row per (customer, tag): a guide tagging the same thing twice keeps the first.
    order = np.lexsort((at, tag, cust))
    cust, tag, by, staff, at = cust[order], tag[order], by[order], staff[order], at[order]
    unique = np.concatenate([[True], (cust[1:] != cust[:-1]) | (tag[1:] != tag[:-1])])
    cust, tag, by, staff, at = cust[unique], tag[unique], by[unique], staff[unique], at[unique]
    cust_ids = people.ids[cust]
    staff_ids = np.where(staff >= 0, org.staff_ids[np.maximum(staff, 0)], -1)
    writer.write(
        CustomerTag.__table__,  # type: ignore[arg-type]
        len(cust),
        {
            "customer_id": Ints(cust_ids),
            "tag_id": Ints(tag_ids[tag]),
            "applied_by": Codes(by, APPLIED_BY),
            "applied_by_id": Ints(staff_ids, nullable=True),
            "applied_at": Times(at),
        },
    )
    by_time = np.argsort(at, kind="stable")
    eventlog.emit(
        writer,
        eventlog.TAGGED,
        at[by_time],
        customer=cust_ids[by_time],
        staff=staff_ids[by_time],
        subject_type="tag",
        subject_id=tag_ids[tag][by_time],
        data=eventlog.json_text('{{"applied_by": "{0}"}}', np.asarray(APPLIED_BY, dtype=object)[by[by_time]]),
    )
