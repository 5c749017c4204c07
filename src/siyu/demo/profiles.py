"""Customer rows and identities: lifecycle, member tier, points and consent derived from the history."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siyu.demo import names
from siyu.demo.channels import GROUP, MEMBER, MINIPROG, OFFICIAL, WECOM, Memberships
from siyu.demo.customers import AD, INTERCEPT, ORGANIC, SOURCES, TELESALES, People
from siyu.demo.org import OrgData
from siyu.demo.purchases import LIFECYCLE, Purchases, lifecycle_stages
from siyu.demo.timeline import DAY, NO_TIME, Calendar, to_date
from siyu.demo.writer import Bools, Codes, Const, Ints, Times, Values, Writer
from siyu.models import Customer, CustomerIdentity

TIERS = ("regular", "silver", "gold", "diamond")
# Net spend over the last 365 days (fen) needed for each tier above regular.
TIER_THRESHOLDS = (150_000, 500_000, 1_500_000)
PHONE_SHARE = {AD: 0.95, ORGANIC: 0.45, INTERCEPT: 0.9}


@dataclass
class Profiles:
    """What later generators need to know about each customer."""

    stage: np.ndarray
    tier: np.ndarray
    archive_consent: np.ndarray
    opt_in: np.ndarray
    external_userid: list[str | None]
    net_year_fen: np.ndarray


def build_profiles(
    rng: np.random.Generator,
    cal: Calendar,
    org: OrgData,
    people: People,
    buys: Purchases,
    ms: Memberships,
    refund_fen: np.ndarray,
    writer: Writer,
) -> Profiles:
    """Write customers and their identities."""
    writer.reporter.step("customers and identities")
    n = people.n
    stage = lifecycle_stages(cal, people, buys)
    net = buys.amount_fen - refund_fen
    recent = buys.paid_at >= cal.end - 365 * DAY
    net_year = np.bincount(buys.cust[recent], weights=net[recent], minlength=n).astype(np.int64)
    is_member = ms.member_joined != NO_TIME
    tier = np.where(is_member, np.searchsorted(TIER_THRESHOLDS, net_year, side="right"), -1)
    # Points: one per yuan paid after joining, less what each member has redeemed.
    after = buys.paid_at >= ms.member_joined[buys.cust]
    earned = np.bincount(buys.cust[after], weights=net[after] // 100, minlength=n)
    points = np.where(is_member, (earned * (1 - rng.beta(1.5, 2.5, n))).astype(np.int64), 0)
    consent = ms.has_wecom & (rng.random(n) < 0.88)
    p_opt = np.where(is_member, 0.8, np.where(ms.has_wecom, 0.6, 0.25))
    opt_in = rng.random(n) < p_opt
    first_code = np.full(n, -1, dtype=np.int64)
    wec = np.flatnonzero((ms.channel == WECOM) & (ms.code >= 0))
    wec = wec[np.lexsort((ms.joined[wec], ms.cust[wec]))]
    who, first = np.unique(ms.cust[wec], return_index=True)
    first_code[who] = ms.code[wec][first]
    birthday = _birthdays(rng.spawn(1)[0], is_member)
    owner_ids = np.where(ms.owner >= 0, org.staff_ids[np.maximum(ms.owner, 0)], -1)
    referrer_ids = np.where(people.referrer >= 0, people.ids[np.maximum(people.referrer, 0)], -1)
    writer.write(
        Customer.__table__,  # type: ignore[arg-type]
        n,
        {
            "id": Ints(people.ids),
            "name": Values(people.name),
            "gender": Values(people.gender),
            "city": Values(people.city),
            "source": Codes(people.source, SOURCES),
            "source_detail": Values(people.source_detail),
            "source_channel_code": Codes(first_code, ms.code_vocab),
            "source_ad_campaign": Values(people.ad_campaign),
            "referrer_id": Ints(referrer_ids, nullable=True),
            "owner_staff_id": Ints(owner_ids, nullable=True),
            "home_store_id": Ints(org.store_ids[people.store]),
            "lifecycle_stage": Codes(stage, LIFECYCLE),
            "member_tier": Codes(tier, TIERS),
            "points_balance": Ints(points),
            "marketing_opt_in": Bools(opt_in),
            "chat_archive_consent": Bools(consent),
            "birthday": Values(birthday),
            "first_seen_at": Times(people.first_seen),
            "merged_into_id": Const(None),
            "created_at": Times(people.first_seen),
        },
    )
    external = _write_identities(rng, people, ms, is_member, writer)
    return Profiles(
        stage=stage,
        tier=tier,
        archive_consent=consent,
        opt_in=opt_in,
        external_userid=external,
        net_year_fen=net_year,
    )


def _birthdays(rng: np.random.Generator, is_member: np.ndarray) -> list[str | None]:
    """ISO birthdays: most members gave one when joining, few others did (a spawned stream: nothing else moves)."""
    n = len(is_member)
    known = rng.random(n) < np.where(is_member, 0.85, 0.15)
    # Ages 18–60; day of year drawn uniformly (1 Jan 1966 + offset keeps 29 Feb rare, as in life).
    days = rng.integers(0, 365 * 42, n)
    start = np.datetime64("1966-01-01")
    text = np.datetime_as_string(start + days.astype("timedelta64[D]"), unit="D").tolist()
    return [t if k else None for t, k in zip(text, known.tolist(), strict=True)]


def _first_join(ms: Memberships, channel: int, n: int) -> np.ndarray:
    """Earliest join time per customer in channel (NO_TIME if never)."""
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    sel = ms.channel == channel
    np.minimum.at(out, ms.cust[sel], ms.joined[sel])
    return np.where(out == np.iinfo(np.int64).max, NO_TIME, out)


def _write_identities(
    rng: np.random.Generator,
    people: People,
    ms: Memberships,
    is_member: np.ndarray,
    writer: Writer,
) -> list[str | None]:
    """Phone, unionid, openid, member number, WeCom external userid and telesales id, each unique."""
    n = people.n
    share = np.array([PHONE_SHARE.get(s, 1.0) for s in range(len(SOURCES))])[people.source]
    has_phone = (rng.random(n) < share) | is_member
    wecom_at = _first_join(ms, WECOM, n)
    mp_at = _first_join(ms, MINIPROG, n)
    oa_at = _first_join(ms, OFFICIAL, n)
    member_at = _first_join(ms, MEMBER, n)
    big = np.iinfo(np.int64).max
    wechat_at = np.minimum.reduce(
        [
            np.where(t == NO_TIME, big, t)
            for t in (mp_at, oa_at, np.where(rng.random(n) < 0.8, wecom_at, NO_TIME))
        ]
    )
    wechat_at = np.where(wechat_at == big, NO_TIME, wechat_at)

    kinds: list[str] = []
    values: list[str] = []
    cust: list[np.ndarray] = []
    at: list[np.ndarray] = []

    def add(kind: str, rows: np.ndarray, vals: list[str], when: np.ndarray) -> None:
        kinds.extend([kind] * len(rows))
        values.extend(vals)
        cust.append(people.ids[rows])
        at.append(when)

    rows = np.flatnonzero(has_phone)
    add("phone", rows, names.phones(rows, rng, salt=int(rng.integers(0, 10**8))), people.first_seen[rows])
    rows = np.flatnonzero(wechat_at != NO_TIME)
    add("unionid", rows, names.random_tokens(rng, len(rows), 27, "o"), wechat_at[rows])
    rows = np.flatnonzero(mp_at != NO_TIME)
    add("miniprogram_openid", rows, names.random_tokens(rng, len(rows), 27, "o"), mp_at[rows])
    rows = np.flatnonzero(member_at != NO_TIME)
    rows = rows[np.argsort(member_at[rows], kind="stable")]
    add("member_no", rows, [f"BH{10_000_001 + k}" for k in range(len(rows))], member_at[rows])
    # Group members get an external userid too: WeCom assigns one to everyone in a customer group.
    in_group = np.zeros(n, dtype=bool)
    in_group[ms.cust[ms.channel == GROUP]] = True
    rows = np.flatnonzero(ms.has_wecom | in_group)
    tokens = names.random_tokens(rng, len(rows), 30, "wm")
    group_at = _first_join(ms, GROUP, n)
    add(
        "wecom_external_userid",
        rows,
        tokens,
        np.where(wecom_at[rows] == NO_TIME, group_at[rows], wecom_at[rows]),
    )
    external: list[str | None] = [None] * n
    for r, t in zip(rows.tolist(), tokens, strict=True):
        external[r] = t
    rows = np.flatnonzero(people.source == TELESALES)
    batch = [to_date(int(t)).strftime("%Y%m") for t in people.first_seen[rows]]
    add("telesales_id", rows, [f"TS{b}{k:06d}" for k, b in enumerate(batch)], people.first_seen[rows])

    total = len(kinds)
    first = writer.reserve(CustomerIdentity.__table__, total)  # type: ignore[arg-type]
    created = np.concatenate(at)
    writer.write(
        CustomerIdentity.__table__,  # type: ignore[arg-type]
        total,
        {
            "id": Ints(np.arange(first, first + total, dtype=np.int64)),
            "customer_id": Ints(np.concatenate(cust)),
            "kind": Values(kinds),
            "value": Values(values),
            "created_at": Times(created),
        },
    )
    return external
