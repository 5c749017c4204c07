"""Demo channel codes (渠道活码): a handful of realistic codes over the demo's own membership codes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.db.bulk import any_of
from siyu.models import ChannelMembership, Customer, Journey, Script, ScriptApproval, Staff, Tag
from siyu.models.enums import Channel
from siyu.models.wecom import ChannelCode

MAX_STAFF_PER_CODE = 3
STATE_MAX = 30  # WeCom's state length


@dataclass(frozen=True)
class CodeSpec:
    """One demo code: how to find its state among the demo's memberships, and what it applies."""

    name: str
    source_detail: str
    kind: str  # store: the busiest store counter state; ad: cc-<busiest campaign>; fixed / new: `state`
    state: str  # the state itself (fixed / new), or the fallback when no demo membership matches
    tags: tuple[str, ...]


SPECS = (
    CodeSpec("门店海报（收银台）", "门店海报", "store", "cc-store-poster", ("门店到店",)),
    CodeSpec("电商包裹卡", "包裹卡", "fixed", "cc-package-card", ("订单导入",)),
    CodeSpec("朋友圈广告落地页", "朋友圈广告", "ad", "cc-moments-ad", ("广告线索",)),
    CodeSpec("直播间福利码", "直播间", "new", "cc-live-room", ("喜欢直播",)),
)


def _states(session: Session) -> list[str]:
    """The demo's WeCom membership states, busiest first."""
    rows = session.execute(
        select(ChannelMembership.channel_code, func.count())
        .where(ChannelMembership.channel == Channel.wecom, ChannelMembership.channel_code.is_not(None))
        .group_by(ChannelMembership.channel_code)
        .order_by(func.count().desc(), ChannelMembership.channel_code)
    ).all()
    return [str(code) for code, _n in rows if len(str(code)) <= STATE_MAX]


def _pick_state(spec: CodeSpec, states: list[str], campaign: str | None) -> str:
    if spec.kind == "store":
        return next((code for code in states if code.endswith("-counter")), spec.state)
    if spec.kind == "ad" and campaign and f"cc-{campaign}" in states:
        return f"cc-{campaign}"
    return spec.state


def seed_channel_codes(session: Session) -> dict[str, int]:
    """Add the demo codes (no WeCom app: config_id stays empty) over existing staff/tags/scripts/journeys."""
    existing = set(session.scalars(select(ChannelCode.code)))
    states = _states(session)
    # The demo adds ad leads through "cc-<campaign>": the busiest campaign's code is the moments ad.
    campaign = session.scalar(
        select(Customer.source_ad_campaign)
        .where(Customer.source_ad_campaign.is_not(None))
        .group_by(Customer.source_ad_campaign)
        .order_by(func.count().desc(), Customer.source_ad_campaign)
        .limit(1)
    )
    wanted = [(spec, _pick_state(spec, states, campaign)) for spec in SPECS]
    wanted = [(spec, state) for spec, state in wanted if state not in existing]
    if not wanted:
        return {"channel_codes": 0, "with_history": 0}
    codes = [state for _spec, state in wanted]
    by_code: dict[str, list[int]] = {}
    for code, staff_id, _n in session.execute(
        select(ChannelMembership.channel_code, ChannelMembership.staff_id, func.count())
        .where(
            ChannelMembership.channel == Channel.wecom,
            ChannelMembership.staff_id.is_not(None),
            any_of(session, ChannelMembership.channel_code, codes),
        )
        .group_by(ChannelMembership.channel_code, ChannelMembership.staff_id)
        .order_by(func.count().desc(), ChannelMembership.staff_id)
    ):
        if staff_id is not None:
            by_code.setdefault(str(code), []).append(int(staff_id))
    default_staff = list(session.scalars(select(Staff.id).order_by(Staff.id).limit(MAX_STAFF_PER_CODE)))
    tag_ids = dict(session.execute(select(Tag.name, Tag.id)).all())
    welcome = session.scalar(
        select(Script.id)
        .where(Script.approval == ScriptApproval.approved, Script.category == "welcome")
        .order_by(Script.id)
        .limit(1)
    )
    journey = session.scalar(select(Journey.id).where(Journey.code == "new_contact_10d"))
    created = 0
    for spec, state in wanted:
        staff_ids = by_code.get(state, [])[:MAX_STAFF_PER_CODE] or default_staff
        if not staff_ids:
            continue  # no staff at all: nothing sensible to point a code at
        session.add(
            ChannelCode(
                code=state,
                name=spec.name,
                source_detail=spec.source_detail,
                ad_campaign=campaign if spec.kind == "ad" else None,
                staff_ids=staff_ids,
                tag_ids=[tag_ids[t] for t in spec.tags if t in tag_ids],
                welcome_script_id=welcome,
                journey_id=journey,
                skip_verify=True,
                active=True,
            )
        )
        created += 1
    session.flush()
    return {"channel_codes": created, "with_history": sum(1 for c in codes if c in by_code)}
