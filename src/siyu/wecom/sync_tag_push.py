"""Tag push: local tag changes on WeCom-linked tags go to WeCom (mark_tag per member and customer)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.channels.wecom.errors import InvalidUserId, NotFriend
from siyu.db.bulk import any_of
from siyu.db.types import utcnow
from siyu.events import settled_event_id
from siyu.models import ChannelMembership, CustomerIdentity, CustomerTag, Event, Staff, Tag, WecomSyncRun
from siyu.models.enums import Channel, IdentityKind
from siyu.models.wecom import SyncStatus

if TYPE_CHECKING:
    from siyu.channels.wecom.client import WecomClient

log = logging.getLogger(__name__)

PUSH_KIND = "tag_push"  # one WecomSyncRun row holds the watermark (checkpoint["event_id"])
EVENTS_PER_BATCH = 5000


@dataclass(slots=True)
class TagPushResult:
    """What one push did."""

    events: int = 0
    calls: int = 0
    added: int = 0
    removed: int = 0
    skipped_not_friend: int = 0
    watermark: int = 0
    errors: list[str] = field(default_factory=list)


def _state_row(session: Session, now: datetime) -> WecomSyncRun:
    row = session.scalars(select(WecomSyncRun).where(WecomSyncRun.kind == PUSH_KIND).limit(1)).first()
    if row is None:
        # Start at the present: tags already on customers came from a sync or predate the link.
        top = session.scalar(select(func.max(Event.id))) or 0
        row = WecomSyncRun(
            kind=PUSH_KIND,
            status=SyncStatus.done,
            stage="watermark",
            checkpoint={"event_id": int(top)},
            counts={},
            progress_done=0,
            progress_total=0,
            api_calls=0,
            started_at=now,
            heartbeat_at=now,
        )
        session.add(row)
        session.flush()
    return row


def push_tags(session: Session, client: WecomClient, now: datetime) -> TagPushResult:
    """Apply tagged/untagged events since the watermark whose tag is linked to a corp tag.

    The customer's current tags decide add or remove (several events on one pair collapse to one). Events
    written by the sync or callbacks (data.by == "wecom") are skipped so nothing echoes back. The watermark
    moves only after every call of the batch succeeded; mark_tag is idempotent, so a retry is harmless.
    """
    row = _state_row(session, now)
    low = int((row.checkpoint or {}).get("event_id", 0))
    result = TagPushResult(watermark=low)
    settled = settled_event_id(session, low)
    if settled <= low:  # nothing new (or only ids an event writer in flight may still fill)
        return result
    events = session.execute(
        select(Event.id, Event.customer_id, Event.subject_id, Event.data)
        .where(
            Event.id > low,
            Event.id <= settled,
            Event.kind.in_(("tagged", "untagged")),
            Event.subject_type == "tag",
        )
        .order_by(Event.id)
        .limit(EVENTS_PER_BATCH)
    ).all()
    if not events:
        row.checkpoint = {"event_id": settled}  # nothing to push up to there
        result.watermark = settled
        return result
    result.events = len(events)
    # The whole settled range when it fitted in one batch, else up to the batch's last event.
    high = events[-1].id if len(events) == EVENTS_PER_BATCH else settled
    pairs = {
        (e.customer_id, e.subject_id)
        for e in events
        if e.customer_id is not None and e.subject_id is not None and not _from_wecom(e.data)
    }
    linked: dict[int, str | None] = {
        a: b
        for a, b in session.execute(
            select(Tag.id, Tag.wecom_tag_id).where(
                any_of(session, Tag.id, sorted({t for _, t in pairs})), Tag.wecom_tag_id.is_not(None)
            )
        )
    }
    pairs = {(c, t) for c, t in pairs if t in linked}
    if pairs:
        _apply(session, client, pairs, linked, result)
    if not result.errors:
        row.checkpoint = {"event_id": high}
        row.heartbeat_at = now
        row.api_calls = (row.api_calls or 0) + result.calls
        result.watermark = high
    return result


def _from_wecom(data: Any) -> bool:
    return isinstance(data, dict) and data.get("by") == "wecom"


def _apply(
    session: Session,
    client: WecomClient,
    pairs: set[tuple[int, int]],
    linked: dict[int, str | None],
    result: TagPushResult,
) -> None:
    customers = sorted({c for c, _ in pairs})
    tags = sorted({t for _, t in pairs})
    present: set[tuple[int, int]] = {
        (a, b)
        for a, b in session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag_id).where(
                any_of(session, CustomerTag.customer_id, customers), any_of(session, CustomerTag.tag_id, tags)
            )
        )
    }
    external: dict[int, str] = {
        a: b
        for a, b in session.execute(
            select(CustomerIdentity.customer_id, CustomerIdentity.value).where(
                CustomerIdentity.kind == IdentityKind.wecom_external_userid,
                any_of(session, CustomerIdentity.customer_id, customers),
            )
        )
    }
    m = ChannelMembership
    follows = session.execute(
        select(m.customer_id, Staff.wecom_userid)
        .join(Staff, Staff.id == m.staff_id)
        .where(
            m.channel == Channel.wecom,
            m.left_at.is_(None),
            Staff.wecom_userid.is_not(None),
            any_of(session, m.customer_id, customers),
        )
    ).all()
    tags_of: dict[int, list[int]] = {}
    for c, t in sorted(pairs):
        tags_of.setdefault(c, []).append(t)
    calls: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    for cid, userid in follows:
        ext = external.get(cid)
        if ext is None or userid is None:
            continue
        add, remove = calls.setdefault((userid, ext), ([], []))
        for t in tags_of.get(cid, ()):
            (add if (cid, t) in present else remove).append(str(linked[t]))
    for (userid, ext), (add, remove) in sorted(calls.items()):
        try:
            client.mark_tag(userid, ext, add=add, remove=remove)
        except (NotFriend, InvalidUserId):
            result.skipped_not_friend += 1  # the follow ended on WeCom; the callback will close it here
            continue
        except Exception as exc:  # keep the watermark: the whole batch is retried next time
            result.errors.append(f"mark_tag {userid}/{ext}: {exc}")
            log.warning("WeCom tag push stopped: %s", exc)
            return
        finally:
            result.calls += 1
        result.added += len(add)
        result.removed += len(remove)


def push_tags_job(session: Session) -> Any:
    """Worker job wecom.push_tags: a no-op until WeCom is configured."""
    from siyu.wecom.credentials import client_for, load_app

    config = load_app(session)
    if config is None or not config.enabled:
        return None
    with client_for(session) as client:
        result = push_tags(session, client, utcnow())
    if result.errors:
        session.commit()  # the state row (first run) is kept; the watermark did not move
        raise RuntimeError("; ".join(result.errors[:3]))
    return result
