"""Brand stage history, versioned KPI sets by role × stage, and targets with tiers."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.types import BigId
from siyu.models.enums import enum_column


class BrandStage(StrEnum):
    """The private-domain operation's stage (the articles' 启动期 / 中期 / 稳定期)."""

    launch = "launch"
    growth = "growth"
    steady = "steady"


class TargetSubject(StrEnum):
    """Whom a target is set for."""

    staff = "staff"
    unit = "unit"


class PaceCurve(StrEnum):
    """How the expected value grows through a period."""

    linear = "linear"
    seasonal = "seasonal"


class BrandStageChange(IdPk, TimestampMixin, Base):
    """One entry of the stage history: the stage in force from effective_from until the next entry."""

    __tablename__ = "brand_stage_changes"
    __table_args__ = (UniqueConstraint("effective_from"),)

    stage: Mapped[BrandStage] = mapped_column(enum_column(BrandStage, 16))
    effective_from: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    set_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class KpiSet(IdPk, TimestampMixin, Base):
    """One version of the KPI set of a role in a stage; never edited once written (a new version replaces it)."""

    __tablename__ = "kpi_sets"
    __table_args__ = (
        UniqueConstraint("role_code", "stage", "version"),
        Index("ix_kpi_sets_role_stage_from", "role_code", "stage", "effective_from"),
    )

    role_code: Mapped[str] = mapped_column(String(48))
    stage: Mapped[BrandStage] = mapped_column(enum_column(BrandStage, 16))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))

    items: Mapped[list[KpiSetItem]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="KpiSetItem.position"
    )


class KpiSetItem(Base):
    """A weighted metric of a KPI set version (the weights of a version sum to 100)."""

    __tablename__ = "kpi_set_items"

    kpi_set_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("kpi_sets.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric_code: Mapped[str] = mapped_column(String(64))
    weight: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


class Target(IdPk, TimestampMixin, Base):
    """A target for one subject, metric and period, with its tier threshold, incentive note and pace curve."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("subject_kind", "subject_id", "metric_code", "first_day", "last_day"),
        Index("ix_targets_period", "first_day", "last_day"),
        Index("ix_targets_unit_id", "unit_id"),
    )

    subject_kind: Mapped[TargetSubject] = mapped_column(enum_column(TargetSubject, 8))
    subject_id: Mapped[int] = mapped_column(BigId)
    # The subject's unit (the staff member's unit when the target was set): the scope filter reads it.
    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"))
    metric_code: Mapped[str] = mapped_column(String(64))
    period_kind: Mapped[str] = mapped_column(String(16))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    # Same unit as the catalog value: fen for money, 0..1 for ratios, seconds for durations.
    target_value: Mapped[float] = mapped_column(Numeric(18, 4, asdecimal=False))
    exceed_percent: Mapped[int] = mapped_column(Integer, default=120)
    incentive_note: Mapped[str | None] = mapped_column(Text)
    new_business: Mapped[bool] = mapped_column(Boolean, default=False)
    pace_curve: Mapped[PaceCurve] = mapped_column(enum_column(PaceCurve, 16), default=PaceCurve.linear)
    day_weights: Mapped[list[Any] | None] = mapped_column(JSON)  # seasonal: one weight per day of the period
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
