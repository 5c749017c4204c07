"""JSON routes for customers and tags under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from siyu.api.deps import ActorDep, SessionDep, WriterDep
from siyu.api.schemas import (
    DOCUMENT_BEARER,
    ERROR_RESPONSES,
    MAX_ID,
    CursorQuery,
    Id,
    IdPath,
    LimitQuery,
    Page,
    RevealQuery,
)
from siyu.customers import service, tags
from siyu.customers.schemas import (
    CustomerDetail,
    CustomerIds,
    CustomerOut,
    TagChange,
    TagCreate,
    TagGroupCreate,
    TagGroupOut,
    TagGroupUpdate,
    TagIds,
    TagOut,
    TagRename,
)
from siyu.models import AcquisitionSource, Channel, LifecycleStage

router = APIRouter(responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/customers", response_model=Page[CustomerOut], tags=["customers"])
def list_customers(
    session: SessionDep,
    actor: ActorDep,
    q: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
    phone: Annotated[str | None, Query(max_length=32, description="full number or last 4 digits")] = None,
    tag: Annotated[str | None, Query(max_length=140, description="tag id or 'group:name'")] = None,
    source: AcquisitionSource | None = None,
    channel: Annotated[Channel | None, Query(description="present (not left) in this channel")] = None,
    owner_staff_id: IdQuery = None,
    store_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="home store (org unit id)")] = None,
    lifecycle_stage: LifecycleStage | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
    reveal: RevealQuery = False,
) -> Page[CustomerOut]:
    """Customers the caller may see, in id order."""
    query = service.CustomerQuery(
        q=q,
        phone=phone,
        tag=tag,
        source=source,
        channel=channel,
        owner_staff_id=owner_staff_id,
        store_id=store_id,
        lifecycle_stage=lifecycle_stage,
    )
    page = service.list_customers(session, actor, query, cursor=cursor, limit=limit, reveal=reveal)
    session.commit()  # reveals wrote audit rows
    return page


@router.get("/customers/{customer_id}", response_model=CustomerDetail, tags=["customers"])
def get_customer(
    customer_id: IdPath, session: SessionDep, actor: ActorDep, reveal: RevealQuery = False
) -> CustomerDetail:
    """One customer's profile: identities, memberships, tags, recent orders and totals."""
    detail = service.customer_detail(session, actor, customer_id, reveal=reveal)
    session.commit()  # a reveal wrote an audit row
    return detail


@router.post("/customers/{customer_id}/tags", response_model=TagChange, tags=["customers", "tags"])
def tag_customer(customer_id: IdPath, data: TagIds, session: SessionDep, actor: WriterDep) -> TagChange:
    """Apply tags to a customer (idempotent)."""
    change = tags.tag_customer(session, actor, customer_id, data.tag_ids, remove=False)
    session.commit()
    return change


@router.delete("/customers/{customer_id}/tags", response_model=TagChange, tags=["customers", "tags"])
def untag_customer(
    customer_id: IdPath,
    session: SessionDep,
    actor: WriterDep,
    tag_id: Annotated[list[Id], Query(min_length=1, max_length=100, description="repeat for several")],
) -> TagChange:
    """Remove tags from a customer (idempotent)."""
    change = tags.tag_customer(session, actor, customer_id, tag_id, remove=True)
    session.commit()
    return change


# --- tag vocabulary ---------------------------------------------------------------------------------


@router.get("/tag-groups", response_model=list[TagGroupOut], tags=["tags"])
def list_tag_groups(session: SessionDep, actor: ActorDep) -> list[TagGroupOut]:
    """Every tag group with its tags."""
    return tags.list_groups(session)


@router.post("/tag-groups", response_model=TagGroupOut, status_code=201, tags=["tags"])
def create_tag_group(data: TagGroupCreate, session: SessionDep, actor: WriterDep) -> TagGroupOut:
    """Add a tag group (409 if the name is taken)."""
    group = tags.create_group(session, actor, data)
    session.commit()
    return tags.group_out(session, group)


@router.patch("/tag-groups/{group_id}", response_model=TagGroupOut, tags=["tags"])
def update_tag_group(
    group_id: IdPath, data: TagGroupUpdate, session: SessionDep, actor: WriterDep
) -> TagGroupOut:
    """Rename or reorder a tag group."""
    group = tags.update_group(session, actor, group_id, data)
    session.commit()
    return tags.group_out(session, group)


@router.delete("/tag-groups/{group_id}", status_code=204, tags=["tags"])
def delete_tag_group(group_id: IdPath, session: SessionDep, actor: WriterDep) -> Response:
    """Delete an empty tag group (409 while it holds tags)."""
    tags.delete_group(session, actor, group_id)
    session.commit()
    return Response(status_code=204)


@router.post("/tags", response_model=TagOut, status_code=201, tags=["tags"])
def create_tag(data: TagCreate, session: SessionDep, actor: WriterDep) -> TagOut:
    """Add a tag to a group (409 if the name is taken there)."""
    tag = tags.create_tag(session, actor, data)
    session.commit()
    return TagOut.model_validate(tag)


@router.patch("/tags/{tag_id}", response_model=TagOut, tags=["tags"])
def rename_tag(tag_id: IdPath, data: TagRename, session: SessionDep, actor: WriterDep) -> TagOut:
    """Rename a tag (409 if the name is taken in its group)."""
    tag = tags.rename_tag(session, actor, tag_id, data)
    session.commit()
    return TagOut.model_validate(tag)


@router.delete("/tags/{tag_id}", status_code=204, tags=["tags"])
def delete_tag(tag_id: IdPath, session: SessionDep, actor: WriterDep) -> Response:
    """Delete a tag and take it off every customer (data scope 'all' only)."""
    tags.delete_tag(session, actor, tag_id)
    session.commit()
    return Response(status_code=204)


@router.post("/tags/{tag_id}/apply", response_model=TagChange, tags=["tags"])
def apply_tag(tag_id: IdPath, data: CustomerIds, session: SessionDep, actor: WriterDep) -> TagChange:
    """Apply a tag to many customers at once; all must be in scope or nothing is written."""
    change = tags.tag_customers(session, actor, tag_id, data.customer_ids, remove=False)
    session.commit()
    return change


@router.post("/tags/{tag_id}/remove", response_model=TagChange, tags=["tags"])
def remove_tag(tag_id: IdPath, data: CustomerIds, session: SessionDep, actor: WriterDep) -> TagChange:
    """Remove a tag from many customers at once; all must be in scope or nothing is written."""
    change = tags.tag_customers(session, actor, tag_id, data.customer_ids, remove=True)
    session.commit()
    return change
