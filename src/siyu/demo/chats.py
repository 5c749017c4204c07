"""Archived chats (会话存档): 1:1 threads with reply delays, group chatter, and labelled policy violations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.demo import names, phrases
from siyu.demo.channels import GROUP, WECOM, Memberships
from siyu.demo.customers import People
from siyu.demo.org import OrgData
from siyu.demo.timeline import (
    CAMPAIGNS,
    DAY,
    HOUR,
    NO_TIME,
    TZ_OFFSET,
    Calendar,
    lognormal_seconds,
    sample_tod,
)
from siyu.demo.writer import Codes, Ints, Lazy, Times, Writer
from siyu.models import ChatMessage, Staff

DIRECTIONS = ("staff_to_customer", "customer_to_staff", "staff_to_group", "customer_to_group")
S2C, C2S, S2G, C2G = range(4)
MSG_TYPES = ("text", "image", "emotion")
FAMILIES: tuple[tuple[str, ...], ...] = (
    *phrases.QUESTIONS,
    *phrases.REPLIES,
    phrases.THANKS,
    phrases.CLOSINGS,
    phrases.WELCOME,
    phrases.HANDOVER,
    phrases.OUTREACH,
    phrases.RESPONSES,
    phrases.ANSWERS,
    phrases.GROUP_POSTS,
    phrases.GROUP_CHAT,
    phrases.GROUP_REPLIES,
    phrases.OUTREACH_TRAPS,
    phrases.GROUP_TRAPS,
)
TOPICS = len(phrases.QUESTIONS)
F_REPLY = TOPICS
(F_THANKS, F_CLOSING, F_WELCOME, F_HANDOVER, F_OUTREACH, F_RESPONSE, F_ANSWER, F_GPOST, F_GCHAT, F_GREPLY,
 F_TRAP, F_GTRAP) = range(2 * TOPICS, 2 * TOPICS + 12)  # fmt: skip
TRAP_SHARE = 0.07
TOPIC_WEIGHTS = np.array([0.18, 0.2, 0.15, 0.22, 0.08, 0.1, 0.07])
# Threads per year of WeCom contact for an average customer, and group activity per member-day.
THREADS_PER_YEAR = 7.2
GROUP_POSTS_PER_DAY = 0.7
GROUP_CHAT_PER_MEMBER_DAY = 0.011
MASK64 = (1 << 64) - 1


def splitmix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 arrays: a bijection that scrambles bits (wrapping arithmetic)."""
    z = x.astype(np.uint64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def violation_kinds(msgnum: np.ndarray, staff_code_num: np.ndarray, seed: int) -> np.ndarray:
    """Ground truth: violation kind (index into phrases.VIOLATION_KINDS) of staff text messages, -1 if clean."""
    # A keyed hash of the msgid number decides, so the labels can be recomputed from the archive and
    # the seed alone; about one guide in eight is 'risky' and violates twenty times as often.
    key = splitmix(np.array([(seed * 0x9E3779B97F4A7C15 + 0x5DEECE66D) & MASK64], dtype=np.uint64))[0]
    h = splitmix(msgnum.astype(np.uint64) ^ key)
    risky = splitmix(staff_code_num.astype(np.uint64) ^ key) % np.uint64(100) < np.uint64(12)
    per_10k = np.where(risky, 250, 12).astype(np.uint64)
    hit = h % np.uint64(10_000) < per_10k
    pick = ((h >> np.uint64(20)) % np.uint64(100)).astype(np.int64)
    kind = np.where(pick < 25, 0, np.where(pick < 65, 1, 2))
    return np.where(hit, kind, -1)


def violation_labels(session: Session, seed: int) -> dict[str, list[str]]:
    """Msgids of the demo's violating staff messages by kind (recomputed from the archive and the seed)."""
    rows = session.execute(
        select(ChatMessage.msgid, Staff.code)
        .join(Staff, Staff.id == ChatMessage.staff_id)
        .where(
            ChatMessage.direction.in_(["staff_to_customer", "staff_to_group"]), ChatMessage.msg_type == "text"
        )
        .order_by(ChatMessage.id)
    ).all()
    # The scripted compliance messages (siyu.demo.compliance, msgids demo-…) are not part of the hashed stream.
    rows = [r for r in rows if r[0][:1].isdigit()]
    out: dict[str, list[str]] = {k: [] for k in phrases.VIOLATION_KINDS}
    if not rows:
        return out
    msgnum = np.array([int(r[0].split("_", 1)[0]) for r in rows], dtype=np.uint64)
    staff_num = np.array([int(r[1][1:]) for r in rows], dtype=np.int64)
    kinds = violation_kinds(msgnum, staff_num, seed)
    for i in np.flatnonzero(kinds >= 0).tolist():
        out[phrases.VIOLATION_KINDS[kinds[i]]].append(rows[i][0])
    return out


@dataclass
class _Plan:
    """Messages being planned, column-wise."""

    parts: list[tuple[np.ndarray, ...]]

    def add(self, sent: np.ndarray, direction: int, staff: np.ndarray, cust: np.ndarray, group: np.ndarray,
            family: np.ndarray, limit: np.ndarray) -> None:  # fmt: skip
        """Queue messages sent before limit (a span's end); the rest never happened."""
        keep = sent < limit
        n = int(keep.sum())
        self.parts.append(
            (
                sent[keep],
                np.full(n, direction),
                staff[keep],
                cust[keep],
                group[keep],
                np.broadcast_to(family, sent.shape)[keep],
            )
        )

    def columns(self) -> list[np.ndarray]:
        """Concatenated columns."""
        return [np.concatenate([p[k] for p in self.parts]).astype(np.int64) for k in range(6)]


def _staff_reply(
    rng: np.random.Generator, cal: Calendar, org: OrgData, staff: np.ndarray, asked: np.ndarray
) -> np.ndarray:
    """When a guide answers a message sent at asked: minutes by day, next morning by night, sometimes hours late."""
    k = len(asked)
    delay = lognormal_seconds(rng, k, 180, 1.2) * org.responsiveness[staff]
    hour = cal.local_hour(asked)
    night = (hour >= 22) | (hour < 8)
    local = asked + TZ_OFFSET
    # Messages after 22:00 or before 8:00 wait for the next working morning (8:30-10:00).
    morning = (
        local - local % DAY + np.where(hour >= 22, DAY, 0) + 8 * HOUR + 1_800 + rng.integers(0, 5_400, k)
    )
    reply = np.where(night, morning - TZ_OFFSET, asked + delay.astype(np.int64))
    slow = rng.random(k) < 0.05
    return np.where(slow, reply + rng.integers(2 * HOUR, 26 * HOUR, k), reply)


def plan_messages(
    rng: np.random.Generator,
    cal: Calendar,
    org: OrgData,
    people: People,
    ms: Memberships,
    consent: np.ndarray,
    group_end: np.ndarray,
) -> list[np.ndarray]:
    """All chat messages as columns (sent, direction, staff, cust, group, family), before sorting."""
    plan = _Plan([])
    one = np.flatnonzero((ms.channel == WECOM) & consent[ms.cust])
    s_cust, s_staff, s_join = ms.cust[one], ms.staff[one], ms.joined[one]
    s_end = np.where(ms.left[one] == NO_TIME, cal.end, ms.left[one])
    none = np.full(len(one), -1)
    plan.add(s_join + rng.integers(2, 30, len(one)), S2C, s_staff, s_cust, none,
             np.where(ms.handover[one], F_HANDOVER, F_WELCOME), s_end)  # fmt: skip

    years = (s_end - s_join) / (365 * DAY)
    threads = rng.poisson(THREADS_PER_YEAR * people.chattiness[s_cust] * years)
    t_span = np.repeat(np.arange(len(one)), threads)
    k = len(t_span)
    day = cal.warp(s_join[t_span], s_end[t_span], rng.random(k))
    question = rng.random(k) < 0.45
    tod = np.where(question, sample_tod(rng, k, "chat"), sample_tod(rng, k, "work"))
    t0 = np.maximum(cal.at_local_time(day, tod), s_join[t_span] + 60)
    cust, staff, limit = s_cust[t_span], s_staff[t_span], np.minimum(s_end[t_span], cal.end)
    grp = np.full(k, -1)

    q = np.flatnonzero(question)
    topic = rng.choice(TOPICS, size=len(q), p=TOPIC_WEIGHTS)
    plan.add(t0[q], C2S, staff[q], cust[q], grp[q], topic, limit[q])
    unanswered = rng.random(len(q)) < 0.03 + 0.12 * (1 - org.diligence[staff[q]])
    reply = _staff_reply(rng, cal, org, staff[q], t0[q])
    a = q[~unanswered]
    reply = reply[~unanswered]
    plan.add(reply, S2C, staff[a], cust[a], grp[a], F_REPLY + topic[~unanswered], limit[a])
    thanks = rng.random(len(a)) < 0.45
    t_thanks = reply + lognormal_seconds(rng, len(a), 120, 1.0)
    b = a[thanks]
    plan.add(t_thanks[thanks], C2S, staff[b], cust[b], grp[b], np.array(F_THANKS), limit[b])
    close = rng.random(len(b)) < 0.35
    c = b[close]
    plan.add(t_thanks[thanks][close] + lognormal_seconds(rng, len(c), 60, 0.8), S2C, staff[c], cust[c], grp[c],
             np.array(F_CLOSING), limit[c])  # fmt: skip

    o = np.flatnonzero(~question)
    outreach = np.where(rng.random(len(o)) < TRAP_SHARE, F_TRAP, F_OUTREACH)
    plan.add(t0[o], S2C, staff[o], cust[o], grp[o], outreach, limit[o])
    responds = rng.random(len(o)) < 0.35
    r = o[responds]
    t_resp = t0[r] + lognormal_seconds(rng, len(r), 40 * 60, 1.2)
    plan.add(t_resp, C2S, staff[r], cust[r], grp[r], np.array(F_RESPONSE), limit[r])
    answers = rng.random(len(r)) < 0.7
    s = r[answers]
    plan.add(_staff_reply(rng, cal, org, staff[s], t_resp[answers]), S2C, staff[s], cust[s], grp[s],
             np.array(F_ANSWER), limit[s])  # fmt: skip

    _plan_groups(rng, cal, ms, group_end, plan, org)
    return plan.columns()


def _plan_groups(
    rng: np.random.Generator, cal: Calendar, ms: Memberships, group_end: np.ndarray, plan: _Plan, org: OrgData
) -> None:
    """Owner posts, member chatter (from members present at the time) and owner replies, per group."""
    groups = ms.groups
    life = (group_end - groups.created) / DAY
    posts = rng.poisson(GROUP_POSTS_PER_DAY * life)
    g = np.repeat(np.arange(groups.n), posts)
    day = groups.created[g] + (rng.random(len(g)) * (group_end[g] - groups.created[g])).astype(np.int64)
    sent = np.maximum(cal.at_local_time(day, sample_tod(rng, len(g), "work")), groups.created[g] + 60)
    post = np.where(rng.random(len(g)) < TRAP_SHARE, F_GTRAP, F_GPOST)
    plan.add(sent, S2G, groups.owner[g], np.full(len(g), -1), g, post, group_end[g])

    rows = np.flatnonzero(ms.channel == GROUP)
    rows = rows[np.lexsort((ms.joined[rows], ms.group[rows]))]
    m_group, m_join = ms.group[rows], ms.joined[rows]
    m_left = np.where(ms.left[rows] == NO_TIME, cal.end, ms.left[rows])
    offsets = np.searchsorted(m_group, np.arange(groups.n + 1))
    size = np.diff(offsets)
    chat = rng.poisson(GROUP_CHAT_PER_MEMBER_DAY * size * life)
    g = np.repeat(np.arange(groups.n), chat)
    day = groups.created[g] + (rng.random(len(g)) * (group_end[g] - groups.created[g])).astype(np.int64)
    sent = cal.at_local_time(day, sample_tod(rng, len(g), "chat"))
    sender = np.full(len(g), -1, dtype=np.int64)
    order = np.argsort(g, kind="stable")
    bounds = np.searchsorted(g[order], np.arange(groups.n + 1))
    for gi in range(groups.n):
        idx = order[bounds[gi] : bounds[gi + 1]]
        joins, lefts = m_join[offsets[gi] : offsets[gi + 1]], m_left[offsets[gi] : offsets[gi + 1]]
        if len(idx) == 0 or len(joins) == 0:
            continue
        for _attempt in range(6):  # a member present at that moment; give up after a few tries
            todo = idx[sender[idx] < 0]
            if len(todo) == 0:
                break
            count = np.searchsorted(joins, sent[todo], side="right")
            pick = (rng.random(len(todo)) * count).astype(np.int64)
            ok = (count > 0) & (lefts[np.minimum(pick, len(lefts) - 1)] > sent[todo])
            sender[todo[ok]] = offsets[gi] + pick[ok]
    got = sender >= 0
    g, sent, member = g[got], sent[got], rows[sender[got]]
    cust = ms.cust[member]
    plan.add(sent, C2G, np.full(len(g), -1), cust, g, np.array(F_GCHAT), group_end[g])
    answered = rng.random(len(g)) < 0.35
    owner = groups.owner[g[answered]]
    reply = _staff_reply(rng, cal, org, owner, sent[answered])
    plan.add(reply, S2G, owner, cust[answered], g[answered], np.array(F_GREPLY), group_end[g[answered]])


def address_of(people: People) -> list[str]:
    """How a guide addresses each customer: 王姐 for a known surname, 亲 otherwise."""
    surnames = {s[0] for s in names.SURNAMES}
    out = []
    for name in people.name:
        if 2 <= len(name) <= 3 and name[0] in surnames and "妈" not in name:
            out.append(name[0] + "姐")
        else:
            out.append("亲")
    return out


def write_messages(
    rng: np.random.Generator,
    cal: Calendar,
    org: OrgData,
    people: People,
    ms: Memberships,
    consent: np.ndarray,
    external_userid: list[str | None],
    group_ids: np.ndarray,
    group_external: list[str],
    seed: int,
    writer: Writer,
) -> dict[str, list[str]]:
    """Plan, sort and write every chat message; returns the violation msgids by kind."""
    writer.reporter.step("chat messages")
    groups = ms.groups
    group_end = np.where(groups.dismissed == NO_TIME, cal.end, groups.dismissed)
    sent, direction, staff, cust, group, family = plan_messages(rng, cal, org, people, ms, consent, group_end)
    order = np.argsort(sent, kind="stable")
    sent, direction, staff, cust, group, family = (
        c[order] for c in (sent, direction, staff, cust, group, family)
    )
    n = len(sent)
    # Snowflake-like msgids: increasing with time (cheap unique-index appends), the low digits scrambled.
    index = np.arange(n, dtype=np.uint64)
    noise = splitmix(index + np.uint64((seed * 7919 + 17) & MASK64))
    base = np.uint64(7_000_000_000_000_000_000 + (seed % 997) * 10**15)
    msgnum = base + index * np.uint64(1000) + noise % np.uint64(1000)
    millis = ((noise >> np.uint64(20)) % np.uint64(1000)).astype(np.int64)
    from_staff = (direction == S2C) | (direction == S2G)
    roll = rng.random(n)
    casual = np.isin(family, (F_THANKS, F_GCHAT, F_RESPONSE))
    mtype = np.where(casual & (roll < 0.06), 1, np.where(casual & (roll < 0.1), 2, 0))
    mtype = np.where((family == F_GPOST) & (roll < 0.05), 1, mtype)
    staff_num = np.array([int(c[1:]) for c in org.staff_codes], dtype=np.int64)
    viol = violation_kinds(msgnum, staff_num[np.maximum(staff, 0)], seed)
    viol = np.where(from_staff & (mtype == 0), viol, -1)
    variant = rng.integers(0, 1 << 30, n)

    address = address_of(people)
    campaign_names = {key: name for key, name, *_rest in CAMPAIGNS}
    ref_names = [campaign_names[ref.split("-", 1)[1]] for ref in cal.campaign_refs]
    campaign = cal.campaign_of(sent)
    products = [p[1].split(" ")[0] for p in names.PRODUCTS]
    prices = [p[3] for p in names.PRODUCTS]
    store_of_staff = [org.store_names[s] if s >= 0 else names.BRAND for s in org.staff_store.tolist()]

    def text(a: int, b: int) -> list[str | None]:
        out: list[str | None] = []
        fam, var, st, cu = (
            family[a:b].tolist(),
            variant[a:b].tolist(),
            staff[a:b].tolist(),
            cust[a:b].tolist(),
        )
        vi, mt, cp = viol[a:b].tolist(), mtype[a:b].tolist(), campaign[a:b].tolist()
        nums = msgnum[a:b].tolist()
        for k in range(b - a):
            if mt[k] != 0:
                out.append(None)
                continue
            name = address[cu[k]] if cu[k] >= 0 else "各位"
            if vi[k] >= 0:
                out.append(phrases.violation_text(vi[k], nums[k], name))
                continue
            v = var[k]
            pool = FAMILIES[fam[k]]
            out.append(
                pool[v % len(pool)].format(
                    name=name,
                    nick=people.name[cu[k]] if cu[k] >= 0 else "",
                    guide=org.staff_names[st[k]] if st[k] >= 0 else "",
                    store=store_of_staff[st[k]] if st[k] >= 0 else names.BRAND,
                    brand=names.BRAND,
                    product=products[v % len(products)],
                    price=prices[v % len(prices)],
                    n=2 + v % 9,
                    months=1 + v % 30,
                    points=100 + v % 4000,
                    campaign=ref_names[cp[k]] if cp[k] >= 0 else "本月会员日",
                    tip=phrases.TIPS[v % len(phrases.TIPS)],
                    topic=phrases.TOPICS[v % len(phrases.TOPICS)],
                )
            )
        return out

    userids = org.staff_userids

    def sender(a: int, b: int) -> list[str | None]:
        return [
            userids[s] if d in (S2C, S2G) else external_userid[c]
            for d, s, c in zip(direction[a:b].tolist(), staff[a:b].tolist(), cust[a:b].tolist(), strict=True)
        ]

    def receivers(a: int, b: int) -> list[str | None]:
        out: list[str | None] = []
        for d, s, c in zip(direction[a:b].tolist(), staff[a:b].tolist(), cust[a:b].tolist(), strict=True):
            out.append(f'["{external_userid[c]}"]' if d == S2C else f'["{userids[s]}"]' if d == C2S else None)
        return out

    def msgid(a: int, b: int) -> list[str]:
        stamp = (sent[a:b] * 1000 + millis[a:b]).tolist()
        return [f"{m}_{t}" for m, t in zip(msgnum[a:b].tolist(), stamp, strict=True)]

    first = writer.reserve(ChatMessage.__table__, n)  # type: ignore[arg-type]
    # Customer messages in a group keep the customer; the guide is only on staff messages.
    staff_ids = np.where(staff >= 0, org.staff_ids[np.maximum(staff, 0)], -1)
    cust_ids = np.where(cust >= 0, people.ids[np.maximum(cust, 0)], -1)
    writer.write(
        ChatMessage.__table__,  # type: ignore[arg-type]
        n,
        {
            "id": Ints(np.arange(first, first + n, dtype=np.int64)),
            "msgid": Lazy(msgid),
            "sender": Lazy(sender),
            "receivers": Lazy(receivers),
            "room_id": Codes(group, group_external),
            "direction": Codes(direction, DIRECTIONS),
            "staff_id": Ints(staff_ids, nullable=True),
            "customer_id": Ints(np.where(direction == S2G, -1, cust_ids), nullable=True),
            "group_id": Ints(np.where(group >= 0, group_ids[np.maximum(group, 0)], -1), nullable=True),
            "msg_type": Codes(mtype, MSG_TYPES),
            "text": Lazy(text),
            "sent_at": Times(sent),
        },
    )
    labels: dict[str, list[str]] = {k: [] for k in phrases.VIOLATION_KINDS}
    for i in np.flatnonzero(viol >= 0).tolist():
        labels[phrases.VIOLATION_KINDS[viol[i]]].append(
            f"{int(msgnum[i])}_{int(sent[i]) * 1000 + int(millis[i])}"
        )
    return labels
