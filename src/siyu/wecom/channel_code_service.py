"""Channel codes (渠道活码): create/edit/deactivate with WeCom's contact way, and each code's funnel."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.customers.repository import readable
from siyu.db.bulk import any_of
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models import ChannelMembership, Customer, Journey, Order, OrgUnit, Script, Staff, Tag, TagGroup
from siyu.models.enums import Channel
from siyu.models.wecom import ChannelCode
from siyu.org.permissions import Actor
from siyu.wecom.channel_code_schemas import ChannelCodeIn, ChannelCodeOut, ChannelCodeUpdate
from siyu.wecom.credentials import client_for, load_app

if TYPE_CHECKING:
    from siyu.channels.wecom.client import WecomClient

REMARK_MAX = 30  # WeCom's remark on a contact way


def _need_write(actor: Actor) -> None:
    if not actor.may_write:
        raise Forbidden("channel codes: this account may not change channel codes")


def get_code(session: Session, code_id: int) -> ChannelCode:
    """One channel code by id."""
    row = session.get(ChannelCode, code_id)
    if row is None:
        raise NotFound(f"channel code {code_id} does not exist")
    return row


def _check_refs(
    session: Session,
    *,
    staff_ids: Sequence[int] | None,
    tag_ids: Sequence[int] | None,
    store_id: int | None,
    script_id: int | None,
    journey_id: int | None,
) -> list[str]:
    """Every referenced row must exist; returns the staff's WeCom userids in staff_ids order."""
    userids: list[str] = []
    if staff_ids is not None:
        found = dict(
            session.execute(
                select(Staff.id, Staff.wecom_userid).where(any_of(session, Staff.id, staff_ids))
            ).all()
        )
        absent = [s for s in staff_ids if s not in found]
        if absent:
            raise NotFound(f"channel code staff_ids: staff {absent} do not exist")
        userids = [u for s in staff_ids if (u := found[s])]
    if tag_ids:
        tags = session.execute(
            select(Tag.id, TagGroup.name, TagGroup.exclusive)
            .join(TagGroup, TagGroup.id == Tag.group_id)
            .where(any_of(session, Tag.id, tag_ids))
        ).all()
        missing = sorted(set(tag_ids) - {r.id for r in tags})
        if missing:
            raise NotFound(f"channel code tag_ids: tags {missing} do not exist")
        # Checked here rather than on every add, where it would fail each scan's processing.
        exclusive = [r.name for r in tags if r.exclusive]
        clash = sorted({name for name in exclusive if exclusive.count(name) > 1})
        if clash:
            raise Invalid(
                f"channel code tag_ids: exclusive tag group {', '.join(clash)} allows one tag per customer"
            )
    for model, value, where in (
        (OrgUnit, store_id, "store_id"),
        (Script, script_id, "welcome_script_id"),
        (Journey, journey_id, "journey_id"),
    ):
        if value is not None and session.get(model, value) is None:
            raise NotFound(f"channel code {where}: {value} does not exist")
    return userids


@contextmanager
def _client(session: Session, client: WecomClient | None) -> Iterator[WecomClient | None]:
    # None when WeCom is not configured: the code then lives in Siyu only (demo, or set up before WeCom).
    if client is not None:
        yield client
    elif load_app(session) is None:
        yield None
    else:
        with client_for(session) as opened:
            yield opened


def _contact_way(code: str, name: str, userids: Sequence[str], skip_verify: bool) -> Any:
    from siyu.channels.wecom.schemas import ContactWayRequest

    return ContactWayRequest(
        type=1 if len(userids) == 1 else 2,
        scene=2,
        remark=name[:REMARK_MAX],
        skip_verify=skip_verify,
        state=code,
        user=list(userids),
    )


def _need_userids(staff_ids: Sequence[int], userids: Sequence[str]) -> None:
    if len(userids) != len(staff_ids):
        raise Invalid(
            "channel code staff_ids: every staff member needs a WeCom userid (run the WeCom sync or set it)"
        )


def create_code(
    session: Session, actor: Actor, data: ChannelCodeIn, *, client: WecomClient | None = None
) -> ChannelCode:
    """Create a code; with WeCom configured also its contact way (state = code), storing config_id and QR."""
    _need_write(actor)
    staff_ids = list(dict.fromkeys(data.staff_ids))
    tag_ids = list(dict.fromkeys(data.tag_ids))
    if session.scalar(select(ChannelCode.id).where(ChannelCode.code == data.code)) is not None:
        raise Conflict(
            f"channel code {data.code!r} already exists (codes are unique: they are WeCom's state)"
        )
    userids = _check_refs(
        session,
        staff_ids=staff_ids,
        tag_ids=tag_ids,
        store_id=data.store_id,
        script_id=data.welcome_script_id,
        journey_id=data.journey_id,
    )
    row = ChannelCode(
        code=data.code,
        name=data.name,
        source_detail=data.source_detail or None,
        ad_campaign=data.ad_campaign or None,
        store_id=data.store_id,
        staff_ids=staff_ids,
        tag_ids=tag_ids,
        welcome_script_id=data.welcome_script_id,
        journey_id=data.journey_id,
        skip_verify=data.skip_verify,
        active=True,
        created_by_account_id=actor.account_id,
    )
    with _client(session, client) as wecom:
        if wecom is not None:
            _need_userids(staff_ids, userids)
            created = wecom.add_contact_way(_contact_way(data.code, data.name, userids, data.skip_verify))
            row.config_id, row.qr_code = created.config_id, created.qr_code
    session.add(row)
    session.flush()
    audit(session, actor, "wecom.channel_code_created", "channel_code", row.id, {"code": row.code})
    return row


