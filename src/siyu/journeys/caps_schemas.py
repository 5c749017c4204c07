"""Shapes of the frequency-cap settings (API and console)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Period = Literal["day", "week", "month"]


class CapIn(BaseModel):
    """A brand cap to add: at most max_touches marketing touches per customer per period (optionally one channel)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=200)
    period: Period
    max_touches: int = Field(ge=0, le=1000)
    channel: str | None = Field(default=None, max_length=32)


class PlatformIn(BaseModel):
    """The WeCom platform rule chosen in 群发助手 settings: month (days of the month), week (7) or day (1)."""

    model_config = ConfigDict(extra="forbid")

    period: Period


class CapOut(BaseModel):
    """A cap as configured, with its allowance in the current brand-local period."""

    id: int | None
    code: str
    name: str
    period: Period
    max_touches: int | None
    channel: str | None
    enabled: bool
    current_limit: int
    is_platform: bool
