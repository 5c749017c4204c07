"""Shapes of mass sends (群发): the create form/API body, the audience preview and the result counts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

AudienceKind = Literal["segment", "groups", "customers"]
RESULT_STATUSES = ("queued", "sent", "confirmed", "capped", "opted_out", "failed")


class MassSendCreate(BaseModel):
    """A mass send to create: a script, an audience, optionally an experiment, a time (None = now)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    script_id: int = Field(ge=1)
    channel: str = Field(default="staff_task", max_length=32)
    audience_kind: AudienceKind
    segment_id: int | None = Field(default=None, ge=1)
    group_ids: list[int] = Field(default_factory=list, max_length=5000)
    customer_ids: list[int] = Field(default_factory=list, max_length=100_000)
    experiment_id: int | None = Field(default=None, ge=1)
    scheduled_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _audience(self) -> MassSendCreate:
        if self.audience_kind == "segment" and self.segment_id is None:
            raise ValueError("audience segment needs segment_id")
        if self.audience_kind == "groups" and not self.group_ids:
            raise ValueError("audience groups needs at least one group id")
        if self.audience_kind == "customers" and not self.customer_ids:
            raise ValueError("audience customers needs at least one customer id")
        if self.experiment_id is not None and self.audience_kind == "groups":
            raise ValueError("an experiment needs customers: group audiences cannot be split into arms")
        return self


class PreviewRow(BaseModel):
    """One recipient of the sample and what would happen to them."""

    kind: Literal["customer", "group"]
    id: int
    name: str
    status: str  # queued (would be sent), opted_out, capped, failed
    reason: str | None


class MassPreview(BaseModel):
    """The audience after consent and caps, as of now."""

    audience: int  # customers (readable, in the creator's scope) + groups
    opted_out: int  # customers without marketing consent
    capped: int  # customers over a frequency cap at this moment
    failed: int  # e.g. the script is not approved
    would_send: int  # audience - opted_out - capped - failed
    sample: list[PreviewRow]


class ResultCounts(BaseModel):
    """The send's outbound rows by status (counted live from outbound_messages)."""

    queued: int = 0
    sent: int = 0
    confirmed: int = 0
    capped: int = 0
    opted_out: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        """Every outbound row of the send."""
        return self.queued + self.sent + self.confirmed + self.capped + self.opted_out + self.failed


class MassSendOut(BaseModel):
    """A mass send with its live result counts."""

    id: int
    name: str
    script_id: int
    channel: str
    audience_kind: AudienceKind
    segment_id: int | None
    group_ids: list[int] | None
    customer_ids_count: int
    experiment_id: int | None
    status: str
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    audience_count: int
    attempts: int = 0
    last_error: str | None = None
    retry_at: datetime | None = None
    results: ResultCounts