def update_code(
    session: Session,
    actor: Actor,
    code_id: int,
    data: ChannelCodeUpdate,
    *,
    client: WecomClient | None = None,
) -> ChannelCode:
    """Change a code's settings; staff, remark or verification changes go to its WeCom contact way too."""
    _need_write(actor)
    row = get_code(session, code_id)
    changes = data.model_dump(exclude_unset=True)
    if "staff_ids" in changes and changes["staff_ids"] is not None:
        changes["staff_ids"] = list(dict.fromkeys(changes["staff_ids"]))
    if "tag_ids" in changes and changes["tag_ids"] is not None:
        changes["tag_ids"] = list(dict.fromkeys(changes["tag_ids"]))
    for required in ("name", "staff_ids", "tag_ids", "skip_verify"):
        if required in changes and changes[required] is None:
            raise Invalid(f"channel code {required}: cannot be empty")
    staff_ids = changes.get("staff_ids", row.staff_ids)
    userids = _check_refs(
        session,
        staff_ids=staff_ids,
        tag_ids=changes.get("tag_ids"),
        store_id=changes.get("store_id"),
        script_id=changes.get("welcome_script_id"),
        journey_id=changes.get("journey_id"),
    )
    for field, value in changes.items():
        setattr(row, field, value)
    wecom_fields = {"name", "staff_ids", "skip_verify"}
    if row.config_id and row.active and wecom_fields & changes.keys():
        with _client(session, client) as wecom:
            if wecom is not None:
                _need_userids(staff_ids, userids)
                request = _contact_way(row.code, row.name, userids, row.skip_verify)
                wecom.update_contact_way(row.config_id, request)
    session.flush()
    audit(session, actor, "wecom.channel_code_updated", "channel_code", row.id, {"fields": sorted(changes)})
    return row


def deactivate_code(
    session: Session, actor: Actor, code_id: int, *, client: WecomClient | None = None
) -> ChannelCode:
    """Switch a code off and delete its WeCom contact way (the QR stops adding); attribution stays."""
    _need_write(actor)
    row = get_code(session, code_id)
    if not row.active:
        return row
    if row.config_id:
        with _client(session, client) as wecom:
            if wecom is not None:
                wecom.del_contact_way(row.config_id)
    row.active = False
    session.flush()
    audit(session, actor, "wecom.channel_code_deactivated", "channel_code", row.id, {"code": row.code})
    return row


def code_stats(session: Session, actor: Actor, codes: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """Per code: (customers added, still following, ordered since their first add) — in the actor's scope."""
    if not codes:
        return {}
    m = ChannelMembership
    scoped = and_(m.channel == Channel.wecom, any_of(session, m.channel_code, codes), readable(actor))
    funnel = session.execute(
        select(
            m.channel_code,
            func.count(func.distinct(m.customer_id)),
            func.count(func.distinct(case((m.left_at.is_(None), m.customer_id)))),
        )
        .join(Customer, Customer.id == m.customer_id)
        .where(scoped)
        .group_by(m.channel_code)
    ).all()
    first = (
        select(
            m.channel_code.label("code"), m.customer_id.label("cid"), func.min(m.joined_at).label("first_at")
        )
        .join(Customer, Customer.id == m.customer_id)
        .where(scoped)
        .group_by(m.channel_code, m.customer_id)
        .subquery()
    )
    ordered: dict[str, int] = dict(
        session.execute(
            select(first.c.code, func.count(func.distinct(first.c.cid)))
            .join(Order, and_(Order.customer_id == first.c.cid, Order.paid_at >= first.c.first_at))
            .group_by(first.c.code)
        ).all()
    )
    return {
        str(code): (int(adds), int(following), int(ordered.get(str(code), 0)))
        for code, adds, following in funnel
    }


def to_out(row: ChannelCode, stats: tuple[int, int, int] = (0, 0, 0)) -> ChannelCodeOut:
    """The API shape of a code with its funnel."""
    return ChannelCodeOut(
        id=row.id,
        code=row.code,
        name=row.name,
        source_detail=row.source_detail,
        ad_campaign=row.ad_campaign,
        store_id=row.store_id,
        staff_ids=list(row.staff_ids or []),
        tag_ids=list(row.tag_ids or []),
        welcome_script_id=row.welcome_script_id,
        journey_id=row.journey_id,
        skip_verify=row.skip_verify,
        active=row.active,
        config_id=row.config_id,
        qr_code=row.qr_code,
        created_at=row.created_at,
        adds=stats[0],
        following=stats[1],
        ordered=stats[2],
    )


def list_codes(session: Session, actor: Actor, *, include_inactive: bool = True) -> list[ChannelCodeOut]:
    """Every code, newest first, with its funnel counted in one pass."""
    query = select(ChannelCode).order_by(ChannelCode.id.desc())
    if not include_inactive:
        query = query.where(ChannelCode.active.is_(True))
    rows = list(session.scalars(query))
    stats = code_stats(session, actor, [r.code for r in rows])
    return [to_out(r, stats.get(r.code, (0, 0, 0))) for r in rows]
