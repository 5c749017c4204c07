"""Shared shapes of the insights domain: the settings (versioned JSON), RFM segment codes, model parameters."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RfmScheme(StrEnum):
    """Which RFM scheme segments customers."""

    eight_class = "eight_class"  # R, F, M each high/low against a cut → 8 classes (重要价值 …)
    quintile = "quintile"  # 1–5 scores from quintiles, named segments


class RfmCut(StrEnum):
    """What high/low is measured against in the eight-class scheme."""

    mean = "mean"
    median = "median"
    fixed = "fixed"


# Eight-class codes in the order the console lists them; (R high, F high, M high) → code.
EIGHT_CLASS: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "important_value",  # 重要价值
    (True, False, True): "important_develop",  # 重要发展
    (False, True, True): "important_keep",  # 重要保持
    (False, False, True): "important_retain",  # 重要挽留
    (True, True, False): "general_value",  # 一般价值
    (True, False, False): "general_develop",  # 一般发展
    (False, True, False): "general_keep",  # 一般保持
    (False, False, False): "general_retain",  # 一般挽留
}
# Quintile scheme segment codes (named from R score and the mean of F and M scores; see rfm.py).
QUINTILE_SEGMENTS: tuple[str, ...] = (
    "champions",
    "loyal",
    "potential_loyal",
    "new_customers",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
)
HIGH_VALUE_SEGMENTS: frozenset[str] = frozenset({"important_value", "champions", "loyal"})


class RfmSettings(BaseModel):
    """How RFM is computed (the 口径 shown beside every RFM number)."""

    model_config = ConfigDict(extra="forbid")

    scheme: RfmScheme = RfmScheme.eight_class
    # F and M count counted orders paid in the last window_days days up to as_of; R is days since the last
    # counted order ever. Customers with no counted order in the window are not scored.
    window_days: int = Field(365, ge=7, le=3650)
    cut: RfmCut = RfmCut.mean
    fixed_recency_days: int | None = Field(None, ge=0)  # with cut=fixed: R high when recency ≤ this
    fixed_frequency: int | None = Field(None, ge=1)  # F high when frequency ≥ this
    fixed_monetary_fen: int | None = Field(None, ge=0)  # M high when monetary ≥ this
    # Per-customer snapshots kept for movement matrices: every day for this many days, then the first
    # computed day of each month.
    snapshot_daily_days: int = Field(35, ge=1, le=400)

    @model_validator(mode="after")
    def _fixed_needs_thresholds(self) -> RfmSettings:
        if self.cut is RfmCut.fixed and None in (
            self.fixed_recency_days,
            self.fixed_frequency,
            self.fixed_monetary_fen,
        ):
            raise ValueError("cut=fixed needs fixed_recency_days, fixed_frequency and fixed_monetary_fen")
        return self


class ModelSettings(BaseModel):
    """BG/NBD + Gamma-Gamma inputs: calibration history, horizons and CLV discounting."""

    model_config = ConfigDict(extra="forbid")

    history_days: int = Field(730, ge=90, le=3650)  # orders paid in this many days before as_of feed the fit
    horizon_days: int = Field(90, ge=7, le=730)  # expected purchases are for the next horizon_days
    clv_horizon_days: int = Field(365, ge=30, le=1825)
    annual_discount_rate: float = Field(0.10, ge=0.0, le=1.0)
    margin: float = Field(1.0, gt=0.0, le=1.0)  # CLV is spend × margin
    fit_pareto_nbd: bool = True


class ChurnSettings(BaseModel):
    """When a customer is warned, and how long a recall may take."""

    model_config = ConfigDict(extra="forbid")

    p_alive_below: float = Field(0.3, gt=0.0, lt=1.0)
    # Overdue: days since the last purchase exceed overdue_factor × own expected gap (repeat buyers only).
    overdue_factor: float = Field(1.5, ge=1.0, le=10.0)
    min_purchase_days: int = Field(2, ge=1)  # only customers with at least this many purchase days are warned
    recall_window_days: int = Field(30, ge=1, le=365)


class LifecycleRules(BaseModel):
    """Lifecycle stage rules, applied in order (first match wins), in brand-local days before as_of."""

    model_config = ConfigDict(extra="forbid")

    new_days: int = Field(30, ge=1)  # first seen within new_days and at most one purchase day → new
    active_days: int = Field(90, ge=1)  # last purchase within active_days → active
    sleeping_days: int = Field(180, ge=2)  # last purchase within sleeping_days → sleeping; beyond → lost
    recalled_days: int = Field(30, ge=1)  # bought within recalled_days after being sleeping/lost → recalled

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleRules:
        if not self.active_days < self.sleeping_days:
            raise ValueError("active_days must be less than sleeping_days")
        return self


class InsightSettings(BaseModel):
    """Every tunable rule of the insights refresh; stored as versioned JSON (insight_settings_versions)."""

    model_config = ConfigDict(extra="forbid")

    rfm: RfmSettings = RfmSettings()
    model: ModelSettings = ModelSettings()
    churn: ChurnSettings = ChurnSettings()
    lifecycle: LifecycleRules = LifecycleRules()


@dataclass(frozen=True, slots=True)
class BgNbdParams:
    """Fitted BG/NBD parameters (time unit: whatever the fit was given; Siyu uses days)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True, slots=True)
class ParetoNbdParams:
    """Fitted Pareto/NBD parameters."""

    r: float
    alpha: float
    s: float
    beta: float


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma spend parameters."""

    p: float
    q: float
    v: float
