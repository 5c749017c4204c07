"""Channel memberships: WeCom and personal-WeChat contacts, groups, mini-program, members, official account."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.demo import eventlog, names
from siyu.demo.customers import AD, INTERCEPT, ORDER, ORGANIC, REFERRAL, STORE, TELESALES, People
from siyu.demo.org import NEVER, OrgData
from siyu.demo.purchases import MINIPROGRAM, STORE_CH, Purchases
from siyu.demo.timeline import DAY, HOUR, NO_TIME, Calendar, lognormal_seconds
from siyu.demo.writer import Codes, Ints, Times, Values, Writer
from siyu.models import ChannelMembership, ChatGroup

CHANNELS = ("wecom", "wechat_personal", "group", "miniprogram", "member", "official_account")
WECOM, PERSONAL, GROUP, MINIPROG, MEMBER, OFFICIAL = range(6)
REASONS = (
    "customer_deleted_staff",
    "staff_deleted_customer",
    "left_group",
    "removed_from_group",
    "unsubscribed",
    "membership_cancelled",
    "handover",
    "other",
)
CUST_DELETED, STAFF_DELETED, LEFT_GROUP, REMOVED, UNSUBSCRIBED, CANCELLED, HANDOVER, OTHER = range(8)
WECOM_PROB = {
    TELESALES: 0.5,
    ORDER: 0.45,
    AD: 0.72,
    STORE: 0.85,
    REFERRAL: 0.85,
    ORGANIC: 0.4,
    INTERCEPT: 0.8,
}
# (median delay in seconds from first contact to being added on WeCom, sigma)
WECOM_DELAY = {
    TELESALES: (3 * DAY, 1.0),
    ORDER: (4 * DAY, 0.9),
    AD: (1_200, 1.2),
    STORE: (600, 0.6),
    REFERRAL: (3 * HOUR, 1.2),
    ORGANIC: (10 * DAY, 1.3),
    INTERCEPT: (600, 0.6),
}


@dataclass
class Groups:
    """Customer group chats (one or more per store)."""

    store: np.ndarray
    owner: np.ndarray
    created: np.ndarray
    dismissed: np.ndarray
    seq: np.ndarray

    @property
    def n(self) -> int:
        """Number of groups."""
        return len(self.store)


@dataclass
class Memberships:
    """Membership spans; per-customer owner and WeCom flag derived from them."""

    cust: np.ndarray
    channel: np.ndarray
    staff: np.ndarray
    group: np.ndarray
    joined: np.ndarray
    left: np.ndarray
    reason: np.ndarray
    code: np.ndarray
    code_vocab: list[str]
    handover: np.ndarray
    owner: np.ndarray
    has_wecom: np.ndarray
    member_joined: np.ndarray
    groups: Groups

    @property
    def n(self) -> int:
        """Number of membership spans."""
        return len(self.cust)

    def staff_at(self, cust: np.ndarray, times: np.ndarray) -> np.ndarray:
        """The staff member a customer was a 1:1 contact of at each time (-1 if none)."""
        one = np.flatnonzero((self.channel == WECOM) | (self.channel == PERSONAL))
        out = np.full(len(cust), -1, dtype=np.int64)
        left = np.where(self.left[one] == NO_TIME, NEVER, self.left[one])
        # At most two 1:1 spans per customer (the original and the handover), so two passes suffice.
        order = np.lexsort((self.joined[one], self.cust[one]))
        c, j, lft, s = self.cust[one][order], self.joined[one][order], left[order], self.staff[one][order]
        first = np.ones(len(c), dtype=bool)
        first[1:] = c[1:] != c[:-1]
        for sel in (first, ~first):
            pos = np.full(max(int(cust.max(initial=0)), int(c.max(initial=0))) + 1, -1, dtype=np.int64)
            pos[c[sel]] = np.flatnonzero(sel)
            k = pos[cust]
            hit = (k >= 0) & (j[k] <= times) & (times < lft[k])
            out = np.where(hit & (out < 0), s[k], out)
        return out


def _join_after(
    rng: np.random.Generator, base: np.ndarray, median: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    return base + np.maximum(60, rng.lognormal(np.log(median), sigma)).astype(np.int64)


def _leave_times(
    rng: np.random.Generator, cal: Calendar, joined: np.ndarray, prob: np.ndarray, scale_days: float
) -> np.ndarray:
    """For each span: a leave time after joined with probability prob, NO_TIME if none or past as_of."""
    leaves = rng.random(len(joined)) < prob
    at = joined + HOUR + rng.exponential(scale_days * DAY, len(joined)).astype(np.int64)
    return np.where(leaves & (at < cal.end), at, NO_TIME)


def build_memberships(
    rng: np.random.Generator, cal: Calendar, org: OrgData, people: People, buys: Purchases
) -> Memberships:
    """Draw every customer's channel memberships, churn and the handover of leavers' contacts."""
    n = people.n
    src = people.source
    spans: list[tuple[np.ndarray, ...]] = []
    codes: dict[str, int] = {}

    def code_ids(values: list[str]) -> np.ndarray:
        return np.array([codes.setdefault(v, len(codes)) for v in values], dtype=np.int64)

    # WeCom contacts of a guide of the home store, added through a channel code (活码).
    p_wecom = np.vectorize(WECOM_PROB.__getitem__)(src)
    median = np.array([WECOM_DELAY[s][0] for s in range(7)], dtype=np.float64)[src]
    sigma = np.array([WECOM_DELAY[s][1] for s in range(7)])[src]
    base = np.where(
        src == ORDER,
        np.where(buys.first_order == NO_TIME, people.first_seen, buys.first_order),
        people.first_seen,
    )
    wjoin = _join_after(rng, base, median, sigma)
    wecom = (rng.random(n) < p_wecom) & (wjoin < cal.end - HOUR)
    w = np.flatnonzero(wecom)
    wstaff = org.pick_guides(rng, people.store[w], wjoin[w])
    # Referred friends are usually added by the referrer's own guide, when that guide is still there.
    ref = people.referrer[w]
    ref_owner = np.full(n, -1, dtype=np.int64)
    ref_owner[w] = wstaff
    cand = np.where(ref >= 0, ref_owner[np.maximum(ref, 0)], -1)
    active = (cand >= 0) & (org.hired[cand] <= wjoin[w]) & (wjoin[w] < org.left_or_never()[cand])
    wstaff = np.where(active & (rng.random(len(w)) < 0.75), cand, wstaff)
    w, wstaff = w[wstaff >= 0], wstaff[wstaff >= 0]
    wecom = np.zeros(n, dtype=bool)
    wecom[w] = True
    store_code = [org.store_codes[s] for s in people.store[w].tolist()]
    code_text = []
    for i, c in enumerate(w.tolist()):
        s = src[c]
        if s == AD:
            code_text.append(f"cc-{people.ad_campaign[c]}")
        elif s == TELESALES:
            code_text.append("cc-telesales-callback")
        elif s == ORDER:
            code_text.append("cc-package-card")
        elif s == REFERRAL:
            code_text.append(f"cc-referral-{store_code[i]}")
        elif s == ORGANIC:
            code_text.append("cc-miniprogram-service")
        else:
            code_text.append(f"cc-{store_code[i]}-counter")
    wcode = code_ids(code_text)

    # Personal-WeChat contacts: guides who still use their own phone (no API; work becomes tasks).
    cand = np.flatnonzero(~wecom & (rng.random(n) < 0.22))
    pjoin = people.first_seen[cand] + lognormal_seconds(rng, len(cand), 2 * DAY, 1.5)
    ok = pjoin < cal.end - HOUR
    cand, pjoin = cand[ok], pjoin[ok]
    pstaff = org.pick_guides(rng, people.store[cand], pjoin)
    cand, pjoin, pstaff = cand[pstaff >= 0], pjoin[pstaff >= 0], pstaff[pstaff >= 0]

    one_cust = np.concatenate([w, cand])
    one_join = np.concatenate([wjoin[w], pjoin])
    one_staff = np.concatenate([wstaff, pstaff])
    one_channel = np.concatenate([np.full(len(w), WECOM), np.full(len(cand), PERSONAL)])
    one_code = np.concatenate([wcode, np.full(len(cand), -1)])
    # Churn: customers who stopped buying often delete the guide; a few guides delete spam contacts.
    dead = buys.died_at[one_cust] != NO_TIME
    never = buys.order_count[one_cust] == 0
    lapse_from = np.where(dead, np.maximum(buys.died_at[one_cust], one_join), one_join)
    p_cd = np.where(dead | never, 0.3, 0.06)
    cd = _leave_times(rng, cal, lapse_from, p_cd, 110)
    sd = _leave_times(rng, cal, one_join, np.full(len(one_join), 0.02), 120)
    one_left = np.where((sd != NO_TIME) & ((cd == NO_TIME) | (sd < cd)), sd, cd)
    one_reason = np.where(one_left == NO_TIME, -1, np.where(one_left == sd, STAFF_DELETED, CUST_DELETED))

    # Handover (离职继承): a leaver's live contacts move to a stable guide of the store on the leave date.
    left_or_never = org.left_or_never()
    leave_at = left_or_never[one_staff]
    moving = (
        (org.replacement[one_staff] >= 0)
        & (one_join < leave_at)
        & ((one_left == NO_TIME) | (one_left > leave_at))
    )
    mv = np.flatnonzero(moving)
    new_join = leave_at[mv] + rng.integers(HOUR, 3 * DAY, len(mv))
    fits = new_join < cal.end
    mv, new_join = mv[fits], new_join[fits]
    carried_left = np.where(one_left[mv] > new_join, one_left[mv], NO_TIME)
    carried_reason = np.where(carried_left == NO_TIME, -1, one_reason[mv])
    one_left[mv] = leave_at[mv]
    one_reason[mv] = HANDOVER
    hand_n = len(mv)
    spans.append(
        (
            one_cust,
            one_channel,
            one_staff,
            np.full(len(one_cust), -1),
            one_join,
            one_left,
            one_reason,
            one_code,
        )
    )
    spans.append(
        (
            one_cust[mv],
            one_channel[mv],
            org.replacement[one_staff[mv]],
            np.full(hand_n, -1),
            new_join,
            carried_left,
            carried_reason,
            np.full(hand_n, -1),
        )
    )

    groups, gspan = _group_spans(rng, cal, org, people, buys, wecom, wjoin)
    spans.append(gspan)
    spans += _platform_spans(rng, cal, people, buys)

    cols = [np.concatenate([s[k] for s in spans]).astype(np.int64) for k in range(8)]
    handover = np.zeros(len(cols[0]), dtype=bool)
    handover[len(one_cust) : len(one_cust) + hand_n] = True
    owner = np.full(n, -1, dtype=np.int64)
    is_one = (cols[1] == WECOM) | (cols[1] == PERSONAL)
    order = np.argsort(cols[4], kind="stable")
    for i in order[is_one[order]].tolist():  # later joins overwrite: the current guide wins
        owner[cols[0][i]] = cols[2][i]
    member_joined = np.full(n, NO_TIME, dtype=np.int64)
    mem = cols[1] == MEMBER
    member_joined[cols[0][mem]] = cols[4][mem]
    return Memberships(
        cust=cols[0],
        channel=cols[1],
        staff=cols[2],
        group=cols[3],
        joined=cols[4],
        left=cols[5],
        reason=cols[6],
        code=cols[7],
        code_vocab=list(codes),
        handover=handover,
        owner=owner,
        has_wecom=wecom,
        member_joined=member_joined,
        groups=groups,
    )


def _group_spans(
    rng: np.random.Generator,
    cal: Calendar,
    org: OrgData,
    people: People,
    buys: Purchases,
    wecom: np.ndarray,
    wjoin: np.ndarray,
) -> tuple[Groups, tuple[np.ndarray, ...]]:
    """Store groups filled in join order (a new group opens when one is full), with leaves and a few dismissals."""
    n = people.n
    p = np.where(wecom, 0.45, 0.08)
    base = np.where(wecom, wjoin, people.first_seen)
    join = base + lognormal_seconds(rng, n, 6 * DAY, 1.2)
    member = (rng.random(n) < p) & (join < cal.end - HOUR)
    m = np.flatnonzero(member)
    m = m[np.lexsort((join[m], people.store[m]))]
    g_of = np.empty(len(m), dtype=np.int64)
    g_store: list[int] = []
    g_first: list[int] = []
    g_last: list[int] = []
    store_of = people.store[m]
    pos = 0
    for s in range(len(org.store_ids)):
        count = int((store_of == s).sum())
        k = 0
        while k < count:
            cap = int(rng.integers(150, 290))
            take = min(cap, count - k)
            g_of[pos + k : pos + k + take] = len(g_store)
            g_store.append(s)
            g_first.append(int(join[m[pos + k]]))
            g_last.append(int(join[m[pos + k + take - 1]]))
            k += take
        pos += count
    n_groups = len(g_store)
    store = np.array(g_store, dtype=np.int64)
    created = np.array(g_first, dtype=np.int64) - rng.integers(HOUR, 3 * DAY, n_groups)
    created = np.maximum(created, org.store_open[store])
    full = np.zeros(n_groups, dtype=bool)
    full[:-1] = store[1:] == store[:-1]
    # Groups harvested too early die: a few full groups were dismissed some months after filling up.
    dismissed = np.where(
        full & (rng.random(n_groups) < 0.06),
        np.array(g_last, dtype=np.int64) + rng.integers(30, 200, n_groups) * DAY,
        NO_TIME,
    )
    dismissed = np.where(dismissed < cal.end, dismissed, NO_TIME)
    owners = np.empty(n_groups, dtype=np.int64)
    for g in range(n_groups):
        anchors = org.store_guides[store[g]][:2]
        owners[g] = anchors[g % len(anchors)]
    seq = np.zeros(n_groups, dtype=np.int64)
    for g in range(1, n_groups):
        seq[g] = seq[g - 1] + 1 if store[g] == store[g - 1] else 0
    gjoin = join[m]
    dead = buys.died_at[m] != NO_TIME
    lapse = np.where(dead, np.maximum(buys.died_at[m], gjoin), gjoin)
    left = _leave_times(rng, cal, gjoin, np.full(len(m), 0.18), 150)
    lapse_left = _leave_times(rng, cal, lapse, np.where(dead, 0.3, 0.0), 60)
    left = np.where((lapse_left != NO_TIME) & ((left == NO_TIME) | (lapse_left < left)), lapse_left, left)
    reason = np.where(left == NO_TIME, -1, LEFT_GROUP)
    removed = (rng.random(len(m)) < 0.03) & (left == NO_TIME)
    kicked = gjoin + rng.integers(DAY, 200 * DAY, len(m))
    removed &= kicked < cal.end
    left = np.where(removed, kicked, left)
    reason = np.where(removed, REMOVED, reason)
    d = dismissed[g_of]
    ends = (d != NO_TIME) & ((left == NO_TIME) | (left > d))
    left = np.where(ends, d, left)
    reason = np.where(ends, OTHER, reason)
    groups = Groups(store=store, owner=owners, created=created, dismissed=dismissed, seq=seq)
    k = len(m)
    span = (m, np.full(k, GROUP), np.full(k, -1), g_of, gjoin, left, reason, np.full(k, -1))
    return groups, span


def _platform_spans(
    rng: np.random.Generator, cal: Calendar, people: People, buys: Purchases
) -> list[tuple[np.ndarray, ...]]:
    """Mini-program users, members and official-account followers."""
    n = people.n
    src = people.source
    spans: list[tuple[np.ndarray, ...]] = []
    first_mp = buys.first_channel_order[:, MINIPROGRAM]
    first_store = buys.first_channel_order[:, STORE_CH]
    browse = people.first_seen + lognormal_seconds(rng, n, 12 * DAY, 1.4)
    browse = np.where(
        (src == ORGANIC) | ((src == AD) & (rng.random(n) < 0.6)), people.first_seen + 30, browse
    )
    browses = (rng.random(n) < 0.3) | (src == ORGANIC) | (src == AD)
    browse = np.where(browses & (browse < cal.end - HOUR), browse, NO_TIME)
    before_mp = np.where(
        first_mp == NO_TIME, NO_TIME, np.maximum(first_mp - rng.integers(60, HOUR, n), people.first_seen)
    )
    mp_join = np.where(
        before_mp == NO_TIME, browse, np.where(browse == NO_TIME, before_mp, np.minimum(browse, before_mp))
    )
    mp = np.flatnonzero(mp_join != NO_TIME)
    spans.append(
        (mp, np.full(len(mp), MINIPROG), np.full(len(mp), -1), np.full(len(mp), -1), mp_join[mp],
         np.full(len(mp), NO_TIME), np.full(len(mp), -1), np.full(len(mp), -1))
    )  # fmt: skip

    # Membership: registered at the till or in the mini-program at the first purchase there.
    first_buy_ch = np.minimum(
        np.where(first_store == NO_TIME, NEVER, first_store), np.where(first_mp == NO_TIME, NEVER, first_mp)
    )
    joins_buying = (first_buy_ch != NEVER) & (rng.random(n) < 0.75)
    joins_free = ~joins_buying & (rng.random(n) < 0.1)
    free_at = people.first_seen + lognormal_seconds(rng, n, 20 * DAY, 1.2)
    at_till = np.maximum(first_buy_ch - rng.integers(60, 1800, n), people.first_seen)
    mem_join = np.where(joins_buying, at_till, np.where(joins_free, free_at, NO_TIME))
    mem_join = np.where(mem_join < cal.end - HOUR, mem_join, NO_TIME)
    mem = np.flatnonzero(mem_join != NO_TIME)
    left = _leave_times(rng, cal, mem_join[mem], np.full(len(mem), 0.01), 200)
    spans.append(
        (mem, np.full(len(mem), MEMBER), np.full(len(mem), -1), np.full(len(mem), -1), mem_join[mem], left,
         np.where(left == NO_TIME, -1, CANCELLED), np.full(len(mem), -1))
    )  # fmt: skip

    oa_join = people.first_seen + lognormal_seconds(rng, n, 15 * DAY, 1.3)
    oa = np.flatnonzero((rng.random(n) < 0.38) & (oa_join < cal.end - HOUR))
    left = _leave_times(rng, cal, oa_join[oa], np.full(len(oa), 0.18), 180)
    spans.append(
        (oa, np.full(len(oa), OFFICIAL), np.full(len(oa), -1), np.full(len(oa), -1), oa_join[oa], left,
         np.where(left == NO_TIME, -1, UNSUBSCRIBED), np.full(len(oa), -1))
    )  # fmt: skip
    return spans


def write_groups(
    rng: np.random.Generator, org: OrgData, groups: Groups, writer: Writer
) -> tuple[np.ndarray, list[str]]:
    """Write chat groups; returns their ids and WeCom room ids."""
    n = groups.n
    first = writer.reserve(ChatGroup.__table__, n)  # type: ignore[arg-type]
    ids = np.arange(first, first + n, dtype=np.int64)
    external = names.random_tokens(rng, n, 30, "wr")
    titles = [
        f"{names.BRAND}·{org.store_names[s].removesuffix('店')}宝妈福利{q + 1}群"
        for s, q in zip(groups.store.tolist(), groups.seq.tolist(), strict=True)
    ]
    writer.write(
        ChatGroup.__table__,  # type: ignore[arg-type]
        n,
        {
            "id": Ints(ids),
            "external_id": Values(external),
            "name": Values(titles),
            "owner_staff_id": Ints(org.staff_ids[groups.owner]),
            "unit_id": Ints(org.store_ids[groups.store]),
            "dismissed_at": Times(groups.dismissed),
            "created_at": Times(groups.created),
        },
    )
    return ids, external


def write_memberships(
    org: OrgData, people: People, ms: Memberships, group_ids: np.ndarray, writer: Writer
) -> None:
    """Write membership spans with a joined_channel event each and a left_channel event per ended span."""
    writer.reporter.step("channel memberships")
    order = np.argsort(ms.joined, kind="stable")
    n = ms.n
    first = writer.reserve(ChannelMembership.__table__, n)  # type: ignore[arg-type]
    ids = np.empty(n, dtype=np.int64)
    ids[order] = np.arange(first, first + n, dtype=np.int64)
    cust_ids = people.ids[ms.cust]
    staff_ids = np.where(ms.staff >= 0, org.staff_ids[np.maximum(ms.staff, 0)], -1)
    gids = np.where(ms.group >= 0, group_ids[np.maximum(ms.group, 0)], -1)
    # The unit a contact belongs to: the guide's store, or the group's store.
    store = np.where(ms.staff >= 0, org.staff_store[np.maximum(ms.staff, 0)], -1)
    store = np.where(ms.group >= 0, ms.groups.store[np.maximum(ms.group, 0)], store)
    unit_ids = np.where(store >= 0, org.store_ids[np.maximum(store, 0)], -1)
    cols = {
        "id": ids,
        "customer_id": cust_ids,
        "channel": ms.channel,
        "staff_id": staff_ids,
        "group_id": gids,
        "joined_at": ms.joined,
        "left_at": ms.left,
        "leave_reason": ms.reason,
        "channel_code": ms.code,
    }
    c = {k: v[order] for k, v in cols.items()}
    writer.write(
        ChannelMembership.__table__,  # type: ignore[arg-type]
        n,
        {
            "id": Ints(c["id"]),
            "customer_id": Ints(c["customer_id"]),
            "channel": Codes(c["channel"], CHANNELS),
            "staff_id": Ints(c["staff_id"], nullable=True),
            "group_id": Ints(c["group_id"], nullable=True),
            "joined_at": Times(c["joined_at"]),
            "left_at": Times(c["left_at"]),
            "leave_reason": Codes(c["leave_reason"], REASONS),
            "channel_code": Codes(c["channel_code"], ms.code_vocab),
        },
    )
    unit_o = unit_ids[order]
    channel_names = np.asarray(CHANNELS, dtype=object)
    code_names = np.asarray([*ms.code_vocab, None], dtype=object)
    code_text = [
        None if v is None else f'"{v}"'
        for v in code_names[np.where(c["channel_code"] < 0, len(ms.code_vocab), c["channel_code"])]
    ]
    handover = np.where(ms.handover[order], "true", "false")
    eventlog.emit(
        writer,
        eventlog.JOINED_CHANNEL,
        c["joined_at"],
        customer=c["customer_id"],
        staff=c["staff_id"],
        unit=unit_o,
        subject_type="channel_membership",
        subject_id=c["id"],
        data=eventlog.json_text(
            '{{"channel": "{0}", "channel_code": {1}, "handover": {2}}}',
            channel_names[c["channel"]],
            ["null" if t is None else t for t in code_text],
            handover,
        ),
    )
    gone = np.flatnonzero(c["left_at"] != NO_TIME)
    by_time = gone[np.argsort(c["left_at"][gone], kind="stable")]
    eventlog.emit(
        writer,
        eventlog.LEFT_CHANNEL,
        c["left_at"][by_time],
        customer=c["customer_id"][by_time],
        staff=c["staff_id"][by_time],
        unit=unit_o[by_time],
        subject_type="channel_membership",
        subject_id=c["id"][by_time],
        data=eventlog.json_text(
            '{{"channel": "{0}", "reason": "{1}"}}',
            channel_names[c["channel"][by_time]],
            np.asarray(REASONS, dtype=object)[c["leave_reason"][by_time]],
        ),
    )
