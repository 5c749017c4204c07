"""Request and response shapes of the customers and tags API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, computed_field

from siyu.api.schemas import ApiModel, Id, Name, PaidMoney
from siyu.models import (
    AcquisitionSource,
    Channel,
    IdentityKind,
    LeaveReason,
    LifecycleStage,
    OrderChannel,
    OrderStatus,
    TagAppliedBy,
)

PHONE_DOC = "masked (+86 138****1234) unless ?reveal=true by a role that may reveal (audited)"


class TagBrief(BaseModel):
    """A tag as shown on a customer in lists."""

    id: int
    group: str
    name: str


class CustomerTagOut(TagBrief):
    """A tag on a customer, with who applied it and when."""

    group_id: int
    applied_by: TagAppliedBy
    applied_at: datetime


class CustomerOut(BaseModel):
    """A customer as listed."""

    id: int
    name: str | None
    gender: str | None
    city: str | None
    source: AcquisitionSource
    lifecycle_stage: LifecycleStage
    member_tier: str | None
    owner_staff_id: int | None
    home_store_id: int | None
    phone: str | None = Field(description=PHONE_DOC)
    first_seen_at: datetime
    tags: list[TagBrief]


class IdentityOut(ApiModel):
    """One identifier of the customer (phones masked like everywhere)."""

    id: int
    kind: IdentityKind
    value: str
    created_at: datetime


class MembershipOut(BaseModel):
    """A span during which the customer was reachable through a channel; left_at null = present."""

    id: int
    channel: Channel
    staff_id: int | None
    staff_name: str | None
    group_id: int | None
    group_name: str | None
    channel_code: str | None
    joined_at: datetime
    left_at: datetime | None
    leave_reason: LeaveReason | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def present(self) -> bool:
        """Whether the membership is still open."""
        return self.left_at is None


class OrderSummary(PaidMoney, ApiModel):
    """One of the customer's orders; money in fen plus a yuan string."""

    id: int
    source: str
    external_no: str
    channel: OrderChannel
    status: OrderStatus
    store_id: int | None
    staff_id: int | None
    paid_at: datetime


class OrderTotals(PaidMoney):
    """All of the customer's orders summed (net = amount − refunds)."""

    orders: int
    first_paid_at: datetime | None
    last_paid_at: datetime | None


class StaffRef(BaseModel):
    """A staff member named in another resource."""

    id: int
    name: str


class CustomerDetail(BaseModel):
    """Everything the API knows about one customer (画像)."""

    id: int
    name: str | None
    gender: str | None
    city: str | None
    source: AcquisitionSource
    source_detail: str | None
    source_channel_code: str | None
    lifecycle_stage: LifecycleStage
    member_tier: str | None
    points_balance: int
    marketing_opt_in: bool
    first_seen_at: datetime
    merged_into_id: int | None
    owner: StaffRef | None
    home_store_id: int | None
    phone: str | None = Field(description=PHONE_DOC)
    identities: list[IdentityOut]
    memberships: list[MembershipOut]
    tags: list[CustomerTagOut]
    recent_orders: list[OrderSummary]
    totals: OrderTotals


# --- tags ------------------------------------------------------------------------------------------


class TagOut(ApiModel):
    """A tag of the brand's vocabulary."""

    id: int
    group_id: int
    name: str
    created_at: datetime


class TagGroupOut(ApiModel):
    """A tag group with its tags; in an exclusive group a customer carries at most one tag."""

    id: int
    name: str
    exclusive: bool
    sort_order: int
    tags: list[TagOut]


class TagGroupCreate(BaseModel):
    """A new tag group."""

    name: Name
    exclusive: bool = False
    sort_order: int = Field(default=0, ge=-100_000, le=100_000)


class TagGroupUpdate(BaseModel):
    """Rename or reorder a tag group (exclusivity is fixed at creation)."""

    name: Name | None = None
    sort_order: int | None = Field(default=None, ge=-100_000, le=100_000)


class TagCreate(BaseModel):
    """A new tag in a group."""

    group_id: Id
    name: Name


class TagRename(BaseModel):
    """A tag's new name."""

    name: Name


class TagIds(BaseModel):
    """Tags to apply to one customer."""

    tag_ids: list[Id] = Field(min_length=1, max_length=100)


class CustomerIds(BaseModel):
    """Customers to apply a tag to or remove it from."""

    customer_ids: list[Id] = Field(min_length=1, max_length=1000)


class TagPair(BaseModel):
    """One tag on one customer."""

    customer_id: int
    tag_id: int


class TagChange(BaseModel):
    """What a tag write changed: re-applying or removing an absent tag is a no-op, listed as unchanged."""

    added: list[TagPair]
    removed: list[TagPair]
    unchanged: list[TagPair]
