"""/api/v1/content-packs: list recent packs, compose the pack of a day, publish it."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.errors import Forbidden
from siyu.journeys import content_pack_service as packs
from siyu.models import ContentPack

router = APIRouter(prefix="/content-packs", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["scripts"]


class PackItemBody(BaseModel):
    """One item: an approved script and what guides do with it."""

    model_config = ConfigDict(extra="forbid")

    script_id: int
    task_kind: str = "moments_post"


class PackIn(BaseModel):
    """The pack of a day."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=500)
    items: list[PackItemBody] = Field(min_length=1, max_length=20)


class PackOut(BaseModel):
    """A pack with its items and the task / done counts of the tasks it created."""

    id: int
    day: date
    title: str
    note: str | None
    published_at: datetime | None
    items: list[PackItemBody]
    tasks: int
    done: int


class PublishOut(BaseModel):
    """What a publish wrote."""

    pack_id: int
    day: date
    guides: int
    items: int
    created: int
    existing: int


def _outs(session: SessionDep, ids: list[int]) -> list[PackOut]:
    counts = packs.task_counts(session, ids)
    items = packs.pack_items(session, ids)
    by_id = {p.id: p for p in session.scalars(select(ContentPack).where(ContentPack.id.in_(ids)))}
    out = []
    for pack_id in ids:
        pack = by_id[pack_id]
        out.append(
            PackOut(
                id=pack.id,
                day=pack.day,
                title=pack.title,
                note=pack.note,
                published_at=pack.published_at,
                items=[PackItemBody(script_id=i.script_id, task_kind=i.task_kind) for i, _ in items[pack_id]],
                tasks=counts[pack_id][0],
                done=counts[pack_id][1],
            )
        )
    return out


@router.get("", response_model=list[PackOut], tags=TAGS)
def list_packs(
    session: SessionDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=100)] = 14
) -> list[PackOut]:
    """The latest packs, newest day first."""
    if not packs.PACK_WRITE.allows(actor):
        raise Forbidden(f"role {actor.role.value!r} may not read content packs")
    return _outs(session, [p.id for p in packs.recent_packs(session, limit)])


@router.put("/{day}", response_model=PackOut, tags=TAGS)
def compose(session: SessionDep, actor: ActorDep, day: date, body: PackIn) -> PackOut:
    """Create or replace the (unpublished) pack of day from approved scripts (audited)."""
    items = [packs.PackItemIn(i.script_id, i.task_kind) for i in body.items]
    pack = packs.compose_pack(session, actor, day, body.title, body.note, items)
    out = _outs(session, [pack.id])[0]
    session.commit()
    return out


@router.post("/{pack_id}/publish", response_model=PublishOut, tags=TAGS)
def publish(session: SessionDep, actor: ActorDep, pack_id: int) -> PublishOut:
    """One task per active guide per item; re-running creates only the missing ones (audited)."""
    result = packs.publish_pack(session, actor, pack_id)
    session.commit()
    return PublishOut(**result.__dict__)
