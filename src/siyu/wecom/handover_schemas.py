"""Request/response models of the handover API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from siyu.models.wecom import TransferKind


class HandoverIn(BaseModel):
    """Hand these customers of one member over to another."""

    kind: TransferKind = TransferKind.onjob
    handover_staff_id: int
    takeover_staff_id: int
    customer_ids: list[int] = Field(min_length=1, max_length=10_000)
    message: str | None = Field(
        default=None, max_length=200, description="On-job only: shown to the customer"
    )


class CandidateOut(BaseModel):
    """A customer the handover member follows, and whether WeCom would accept another transfer."""

    customer_id: int
    name: str | None
    external_userid: str
    joined_at: datetime
    recent_transfers: int
    blocked_reason: str | None


class BatchOut(BaseModel):
    """A handover batch with counts by status and handover quality (kept after `days`)."""

    id: int
    kind: str
    created_at: datetime
    handover_staff: str
    takeover_staff: str
    message: str | None
    counts: dict[str, int]
    total: int
    matured: int
    kept: int
    kept_rate: float | None
    days: int


class TransferOut(BaseModel):
    """One customer of a batch."""

    customer_id: int
    customer_name: str | None
    status: str
    errcode: int | None
    reason: str | None
    requested_at: datetime
    takeover_at: datetime | None


class BatchDetailOut(BatchOut):
    """A batch and its customers."""

    transfers: list[TransferOut]


class PollOut(BaseModel):
    """What one poll of transfer_result changed."""

    batches: int
    api_calls: int
    by_status: dict[str, int]
    moved: int
