"""JSON routes for segments under /api/v1/segments: list, create, get, update, archive, preview, members, export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from siyu.api.deps import ActorDep, SessionDep, WriterDep
from siyu.api.pagination import after_id, encode_cursor
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, CursorQuery, IdPath, LimitQuery, Page
from siyu.segments import service
from siyu.segments.export import write_export
from siyu.segments.schemas import (
    Preview,
    RuleIn,
    SampleCustomer,
    SegmentCreate,
    SegmentDetail,
    SegmentOut,
    SegmentUpdate,
)

router = APIRouter(
    prefix="/segments", tags=["segments"], responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER
)
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("", response_model=list[SegmentOut])
def list_segments(
    session: SessionDep,
    actor: ActorDep,
    archived: Annotated[bool, Query(description="include archived")] = False,
) -> list[SegmentOut]:
    """Saved segments with their current rule and latest recorded brand-wide size."""
    return service.list_segments(session, archived=archived)


@router.post("", response_model=SegmentDetail, status_code=201)
def create_segment(data: SegmentCreate, session: SessionDep, actor: WriterDep) -> SegmentDetail:
    """Save a segment (rule version 1); a bad rule answers 422 with the path of the bad node."""
    segment = service.create_segment(session, actor, data)
    session.commit()
    return service.segment_detail(session, segment.id)


@router.post("/preview", response_model=Preview)
def preview(data: RuleIn, session: SessionDep, actor: ActorDep) -> Preview:
    """Count a rule in the caller's scope and show the first customers (phones masked)."""
    return service.preview(session, actor, data.rule)


@router.get("/{segment_id}", response_model=SegmentDetail)
def get_segment(segment_id: IdPath, session: SessionDep, actor: ActorDep) -> SegmentDetail:
    """A segment with its versions and recorded sizes."""
    return service.segment_detail(session, segment_id)


@router.patch("/{segment_id}", response_model=SegmentDetail)
def update_segment(
    segment_id: IdPath, data: SegmentUpdate, session: SessionDep, actor: WriterDep
) -> SegmentDetail:
    """Rename or re-describe a segment; a changed rule becomes a new version."""
    service.update_segment(session, actor, segment_id, data)
    session.commit()
    return service.segment_detail(session, segment_id)


@router.post("/{segment_id}/archive", response_model=SegmentDetail)
def archive_segment(segment_id: IdPath, session: SessionDep, actor: WriterDep) -> SegmentDetail:
    """Archive a segment (it stops getting daily sizes)."""
    service.archive_segment(session, actor, segment_id)
    session.commit()
    return service.segment_detail(session, segment_id)


@router.get("/{segment_id}/members", response_model=Page[SampleCustomer])
def members(
    segment_id: IdPath,
    session: SessionDep,
    actor: ActorDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[SampleCustomer]:
    """The segment's members the caller may read, by id (phones masked)."""
    rows, next_after = service.members(session, actor, segment_id, after_id=after_id(cursor), limit=limit)
    return Page(items=rows, next_cursor=encode_cursor([next_after]) if next_after is not None else None)


@router.get("/{segment_id}/export")
def export(
    segment_id: IdPath, session: SessionDep, actor: ActorDep, fmt: Annotated[str, Query(max_length=8)] = "csv"
) -> StreamingResponse:
    """The members as CSV or XLSX, scope-limited, phones masked unless the role may reveal; audited."""
    out, _count, _name = write_export(session, actor, segment_id, fmt)
    session.commit()

    def chunks() -> Any:
        try:
            while block := out.read(64 * 1024):
                yield block
        finally:
            out.close()

    headers = {
        "Content-Disposition": f'attachment; filename="segment-{segment_id}.{fmt}"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(chunks(), media_type=MEDIA[fmt], headers=headers)
