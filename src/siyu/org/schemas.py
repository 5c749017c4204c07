"""Request and response shapes of the org API (units and staff)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from siyu.api.schemas import ApiModel, Name
from siyu.models import OrgUnitKind, StaffStatus


class UnitBrief(ApiModel):
    """A unit named in another resource."""

    id: int
    code: str
    name: str


class UnitOut(ApiModel):
    """An org unit as listed."""

    id: int
    code: str
    name: str
    kind: OrgUnitKind
    parent_id: int | None
    depth: int
    path: str = Field(description="materialised path of ids, e.g. /1/4/9/")
    city: str | None
    active: bool


class UnitCounts(BaseModel):
    """Head counts below a unit, within the caller's scope."""

    children: int
    descendants: int
    active_staff: int


class UnitDetail(UnitOut):
    """An org unit with its parent chain (root first) and direct children."""

    parents: list[UnitBrief] = Field(description="readable ancestors, root first")
    children: list[UnitBrief]
    counts: UnitCounts


class UnitCreate(BaseModel):
    """A new org unit; without parent_code it becomes a root (scope 'all' only)."""

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    name: Name
    kind: OrgUnitKind
    parent_code: str | None = Field(default=None, max_length=64)
    city: str | None = Field(default=None, max_length=64)


class StaffOut(BaseModel):
    """A staff member as listed; the phone is masked unless revealed."""

    id: int
    code: str
    name: str
    unit: UnitBrief
    status: StaffStatus
    roles: list[str]
    hired_on: date | None
    left_on: date | None


class StaffDetail(StaffOut):
    """A staff member with contact details."""

    wecom_userid: str | None
    phone: str | None = Field(description="masked (+86 138****1234) unless ?reveal=true by a role that may")
    created_at: datetime
