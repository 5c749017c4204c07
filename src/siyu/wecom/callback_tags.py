"""change_external_tag callbacks: keep the local tag groups/tags linked to WeCom's corp tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.models import Tag, TagGroup

if TYPE_CHECKING:
    from siyu.channels.wecom.schemas import CorpTagGroup
    from siyu.wecom.callback_service import _Context


def _unique(name: str, taken: set[str], wecom_id: str) -> str:
    # Names are unique (groups globally, tags per group): suffix the WeCom id rather than fail the event.
    base = name[:64] or wecom_id[:64]
    return base if base not in taken else f"{base[:50]} ({wecom_id[-10:]})"


def apply_corp_tag_groups(session: Session, groups: Sequence[CorpTagGroup]) -> dict[str, int]:
    """Create, link or rename local groups/tags for the given corp tag groups; counts of what changed.

    A local group/tag with the same name and no WeCom id is linked rather than duplicated.
    """
    counts = {"groups_created": 0, "tags_created": 0, "renamed": 0, "linked": 0}
    for g in groups:
        if g.deleted:
            continue
        name = g.group_name[:64]
        local = session.scalars(select(TagGroup).where(TagGroup.wecom_group_id == g.group_id)).first()
        if local is None and name:
            local = session.scalars(
                select(TagGroup).where(TagGroup.name == name, TagGroup.wecom_group_id.is_(None))
            ).first()
            if local is not None:
                local.wecom_group_id = g.group_id
                counts["linked"] += 1
        group_names = set(session.scalars(select(TagGroup.name).where(TagGroup.name.like(name[:50] + "%"))))
        if local is None:
            local = TagGroup(name=_unique(name, group_names, g.group_id), wecom_group_id=g.group_id)
            session.add(local)
            counts["groups_created"] += 1
        elif name and local.name != name and name not in group_names:
            local.name = name
            counts["renamed"] += 1
        session.flush()
        live = [t for t in g.tag if not t.deleted]
        by_wecom = {
            t.wecom_tag_id: t
            for t in session.scalars(select(Tag).where(Tag.wecom_tag_id.in_([t.id for t in live]))).all()
        }
        in_group = {t.name: t for t in session.scalars(select(Tag).where(Tag.group_id == local.id)).all()}
        for corp in live:
            tag_name = corp.name[:64]
            tag = by_wecom.get(corp.id)
            if tag is None and tag_name in in_group and in_group[tag_name].wecom_tag_id is None:
                tag = in_group[tag_name]
                tag.wecom_tag_id = corp.id
                counts["linked"] += 1
            if tag is None:
                tag = Tag(
                    group_id=local.id, name=_unique(tag_name, set(in_group), corp.id), wecom_tag_id=corp.id
                )
                session.add(tag)
                in_group[tag.name] = tag
                counts["tags_created"] += 1
            elif (tag.name != tag_name or tag.group_id != local.id) and tag_name not in in_group:
                in_group.pop(tag.name, None)
                tag.name, tag.group_id = tag_name, local.id
                in_group[tag_name] = tag
                counts["renamed"] += 1
        session.flush()
    return counts


def unlink_deleted(session: Session, *, tag_ids: Sequence[str] = (), group_ids: Sequence[str] = ()) -> int:
    """Corp tags/groups deleted in WeCom: keep the local tags (and customers' tags), drop the link."""
    changed = 0
    if group_ids:
        groups = session.scalars(
            select(TagGroup.id).where(TagGroup.wecom_group_id.in_(list(group_ids)))
        ).all()
        if groups:
            r = session.execute(
                update(Tag)
                .where(Tag.group_id.in_(groups), Tag.wecom_tag_id.is_not(None))
                .values(wecom_tag_id=None)
                .execution_options(synchronize_session=False)
            )
            changed += int(getattr(r, "rowcount", 0) or 0)
            session.execute(
                update(TagGroup)
                .where(TagGroup.id.in_(groups))
                .values(wecom_group_id=None)
                .execution_options(synchronize_session=False)
            )
    if tag_ids:
        r = session.execute(
            update(Tag)
            .where(Tag.wecom_tag_id.in_(list(tag_ids)))
            .values(wecom_tag_id=None)
            .execution_options(synchronize_session=False)
        )
        changed += int(getattr(r, "rowcount", 0) or 0)
    return changed


def handle_tag_event(ctx: _Context) -> None:
    """create/update → read the corp tag (or group) and apply it; delete → unlink; shuffle → ignored."""
    from siyu.wecom.callback_service import _Ignored, _need

    payload = ctx.row.payload or {}
    wecom_id = _need(payload.get("Id"), "Id")
    is_group = payload.get("TagType") == "tag_group"
    change = ctx.row.change_type
    if change == "delete":
        unlink_deleted(ctx.session, **({"group_ids": [wecom_id]} if is_group else {"tag_ids": [wecom_id]}))
        return
    if change not in ("create", "update"):
        raise _Ignored(f"change_external_tag/{change} changes only the order; nothing to do")
    if is_group:
        groups = ctx.client.get_corp_tag_list(group_ids=[wecom_id])
    else:
        groups = ctx.client.get_corp_tag_list(tag_ids=[wecom_id])
    apply_corp_tag_groups(ctx.session, groups)
