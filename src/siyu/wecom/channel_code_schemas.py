"""Channel codes (渠道活码): input and output shapes shared by the API, the console form and the CLI."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

CODE_PATTERN = r"^[A-Za-z0-9_\-]{1,30}$"  # WeCom's state: at most 30 characters


class ChannelCodeIn(BaseModel):
    """A new channel code; `code` becomes the contact way's state and cannot change later."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    source_detail: str | None = Field(default=None, max_length=200)
    ad_campaign: str | None = Field(default=None, max_length=100)
    store_id: int | None = None
    staff_ids: list[int] = Field(min_length=1, max_length=100)
    tag_ids: list[int] = Field(default_factory=list, max_length=100)
    welcome_script_id: int | None = None
    journey_id: int | None = None
    skip_verify: bool = True


class ChannelCodeUpdate(BaseModel):
    """Changes to a code; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=100)
    source_detail: str | None = Field(default=None, max_length=200)
    ad_campaign: str | None = Field(default=None, max_length=100)
    store_id: int | None = None
    staff_ids: list[int] | None = Field(default=None, min_length=1, max_length=100)
    tag_ids: list[int] | None = Field(default=None, max_length=100)
    welcome_script_id: int | None = None
    journey_id: int | None = None
    skip_verify: bool | None = None


class ChannelCodeOut(BaseModel):
    """A code with its WeCom link and its funnel: adds, still following, ordered since adding."""

    id: int
    code: str
    name: str
    source_detail: str | None
    ad_campaign: str | None
    store_id: int | None
    staff_ids: list[int]
    tag_ids: list[int]
    welcome_script_id: int | None
    journey_id: int | None
    skip_verify: bool
    active: bool
    config_id: str | None
    qr_code: str | None
    created_at: datetime
    adds: int = 0
    following: int = 0
    ordered: int = 0
