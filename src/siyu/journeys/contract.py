"""The shapes the journey sub-domains exchange: the journey definition, touch requests, send results."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TriggerKind = Literal[
    "joined_channel",  # a joined_channel event (optionally one channel)
    "joined_group",  # joined a group chat (optionally one group)
    "channel_code",  # added through a channel code (customers.source_channel_code / event data state)
    "tag_added",  # a tagged event for tag_id
    "entered_segment",  # newly a member of segment_id since the last scan
    "first_order",  # the customer's first counted order
    "no_order_days",  # last order exactly `days` days ago (or never, `days` after first seen)
    "birthday",  # customers.birthday falls today (brand-local)
    "churn_warning",  # a new churn warning for the customer
    "manual",  # enrolled by hand / API only
]
ConditionKind = Literal[
    "in_segment", "not_in_segment", "has_tag", "not_has_tag", "ordered_since_entry", "no_order_since_entry"
]
ActionKind = Literal["send_script", "create_task", "add_tag", "remove_tag", "notify_manager", "enrol_journey"]
ExitKind = Literal["bought", "left_channel", "opted_out", "tag_added"]
ReentryPolicy = Literal["never", "after_exit", "always"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _hhmm(value: str | None, where: str) -> str | None:
    if value is not None and not _HHMM.match(value):
        raise ValueError(f"{where} must be a time of day HH:MM, got {value!r}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Trigger(_Strict):
    """What enrols a customer."""

    kind: TriggerKind
    channel: str | None = None  # joined_channel: a siyu.models.enums.Channel value, or None for any
    group_id: int | None = None  # joined_group
    channel_code: str | None = None  # channel_code: the code's state string
    tag_id: int | None = None  # tag_added
    segment_id: int | None = None  # entered_segment
    days: int | None = Field(default=None, ge=1, le=3650)  # no_order_days

    @model_validator(mode="after")
    def _needs(self) -> Trigger:
        needed = {"tag_added": "tag_id", "entered_segment": "segment_id", "no_order_days": "days"}.get(
            self.kind
        )
        if needed and getattr(self, needed) is None:
            raise ValueError(f"trigger {self.kind} needs {needed}")
        return self


class Delay(_Strict):
    """When a step is due, measured from the moment of entry (not from the previous step)."""

    days: int = Field(default=0, ge=0, le=3650)
    hours: int = Field(default=0, ge=0, le=23 * 3650)
    minutes: int = Field(default=0, ge=0, le=59 * 3650)
    # Optional brand-local time of day on the day reached by `days` (hours/minutes are then ignored);
    # if that moment is already before entry (day 0), the step is due the next day at that time.
    at_local_time: str | None = None

    @field_validator("at_local_time")
    @classmethod
    def _time(cls, v: str | None) -> str | None:
        return _hhmm(v, "at_local_time")


class Condition(_Strict):
    """A check made when the step falls due; all of a step's conditions must hold or the step is skipped."""

    kind: ConditionKind
    segment_id: int | None = None
    tag_id: int | None = None

    @model_validator(mode="after")
    def _needs(self) -> Condition:
        if self.kind in ("in_segment", "not_in_segment") and self.segment_id is None:
            raise ValueError(f"condition {self.kind} needs segment_id")
        if self.kind in ("has_tag", "not_has_tag") and self.tag_id is None:
            raise ValueError(f"condition {self.kind} needs tag_id")
        return self


class Action(_Strict):
    """What a due step does."""

    kind: ActionKind
    script_id: int | None = None  # send_script (and the text of create_task, if given)
    channel: str = "staff_task"  # send_script: the adapter name
    experiment_id: int | None = None  # send_script: the arms replace script_id, assignment is sticky
    task_kind: str = "journey_step"  # create_task
    title: str | None = Field(default=None, max_length=200)  # create_task / notify_manager
    tag_id: int | None = None  # add_tag / remove_tag
    journey_code: str | None = None  # enrol_journey
    due_hours: int = Field(default=24, ge=1, le=24 * 30)  # create_task: hours the staff has to do it

    @model_validator(mode="after")
    def _needs(self) -> Action:
        needed = {
            "send_script": ("script_id", "experiment_id"),
            "add_tag": ("tag_id",),
            "remove_tag": ("tag_id",),
            "enrol_journey": ("journey_code",),
        }.get(self.kind)
        if needed and all(getattr(self, n) is None for n in needed):
            raise ValueError(f"action {self.kind} needs {' or '.join(needed)}")
        return self


class Step(_Strict):
    """One step: a stable key, when it is due, its conditions and its actions."""

    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=100)
    delay: Delay = Delay()
    conditions: tuple[Condition, ...] = ()
    actions: tuple[Action, ...] = Field(min_length=1, max_length=10)


class ExitRule(_Strict):
    """Ends an enrolment early."""

    kind: ExitKind
    tag_id: int | None = None  # tag_added

    @model_validator(mode="after")
    def _needs(self) -> ExitRule:
        if self.kind == "tag_added" and self.tag_id is None:
            raise ValueError("exit rule tag_added needs tag_id")
        return self


class QuietHours(_Strict):
    """Brand-local hours in which nothing is sent; a step due inside them waits until `end`."""

    start: str = "22:00"
    end: str = "08:00"

    @field_validator("start", "end")
    @classmethod
    def _time(cls, v: str) -> str:
        return _hhmm(v, "quiet hours") or v

    def bounds(self) -> tuple[time, time]:
        """(start, end) as times."""
        return time.fromisoformat(self.start), time.fromisoformat(self.end)


class JourneyDefinition(_Strict):
    """A journey version's definition, stored as JSON in journey_versions.definition."""

    trigger: Trigger
    steps: tuple[Step, ...] = Field(min_length=1, max_length=50)
    exit_rules: tuple[ExitRule, ...] = ()
    quiet_hours: QuietHours | None = QuietHours()
    reentry: ReentryPolicy = "after_exit"
    marketing: bool = True  # touches count against caps and need marketing consent

    @model_validator(mode="after")
    def _unique_keys(self) -> JourneyDefinition:
        seen: set[str] = set()
        for i, step in enumerate(self.steps):
            if step.key in seen:
                raise ValueError(f"steps[{i}].key {step.key!r} is used twice")
            seen.add(step.key)
        return self


# ---- the send side: what the engine, mass sends and the content pack hand to journeys.sending ----

SourceType = Literal["journey_step", "mass_send", "content_pack", "manual"]


@dataclass(frozen=True, slots=True)
class TouchRequest:
    """One wished-for touch; journeys.sending.queue_touches applies consent and caps, then the adapter."""

    idempotency_key: str
    source_type: SourceType
    source_id: int | None
    channel: str  # adapter name
    script_id: int
    customer_id: int | None = None
    group_id: int | None = None
    staff_id: int | None = None  # who sends; None → the customer's owner / the group's owner
    experiment_arm_id: int | None = None
    is_marketing: bool = True
    extra_values: dict[str, str] = field(default_factory=dict)  # e.g. {"coupon": "…"}


@dataclass(frozen=True, slots=True)
class TouchOutcome:
    """What happened to one request: the outbound row (if any) and its status/reason."""

    idempotency_key: str
    outbound_id: int | None
    status: str  # a SendStatus value, or "duplicate" when the key was already used
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SendSummary:
    """Counts of one queue_touches call (by status), for progress bars and mass-send results."""

    outcomes: tuple[TouchOutcome, ...]
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class EnrolRequest:
    """One customer to enrol: the entry key makes a repeated trigger harmless."""

    customer_id: int
    entry_key: str
    entered_at: datetime
    staff_id: int | None = None
    data: dict[str, Any] | None = None
