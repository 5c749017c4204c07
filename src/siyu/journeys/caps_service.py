"""Frequency-cap settings: the WeCom platform mode (month / week / day) and the brand's own caps; audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.channels.contract import adapter_names
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.journeys.caps import PLATFORM, PLATFORM_DEFAULT, effective_max
from siyu.journeys.caps_schemas import CapIn, CapOut, PlatformIn
from siyu.models import FrequencyCap
from siyu.org.permissions import Actor, PermissionRole
from siyu.timeutil import local_date

# Caps decide who may be messaged at all: only the brand's private-domain leads and admins set them.
CAP_ROLES = frozenset({PermissionRole.admin, PermissionRole.private_domain_lead})
PLATFORM_NAMES = {"month": "企业微信: 每月天数条", "week": "企业微信: 每周7条", "day": "企业微信: 每天1条"}


def _require(actor: Actor) -> None:
    if actor.role not in CAP_ROLES:
        raise Forbidden(
            f"role {actor.role.value!r} may not change frequency caps (admin or private-domain lead)"
        )


def list_caps(session: Session, now: datetime | None = None) -> list[CapOut]:
    """Every cap (platform first, implicit default included) with its allowance today."""
    day = local_date(now or utcnow())
    rows = list(session.scalars(select(FrequencyCap).order_by(FrequencyCap.id)))
    out = [
        CapOut(
            id=r.id,
            code=r.code,
            name=r.name,
            period=r.period,
            max_touches=r.max_touches,
            channel=r.channel,
            enabled=r.enabled,
            current_limit=effective_max(r.period, r.max_touches, day),
            is_platform=r.code == PLATFORM,
        )
        for r in rows
    ]
    if not any(c.is_platform for c in out):
        d = PLATFORM_DEFAULT
        out.insert(
            0,
            CapOut(
                id=None,
                code=d.code,
                name=PLATFORM_NAMES["month"],
                period="month",
                max_touches=None,
                channel=None,
                enabled=True,
                current_limit=d.limit(day),
                is_platform=True,
            ),
        )
    out.sort(key=lambda c: not c.is_platform)
    return out


def set_platform_mode(session: Session, actor: Actor, data: PlatformIn) -> FrequencyCap:
    """Record the mode chosen in WeCom's 群发助手 settings (the platform enforces it, so Siyu mirrors it)."""
    _require(actor)
    row = session.scalar(select(FrequencyCap).where(FrequencyCap.code == PLATFORM))
    before = row.period if row else "month"
    if row is None:
        row = FrequencyCap(code=PLATFORM, name=PLATFORM_NAMES[data.period], period=data.period)
        session.add(row)
    row.period, row.name, row.max_touches, row.enabled, row.channel = (
        data.period,
        PLATFORM_NAMES[data.period],
        None,
        True,
        None,
    )
    session.flush()
    audit(session, actor, "caps.platform_mode", "frequency_cap", row.id, {"from": before, "to": data.period})
    return row


def add_cap(session: Session, actor: Actor, data: CapIn) -> FrequencyCap:
    """Add a brand cap; its code is unique and not "platform", its channel a registered adapter."""
    _require(actor)
    if data.code == PLATFORM:
        raise Invalid("code: 'platform' is the WeCom rule; set it with the platform mode instead")
    if data.channel is not None and data.channel not in adapter_names():
        raise Invalid(
            f"channel: {data.channel!r} is not a channel adapter (known: {', '.join(adapter_names())})"
        )
    if session.scalar(select(FrequencyCap.id).where(FrequencyCap.code == data.code)) is not None:
        raise Conflict(f"code: a frequency cap {data.code!r} already exists")
    row = FrequencyCap(
        code=data.code,
        name=data.name,
        period=data.period,
        max_touches=data.max_touches,
        channel=data.channel,
        enabled=True,
    )
    session.add(row)
    session.flush()
    audit(session, actor, "caps.add", "frequency_cap", row.id, data.model_dump())
    return row


def set_enabled(session: Session, actor: Actor, cap_id: int, enabled: bool) -> FrequencyCap:
    """Switch a brand cap on or off (the platform rule cannot be switched off: WeCom enforces it anyway)."""
    _require(actor)
    row = session.get(FrequencyCap, cap_id)
    if row is None:
        raise NotFound(f"frequency cap {cap_id} does not exist")
    if row.code == PLATFORM and not enabled:
        raise Invalid("the platform cap cannot be switched off: WeCom applies it whatever Siyu does")
    row.enabled = enabled
    session.flush()
    audit(
        session,
        actor,
        "caps.enable" if enabled else "caps.disable",
        "frequency_cap",
        row.id,
        {"code": row.code},
    )
    return row
