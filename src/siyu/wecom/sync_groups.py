"""Customer groups (客户群) from WeCom: ChatGroup rows and group memberships with join scene and time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from siyu.db.bulk import any_of, insert_returning_ids
from siyu.events import NewEvent, record_events
from siyu.models import ChannelMembership, ChatGroup
from siyu.models.enums import Channel, IdentityKind, LeaveReason
from siyu.wecom.contacts import close_memberships, epoch, identities_of, staff_by_userid
from siyu.wecom.sync_service import SyncContext

if TYPE_CHECKING:
    from siyu.channels.wecom.schemas import GroupChat

OWNERS_PER_CALL = 100  # groupchat/list owner_filter maximum
CHATS_PER_PAGE = 100  # small pages: a page's groupchat/get calls are redone after a crash
EXTERNAL = 2  # member type: external contact


@dataclass(slots=True)
class GroupUpsertResult:
    """What one upsert of group chats changed."""

    group_ids_by_chat: dict[str, int]
    new_groups: int = 0
    joined: int = 0
    left: int = 0
    unknown_members: int = 0  # external members who are nobody's contact yet (no identity to attach)


def upsert_groups(
    session: Session,
    chats: Sequence[GroupChat],
    now: datetime,
    *,
    reason: LeaveReason = LeaveReason.left_group,
) -> GroupUpsertResult:
    """ChatGroups by external_id, one open group membership per (group, customer); members gone are closed.

    chats must carry their complete member lists (groupchat/get). A fixed number of statements per call.
    """
    result = GroupUpsertResult(group_ids_by_chat={})
    if not chats:
        return result
    owners = staff_by_userid(session, (c.owner for c in chats if c.owner))
    existing = {
        g.external_id: g
        for g in session.scalars(
            select(ChatGroup).where(any_of(session, ChatGroup.external_id, [c.chat_id for c in chats]))
        )
    }
    new_rows = []
    for c in chats:
        owner = owners.get(c.owner)
        fields: dict[str, Any] = {
            "name": (c.name or c.chat_id)[:200],
            "owner_staff_id": owner[0] if owner else None,
            "unit_id": owner[1] if owner else None,
        }
        group = existing.get(c.chat_id)
        if group is None:
            new_rows.append({"external_id": c.chat_id, "created_at": epoch(c.create_time, now), **fields})
        elif any(getattr(group, k) != v for k, v in fields.items()) or group.dismissed_at is not None:
            session.execute(
                update(ChatGroup).where(ChatGroup.id == group.id).values(dismissed_at=None, **fields)
            )
    if new_rows:
        ids = insert_returning_ids(session, cast(Table, ChatGroup.__table__), new_rows)
        result.group_ids_by_chat.update(zip([r["external_id"] for r in new_rows], ids, strict=True))
        result.new_groups = len(new_rows)
    result.group_ids_by_chat.update({k: g.id for k, g in existing.items()})
    unit_of = {c.chat_id: (owners.get(c.owner) or (None, None))[1] for c in chats}
    _members(session, chats, now, result, unit_of, reason)
    return result


def _members(
    session: Session,
    chats: Sequence[GroupChat],
    now: datetime,
    result: GroupUpsertResult,
    unit_of: dict[str, int | None],
    reason: LeaveReason,
) -> None:
    externals = {m.userid for c in chats for m in c.member_list if m.type == EXTERNAL}
    customer_of = identities_of(session, IdentityKind.wecom_external_userid, externals)
    result.unknown_members = len(externals - set(customer_of))
    gids = sorted(result.group_ids_by_chat.values())
    m = ChannelMembership
    open_rows = session.execute(
        select(m.id, m.group_id, m.customer_id).where(
            m.channel == Channel.group, m.left_at.is_(None), any_of(session, m.group_id, gids)
        )
    ).all()
    open_by = {(r.group_id, r.customer_id): r.id for r in open_rows}
    wanted: set[tuple[int, int]] = set()
    inserts: list[dict[str, Any]] = []
    units: list[int | None] = []
    for c in chats:
        gid = result.group_ids_by_chat[c.chat_id]
        for member in c.member_list:
            cid = customer_of.get(member.userid) if member.type == EXTERNAL else None
            if cid is None or (gid, cid) in wanted:
                continue
            wanted.add((gid, cid))
            if (gid, cid) not in open_by:
                joined = epoch(member.join_time, now)
                inserts.append(
                    {
                        "customer_id": cid,
                        "channel": Channel.group,
                        "group_id": gid,
                        "joined_at": joined,
                        "join_scene": member.join_scene or None,
                    }
                )
                units.append(unit_of[c.chat_id])
    gone = [mid for key, mid in open_by.items() if key not in wanted]
    result.left = len(close_memberships(session, gone, reason, now))
    if not inserts:
        return
    ids = insert_returning_ids(session, cast(Table, m.__table__), inserts)
    record_events(
        session,
        [
            NewEvent(
                kind="joined_channel",
                occurred_at=row["joined_at"],
                customer_id=row["customer_id"],
                unit_id=unit,
                subject_type="channel_membership",
                subject_id=mid,
                data={"channel": "group", "group_id": row["group_id"], "join_scene": row["join_scene"]},
            )
            for mid, row, unit in zip(ids, inserts, units, strict=True)
        ],
    )
    result.joined = len(ids)


def stage_groups(ctx: SyncContext) -> None:
    """groupchat/list by owner (100 per call) then groupchat/get per chat; incremental runs fetch only new chats."""
    s, cp = ctx.session, ctx.checkpoint
    owners = list(cp.get("userids", []))
    chunks = [owners[i : i + OWNERS_PER_CALL] for i in range(0, len(owners), OWNERS_PER_CALL)]
    chunk, cursor = int(cp.get("chunk", 0)), str(cp.get("cursor", ""))
    only_new = ctx.run.kind != "full"
    while chunk < len(chunks):
        page = ctx.client.list_group_chats(owner_userids=chunks[chunk], cursor=cursor, limit=CHATS_PER_PAGE)
        ids = [ref.chat_id for ref in page.items]
        if only_new and ids:
            known = set(s.scalars(select(ChatGroup.external_id).where(any_of(s, ChatGroup.external_id, ids))))
            ids = [i for i in ids if i not in known]
        chats = [ctx.client.get_group_chat(chat_id) for chat_id in ids]
        result = upsert_groups(s, chats, ctx.clock())
        ctx.count(
            groups_seen=len(page.items),
            groups_new=result.new_groups,
            group_joins=result.joined,
            group_leaves=result.left,
            group_unknown_members=result.unknown_members,
        )
        if page.next_cursor:
            cursor = page.next_cursor
        else:
            chunk, cursor = chunk + 1, ""
        ctx.save(chunk=chunk, cursor=cursor)
