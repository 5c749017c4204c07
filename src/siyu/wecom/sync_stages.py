"""Sync stages for members, corp tags and contacts (each checkpoints after every page it commits)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from siyu.db.bulk import any_of
from siyu.models import ChannelMembership, Tag, TagGroup
from siyu.models.enums import Channel, LeaveReason
from siyu.wecom.contacts import close_memberships, staff_by_userid, upsert_contacts
from siyu.wecom.sync_service import SyncContext

USERIDS_PER_CALL = 100  # batch/get_by_user userid_list and groupchat owner_filter maximum
CONTACTS_PER_PAGE = 100  # batch/get_by_user limit maximum


# --- members ------------------------------------------------------------------------------------


def stage_staff(ctx: SyncContext) -> None:
    """Read the follow-user list and match it to Staff.wecom_userid; unknown userids are reported only."""
    userids = ctx.client.get_follow_user_list()
    staff = staff_by_userid(ctx.session, userids)
    unknown = sorted(set(userids) - set(staff))
    ctx.count(staff=len(staff), unknown_userids=len(unknown))
    # The list is kept for the whole run so a resumed run walks the same members in the same order.
    ctx.save(userids=sorted(staff), unknown_userids=unknown[:200])


def _staff_ids(ctx: SyncContext, userids: list[str]) -> list[int]:
    return sorted(sid for sid, _unit in staff_by_userid(ctx.session, userids).values())


# --- corp tags ----------------------------------------------------------------------------------


def _free_group_name(session: Session, name: str) -> str:
    taken = set(session.scalars(select(TagGroup.name).where(TagGroup.name.like(name[:50] + "%"))))
    if name[:64] not in taken:
        return name[:64]
    n = 2
    while f"{name[:56]} ({n})" in taken:
        n += 1
    return f"{name[:56]} ({n})"


def stage_tags(ctx: SyncContext) -> None:
    """Corp tags <-> TagGroup/Tag by WeCom ids (linking same-named local ones, creating the rest); then
    local tags in WeCom-linked groups without a WeCom id are created on WeCom (add_corp_tag)."""
    s = ctx.session
    groups = ctx.client.get_corp_tag_list()
    local_groups = {
        g.wecom_group_id: g for g in s.scalars(select(TagGroup).where(TagGroup.wecom_group_id.is_not(None)))
    }
    by_name = {g.name: g for g in s.scalars(select(TagGroup).where(TagGroup.wecom_group_id.is_(None)))}
    local_tags = {t.wecom_tag_id: t for t in s.scalars(select(Tag).where(Tag.wecom_tag_id.is_not(None)))}
    created = linked = renamed = unlinked = 0
    live_tags: set[str] = set()
    for g in groups:
        if g.deleted:
            continue
        group = local_groups.get(g.group_id)
        if group is None:
            group = by_name.pop(g.group_name, None)
            if group is None:
                group = TagGroup(
                    name=_free_group_name(s, g.group_name or g.group_id), wecom_group_id=g.group_id
                )
                s.add(group)
                created += 1
            else:
                group.wecom_group_id = g.group_id
                linked += 1
            s.flush()
        in_group = {t.name: t for t in s.scalars(select(Tag).where(Tag.group_id == group.id))}
        for ct in g.tag:
            if ct.deleted:
                continue
            live_tags.add(ct.id)
            tag = local_tags.get(ct.id)
            if tag is None:
                tag = in_group.get(ct.name[:64])
                if tag is not None and tag.wecom_tag_id is None:
                    tag.wecom_tag_id = ct.id
                    linked += 1
                elif tag is None:
                    s.add(Tag(group_id=group.id, name=ct.name[:64], wecom_tag_id=ct.id))
                    created += 1
            elif tag.name != ct.name[:64] and ct.name[:64] not in in_group:
                tag.name = ct.name[:64]  # renamed on WeCom; the link is the id
                renamed += 1
    for wid, tag in local_tags.items():
        if wid not in live_tags:
            tag.wecom_tag_id = None  # gone from WeCom: keep the local tag and its customers, drop the link
            unlinked += 1
    s.flush()
    pushed = _push_local_tags(ctx)
    ctx.count(tags_created=created, tags_linked=linked, tags_renamed=renamed, tags_unlinked=unlinked)
    ctx.count(tags_pushed=pushed)
    ctx.save()


def _push_local_tags(ctx: SyncContext) -> int:
    """Create on WeCom the local tags of WeCom-linked groups that lack a WeCom id; link them by name."""
    s = ctx.session
    rows = s.execute(
        select(Tag, TagGroup.wecom_group_id)
        .join(TagGroup, TagGroup.id == Tag.group_id)
        .where(TagGroup.wecom_group_id.is_not(None), Tag.wecom_tag_id.is_(None))
        .order_by(Tag.id)
    ).all()
    by_group: dict[str, list[Tag]] = {}
    for tag, gid in rows:
        if gid is not None:
            by_group.setdefault(gid, []).append(tag)
    pushed = 0
    for gid, tags in by_group.items():
        answer = ctx.client.add_corp_tag(tags=[t.name for t in tags], group_id=gid)
        ids = {ct.name: ct.id for ct in answer.tag}
        for tag in tags:
            if tag.name in ids:
                tag.wecom_tag_id = ids[tag.name]
                pushed += 1
    s.flush()
    return pushed


# --- contacts -----------------------------------------------------------------------------------


def _mark_seen(session: Session, membership_ids: list[int], at: datetime) -> None:
    if membership_ids:
        session.execute(
            update(ChannelMembership)
            .where(any_of(session, ChannelMembership.id, membership_ids))
            .values(synced_at=at)
            .execution_options(synchronize_session=False)
        )


def contacts_loop(ctx: SyncContext, userids: list[str]) -> None:
    """batch/get_by_user over userids in chunks of 100, one committed checkpoint (chunk, cursor) per page."""
    run, s = ctx.run, ctx.session
    cp = ctx.checkpoint
    chunk, cursor = int(cp.get("chunk", 0)), str(cp.get("cursor", ""))
    chunks = [userids[i : i + USERIDS_PER_CALL] for i in range(0, len(userids), USERIDS_PER_CALL)]
    while chunk < len(chunks):
        page = ctx.client.batch_get_by_user(chunks[chunk], cursor=cursor, limit=CONTACTS_PER_PAGE)
        now = ctx.clock()
        result = upsert_contacts(s, page.items, now, source="sync")
        _mark_seen(s, sorted(result.membership_ids.values()), run.started_at)
        ctx.count(
            follows=len(page.items),
            customers_new=len(result.new_customer_ids),
            memberships_new=len(result.new_membership_ids),
            memberships_updated=result.memberships_updated,
            phones_added=result.phones_added,
            phones_conflicting=len(result.phones_conflicting),
            unionid_conflicts=len(result.unionid_conflicts),
            tags_applied=result.tags_added,
        )
        run.progress_done = (run.progress_done or 0) + len(page.items)
        if page.next_cursor:
            cursor = page.next_cursor
        else:
            chunk, cursor = chunk + 1, ""
        ctx.save(chunk=chunk, cursor=cursor)


def stage_contacts(ctx: SyncContext) -> None:
    """Every follow of every known member (total estimated from externalcontact/list once per run)."""
    userids = list(ctx.checkpoint.get("userids", []))
    if "total" not in ctx.checkpoint:
        total = sum(len(ctx.client.list_external_contacts(u)) for u in userids)
        ctx.run.progress_total = total
        ctx.save(total=total)
    contacts_loop(ctx, userids)


def close_unseen(ctx: SyncContext, staff_ids: list[int], reason: LeaveReason = LeaveReason.other) -> int:
    """Close open wecom follows of these members the run did not see (joined before it started)."""
    m = ChannelMembership
    s, started = ctx.session, ctx.run.started_at
    if not staff_ids:
        return 0
    ids = s.scalars(
        select(m.id).where(
            m.channel == Channel.wecom,
            m.left_at.is_(None),
            any_of(s, m.staff_id, staff_ids),
            or_(m.synced_at.is_(None), m.synced_at < started),
            # Follows added during the run (callbacks) were never in its pages: leave them alone.
            m.joined_at < started,
        )
    ).all()
    closed = close_memberships(s, list(ids), reason, ctx.clock())
    ctx.count(follows_closed=len(closed))
    return len(closed)


def stage_close_unseen(ctx: SyncContext) -> None:
    """After a full contacts pass: follows WeCom no longer lists are closed."""
    close_unseen(ctx, _staff_ids(ctx, list(ctx.checkpoint.get("userids", []))))
    ctx.save()


def stage_changed_contacts(ctx: SyncContext) -> None:
    """Incremental: re-read the contacts of members whose WeCom follow count differs from Siyu's."""
    s, cp = ctx.session, ctx.checkpoint
    if "changed" not in cp:
        userids = list(cp.get("userids", []))
        staff = staff_by_userid(s, userids)
        m = ChannelMembership
        open_counts: dict[int | None, int] = {
            a: b
            for a, b in s.execute(
                select(m.staff_id, func.count())
                .where(
                    m.channel == Channel.wecom,
                    m.left_at.is_(None),
                    any_of(s, m.staff_id, [sid for sid, _ in staff.values()]),
                )
                .group_by(m.staff_id)
            )
        }
        changed = [
            u for u in userids if len(ctx.client.list_external_contacts(u)) != open_counts.get(staff[u][0], 0)
        ]
        ctx.count(staff_changed=len(changed))
        ctx.save(changed=changed)
        cp = ctx.checkpoint
    changed = list(cp["changed"])
    contacts_loop(ctx, changed)
    close_unseen(ctx, _staff_ids(ctx, changed))
    ctx.save()
