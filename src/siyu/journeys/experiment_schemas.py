"""Shapes of experiments: the create form/API body, the list rows and the report."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from siyu.models import ExperimentMetric, ExperimentStatus

SourceType = Literal["journey_step", "mass_send"]


class ArmIn(BaseModel):
    """One arm to create: a label (A, B…), an approved script and a relative weight."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    script_id: int = Field(gt=0)
    weight: int = Field(default=1, ge=1, le=100)


class ExperimentCreate(BaseModel):
    """A new experiment; the first arm is the control. min_sample_per_arm is computed from these."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    source_type: SourceType = "journey_step"
    source_ref: str | None = Field(default=None, max_length=120)
    metric: ExperimentMetric = ExperimentMetric.reply
    horizon_hours: int = Field(default=72, ge=1, le=24 * 60)
    alpha: float = Field(default=0.05, gt=0.0, le=0.2)
    power: float = Field(default=0.8, ge=0.5, lt=1.0)
    baseline_rate: float = Field(gt=0.0, lt=1.0, description="the control's expected rate (reply or order)")
    mde: float = Field(gt=0.0, lt=1.0, description="smallest absolute lift worth detecting, e.g. 0.05")
    arms: list[ArmIn] = Field(min_length=2, max_length=6)

    @model_validator(mode="after")
    def _labels(self) -> ExperimentCreate:
        labels = [a.label for a in self.arms]
        if len(set(labels)) != len(labels):
            raise ValueError(f"arm labels must be unique, got {labels}")
        if self.baseline_rate + self.mde >= 1.0:
            raise ValueError("baseline_rate + mde must stay below 1")
        return self


class ArmOut(BaseModel):
    """An arm as stored."""

    id: int
    label: str
    script_id: int
    script_title: str | None = None
    weight: int


class ExperimentOut(BaseModel):
    """An experiment as stored, with its arms and how many customers are assigned."""

    id: int
    name: str
    source_type: str
    source_ref: str | None
    metric: ExperimentMetric
    horizon_hours: int
    alpha: float
    power: float
    baseline_rate: float
    min_detectable_effect: float
    min_sample_per_arm: int
    status: ExperimentStatus
    started_at: datetime | None
    stopped_at: datetime | None
    assigned: int = 0
    arms: list[ArmOut] = []


class Interval(BaseModel):
    """An estimate with its interval (None when undefined, e.g. no recipients yet)."""

    value: float | None
    low: float | None
    high: float | None


class ArmReport(BaseModel):
    """One arm's figures; rates are over mature recipients (those whose horizon has passed)."""

    arm_id: int
    label: str
    script_id: int
    script_title: str | None
    is_control: bool
    assigned: int  # customers given this arm (assignment rows) within the viewer's scope
    recipients: int  # readable assigned customers touched with this arm
    mature: int  # recipients whose touch + horizon is past
    replied: int  # mature recipients who replied within the horizon
    ordered: int  # mature recipients with a counted order within the horizon
    successes: int  # replied or ordered, by the experiment's metric
    rate: Interval  # successes / mature, Wilson interval
    diff: Interval | None  # rate - control rate, Newcombe interval (treatment arms)
    p_value: float | None  # pooled z-test vs control, two-sided, unadjusted, descriptive
    gmv_fen: int  # net GMV of counted orders within the horizon, mature recipients
    gmv_per_recipient: Interval  # fen per mature recipient, t interval
    gmv_diff: Interval | None  # vs control, Welch t interval
    planned: int  # mature recipients within the planned sample (first min_sample_per_arm by touch time)
    progress: float  # planned / min_sample_per_arm, 0..1


class ExperimentReport(BaseModel):
    """The whole report: the experiment, every arm and the verdict."""

    experiment: ExperimentOut
    as_of: datetime
    scoped: bool  # counted within the viewer's data scope only
    arms: list[ArmReport]
    verdict: Literal["collecting", "significant", "not_significant"]
    verdict_metric: Literal["reply", "order"]
    # On the planned sample only, once complete: per treatment arm, successes, rates, z, Holm-adjusted p.
    planned_results: list[dict[str, float | int | str]] = []
