"""Customer insights: refresh runs, per-customer scores, RFM snapshots, lifecycle history, churn warnings, segments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.types import BigId, UTCDateTime
from siyu.models.enums import LifecycleStage, enum_column


class InsightSettingsVersion(IdPk, Base):
    """One saved version of the insights settings (RFM scheme, model horizons, churn and lifecycle rules)."""

    __tablename__ = "insight_settings_versions"

    version: Mapped[int] = mapped_column(Integer, unique=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class InsightRun(IdPk, Base):
    """One insights refresh: the day it describes, the settings version used, fitted models, counts and timings."""

    __tablename__ = "insight_runs"
    __table_args__ = (Index("ix_insight_runs_as_of", "as_of"),)

    as_of: Mapped[date] = mapped_column(Date)  # the brand-local day the scores describe (its end is "now")
    status: Mapped[str] = mapped_column(String(16))  # running / done / failed
    settings_version: Mapped[int | None] = mapped_column(Integer)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the settings in force, copied
    # {"bgnbd": {"r":..,"alpha":..,"a":..,"b":..,"loglik":..,"n":..,"unique_rows":..,"converged":..},
    #  "pareto_nbd": {...}, "gamma_gamma": {"p":..,"q":..,"v":..,...}} — None for a model that was not fitted.
    models: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Counts for the console: {"customers":.., "buyers":.., "rfm": {segment: n}, "lifecycle": {stage: n},
    # "warnings_opened":.., "timings": {step: seconds}}
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustomerInsight(Base):
    """The latest scores of one customer (one row per scored customer, replaced by every refresh)."""

    __tablename__ = "customer_insights"
    __table_args__ = (
        # With customer_id: a segment's RFM test reads the ids index-only instead of visiting the heap.
        Index("ix_customer_insights_rfm_segment", "rfm_segment", "customer_id"),
        Index("ix_customer_insights_clv", "clv_fen"),
        Index("ix_customer_insights_p_alive", "p_alive"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("insight_runs.id"))
    computed_on: Mapped[date] = mapped_column(Date)
    # Purchase history (counted orders = not refunded in full; purchases are distinct brand-local days).
    purchase_days: Mapped[int] = mapped_column(Integer, default=0)
    first_order_on: Mapped[date | None] = mapped_column(Date)
    last_order_on: Mapped[date | None] = mapped_column(Date)
    # RFM over the settings' window: R = days from the last counted order to as_of, F = counted orders in the
    # window, M = net spend in the window (fen). Scores are 1..5 (quintile) or 0/1 low/high (eight-class).
    recency_days: Mapped[int | None] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer, default=0)
    monetary_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    r_score: Mapped[int | None] = mapped_column(Integer)
    f_score: Mapped[int | None] = mapped_column(Integer)
    m_score: Mapped[int | None] = mapped_column(Integer)
    rfm_segment: Mapped[str | None] = mapped_column(String(32))
    # BG/NBD + Gamma-Gamma (None for customers the models do not cover).
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_purchases: Mapped[float | None] = mapped_column(Float)  # in the next settings.horizon_days
    expected_value_fen: Mapped[int | None] = mapped_column(BigInteger)  # expected spend per purchase
    clv_fen: Mapped[int | None] = mapped_column(BigInteger)  # over settings.clv_horizon_days, discounted
    expected_gap_days: Mapped[float | None] = mapped_column(Float)  # own expected inter-purchase time
    overdue_days: Mapped[int | None] = mapped_column(Integer)  # days past the expected next purchase
    churn_risk: Mapped[bool] = mapped_column(Boolean, default=False)


class RfmSnapshot(Base):
    """A customer's RFM segment on a computed day (kept for movement matrices; pruned by the settings)."""

    __tablename__ = "rfm_snapshots"

    computed_on: Mapped[date] = mapped_column(Date, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), primary_key=True)
    rfm_segment: Mapped[str] = mapped_column(String(32))


class RfmSegmentSize(Base):
    """Customers and spend per RFM segment on a computed day (kept forever: the sizes-over-time chart)."""

    __tablename__ = "rfm_segment_sizes"

    computed_on: Mapped[date] = mapped_column(Date, primary_key=True)
    scheme: Mapped[str] = mapped_column(String(16), primary_key=True)
    rfm_segment: Mapped[str] = mapped_column(String(32), primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)
    monetary_fen: Mapped[int] = mapped_column(BigInteger)


class LifecycleChange(IdPk, Base):
    """A customer moving from one lifecycle stage to another on a day (the stage history)."""

    __tablename__ = "lifecycle_changes"
    __table_args__ = (
        Index("ix_lifecycle_changes_customer", "customer_id", "changed_on"),
        Index("ix_lifecycle_changes_day", "changed_on"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    from_stage: Mapped[LifecycleStage | None] = mapped_column(
        enum_column(LifecycleStage, 16, name="from_lifecyclestage")
    )
    to_stage: Mapped[LifecycleStage] = mapped_column(enum_column(LifecycleStage, 16))
    changed_on: Mapped[date] = mapped_column(Date)
    run_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("insight_runs.id"))


class ChurnWarning(IdPk, Base):
    """A churn warning for one customer, and whether they were recalled (bought again) within the window."""

    __tablename__ = "churn_warnings"
    __table_args__ = (
        Index("ix_churn_warnings_owner_day", "owner_staff_id", "warned_on"),
        Index("ix_churn_warnings_customer", "customer_id", "warned_on"),
        Index("ix_churn_warnings_status", "status"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    owner_staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"))
    home_store_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    warned_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(16))  # p_alive / overdue / both
    p_alive: Mapped[float | None] = mapped_column(Float)
    overdue_days: Mapped[int | None] = mapped_column(Integer)
    clv_fen: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # open / recalled / expired
    window_ends_on: Mapped[date] = mapped_column(Date)  # recall counts when an order is paid by this day
    recalled_order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    recalled_on: Mapped[date | None] = mapped_column(Date)
    run_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("insight_runs.id"))


class Segment(IdPk, TimestampMixin, Base):
    """A saved segment (人群包): a name and its current rule version."""

    __tablename__ = "segments"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    owner_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SegmentVersion(IdPk, Base):
    """One version of a segment's rule (JSON, never edited once written)."""

    __tablename__ = "segment_versions"
    __table_args__ = (Index("ux_segment_versions_segment_version", "segment_id", "version", unique=True),)

    segment_id: Mapped[int] = mapped_column(BigId, ForeignKey("segments.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class SegmentSize(Base):
    """A saved segment's brand-wide size on a brand-local day (the member history)."""

    __tablename__ = "segment_sizes"

    segment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    customers: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
