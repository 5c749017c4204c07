"""Read shapes of the insights console and API: runs, RFM tables, movement, scores, warnings, recall."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from siyu.api.schemas import ApiModel


class RunOut(ApiModel):
    """One insights refresh as the console shows it."""

    id: int
    as_of: date
    status: str
    settings_version: int | None
    started_at: datetime
    finished_at: datetime | None
    message: str | None
    models: dict[str, Any] | None = None
    figures: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None


class RfmDefinition(BaseModel):
    """The 口径 of the RFM figures: scheme, window, what high/low is cut against, and the cut values."""

    scheme: str
    window_days: int
    cut: str
    cuts: dict[str, Any] = Field(
        default_factory=dict, description="cut values from the run (R days, F, M fen)"
    )


class RfmSegmentRow(BaseModel):
    """Scored customers of one RFM segment within the viewer's scope."""

    segment: str
    customers: int
    share: float | None = Field(description="customers ÷ scored customers in scope")
    monetary_fen: int = Field(description="net spend in the window, summed over the segment")
    avg_recency_days: float | None
    avg_frequency: float | None


class RfmOut(BaseModel):
    """The RFM segment table of the latest run for the viewer's scope."""

    run_id: int | None
    computed_on: date | None
    definition: RfmDefinition | None
    scored: int
    segments: list[RfmSegmentRow]


class SizeSeries(BaseModel):
    """Segment sizes on each computed day; brand_wide tells whether the viewer's scope was applied."""

    days: list[date]
    series: dict[str, list[int]]
    brand_wide: bool


class MovementCell(BaseModel):
    """Customers in segment from_segment on the first day and to_segment on the second (None: not scored)."""

    from_segment: str | None
    to_segment: str | None
    customers: int


class MovementOut(BaseModel):
    """The RFM movement matrix between two computed days, scoped."""

    from_day: date
    to_day: date
    segments: list[str | None]
    cells: list[MovementCell]
    row_totals: dict[str, int] = Field(description="keyed by segment code, '' for not scored")


class CustomerInsightOut(ApiModel):
    """One customer's latest scores."""

    customer_id: int
    run_id: int
    computed_on: date
    purchase_days: int
    first_order_on: date | None
    last_order_on: date | None
    recency_days: int | None
    frequency: int
    monetary_fen: int
    r_score: int | None
    f_score: int | None
    m_score: int | None
    rfm_segment: str | None
    p_alive: float | None
    expected_purchases: float | None
    expected_value_fen: int | None
    clv_fen: int | None
    expected_gap_days: float | None
    overdue_days: int | None
    churn_risk: bool


class LifecycleStepOut(ApiModel):
    """One lifecycle stage change."""

    from_stage: str | None
    to_stage: str
    changed_on: date


class WarningOut(BaseModel):
    """One churn warning with the customer's (masked) name and owner."""

    id: int
    customer_id: int
    customer_name: str | None
    owner_staff_id: int | None
    owner_name: str | None
    warned_on: date
    reason: str
    p_alive: float | None
    overdue_days: int | None
    clv_fen: int | None
    status: str
    window_ends_on: date
    recalled_on: date | None


class CustomerCardOut(BaseModel):
    """Insights of one customer: scores, lifecycle history and the open warning."""

    customer_id: int
    lifecycle_stage: str
    scores: CustomerInsightOut | None
    lifecycle: list[LifecycleStepOut]
    open_warning: WarningOut | None


class OwnerWarnings(BaseModel):
    """Warnings of one owner (None: customers without an owner) on the day and still open."""

    owner_staff_id: int | None
    owner_name: str | None
    warned_today: int
    open: int


class RecallWindow(BaseModel):
    """Warnings issued in the last `days` days and how many were recalled."""

    days: int
    warned: int
    recalled: int
    open: int
    expired: int
    rate: float | None = Field(description="recalled ÷ warned")


class WarningsOut(BaseModel):
    """A page of churn warnings with the owner summary and recall tracking."""

    day: date
    items: list[WarningOut]
    total: int
    owners: list[OwnerWarnings]
    recall: list[RecallWindow]


class DecileRow(BaseModel):
    """One tenth of the scored customers by CLV (10 = highest)."""

    decile: int
    customers: int
    min_fen: int
    max_fen: int
    total_fen: int


class CalibrationRow(BaseModel):
    """Customers with x repeat purchases: observed and as the BG/NBD expects ('x+' on the last row)."""

    repeat: int
    observed: int
    expected: float


class SettingsOut(BaseModel):
    """The insights settings in force and their version (None: defaults never saved)."""

    version: int | None
    settings: dict[str, Any]


class SettingsIn(BaseModel):
    """A new settings document and a note for the version history."""

    settings: dict[str, Any]
    note: str | None = Field(None, max_length=500)
