"""change_external_chat callbacks: create/update reconcile the group through sync's upsert; dismiss closes it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models import ChannelMembership, ChatGroup
from siyu.models.enums import Channel, LeaveReason
from siyu.wecom import contacts

if TYPE_CHECKING:
    from siyu.wecom.callback_service import _Context

QUIT_BY_ADMIN = 1  # QuitScene: 0 = left by themselves, 1 = removed by the owner or an admin


def dismiss_group(session: Session, chat_id: str, at: datetime) -> int | None:
    """Mark a group dismissed and end its open memberships; the group id, or None when unknown."""
    group = session.scalars(select(ChatGroup).where(ChatGroup.external_id == chat_id)).first()
    if group is None:
        return None
    group.dismissed_at = at
    m = ChannelMembership
    ids = session.scalars(
        select(m.id).where(m.channel == Channel.group, m.group_id == group.id, m.left_at.is_(None))
    ).all()
    contacts.close_memberships(session, list(ids), LeaveReason.other, at)
    session.flush()
    return group.id


def handle_chat_event(ctx: _Context) -> None:
    """create / update (members, name, owner) → fetch the chat and reconcile; dismiss → close it."""
    from siyu.wecom.callback_service import _Ignored, _need
    from siyu.wecom.sync_groups import upsert_groups

    chat_id = _need(ctx.row.chat_id, "ChatId")
    if ctx.row.change_type == "dismiss":
        if dismiss_group(ctx.session, chat_id, ctx.at) is None:
            raise _Ignored(f"group {chat_id} was never synced, nothing to dismiss")
        return
    if ctx.row.change_type not in ("create", "update"):
        raise _Ignored(f"change_external_chat/{ctx.row.change_type} is not handled")
    # groupchat/get returns the complete member list, so the reconcile also catches missed events.
    chat = ctx.client.get_group_chat(chat_id)
    quit_scene = (ctx.row.payload or {}).get("QuitScene")
    reason = (
        LeaveReason.removed_from_group if str(quit_scene) == str(QUIT_BY_ADMIN) else LeaveReason.left_group
    )
    upsert_groups(ctx.session, [chat], ctx.at, reason=reason)
