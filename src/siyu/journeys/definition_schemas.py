"""API and console shapes of journey definitions: create, new version, status, copy, list and detail."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.journeys import JourneyStatus

CODE_PATTERN = r"^[a-z0-9][a-z0-9_\-]{1,63}$"


class Problem(BaseModel):
    """One problem with a definition: where (a path like steps[2].actions[0].script_id) and why."""

    where: str
    why: str
    blocks: Literal["save", "activate"] = "save"


class JourneyCreate(BaseModel):
    """A new journey: code, name and its first definition."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    definition: dict[str, Any]
    note: str | None = Field(default=None, max_length=500)


class JourneyVersionCreate(BaseModel):
    """A new version of a journey's definition (versions are never edited)."""

    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any]
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, max_length=500)


class StatusChange(BaseModel):
    """Move a journey to another status."""

    model_config = ConfigDict(extra="forbid")

    status: JourneyStatus


class ManualEnrol(BaseModel):
    """Enrol customers by hand (any trigger kind); entry_key defaults to manual:<date>."""

    model_config = ConfigDict(extra="forbid")

    customer_ids: list[int] = Field(min_length=1, max_length=10000)
    entry_key: str | None = Field(default=None, max_length=100)


class TemplateCopy(BaseModel):
    """Copy an article template into a new draft journey; scripts maps a template's script ref → script id."""

    model_config = ConfigDict(extra="forbid")

    template_code: str
    code: str = Field(pattern=CODE_PATTERN)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    scripts: dict[str, int] = Field(default_factory=dict)


class EnrolmentCounts(BaseModel):
    """Enrolments of a journey by status; enrolled = all of them (every version)."""

    enrolled: int = 0
    active: int = 0
    completed: int = 0
    exited: int = 0


class JourneyOut(BaseModel):
    """A journey in a list."""

    id: int
    code: str
    name: str
    description: str | None
    status: JourneyStatus
    current_version: int
    template_code: str | None
    trigger_kind: str
    steps: int
    counts: EnrolmentCounts


class VersionOut(BaseModel):
    """One stored version of a definition."""

    version: int
    created_at: datetime
    note: str | None
    definition: dict[str, Any]


class StepFunnel(BaseModel):
    """Step runs of one step (version, step_index): scheduled = rows; due = due_at ≤ now; by status."""

    version: int
    step_index: int
    key: str
    name: str
    scheduled: int = 0
    due: int = 0
    pending: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0


class RecentEnrolment(BaseModel):
    """One recent enrolment (the customer's name masked as on the customer pages)."""

    id: int
    customer_id: int
    customer: str
    version: int
    status: str
    entry_key: str
    entered_at: datetime
    exited_at: datetime | None
    exit_reason: str | None
    steps_done: int


class JourneyDetail(BaseModel):
    """A journey with its versions, enrolment counts, per-step funnel and recent enrolments."""

    journey: JourneyOut
    definition: dict[str, Any]
    versions: list[VersionOut]
    funnel: list[StepFunnel]
    recent: list[RecentEnrolment]
    exit_reasons: dict[str, int]
    problems: list[Problem]
    as_of: datetime


class EnrolResult(BaseModel):
    """What a manual enrolment did (the engine's counts)."""

    counts: dict[str, int]


class JourneySaved(BaseModel):
    """A created/changed journey, what still blocks activation, and (template copies) the scripts to pick."""

    journey: JourneyOut
    problems: list[Problem] = Field(default_factory=list)
    missing_scripts: list[str] = Field(default_factory=list)


class TemplateScriptOut(BaseModel):
    """A script a template wants, and the library script it would use now (None: none found)."""

    ref: str
    title: str
    category: str
    scenario: str
    suggested_script_id: int | None


class TemplateOut(BaseModel):
    """An article template."""

    code: str
    name: str
    description: str
    note: str
    definition: dict[str, Any]
    scripts: list[TemplateScriptOut]


class JourneyStats(BaseModel):
    """Enrolment counts, exit reasons and the per-step funnel of a journey."""

    counts: EnrolmentCounts
    exit_reasons: dict[str, int]
    funnel: list[StepFunnel]
    as_of: datetime
