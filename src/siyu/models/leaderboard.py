"""Leaderboard counters: one additive figure per local day, staff member and metric, kept from the event log."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base
from siyu.db.types import BigId, UTCDateTime


class LeaderboardCounter(Base):
    """The sum of one additive metric for one staff member on one brand-local day (the per-day history)."""

    __tablename__ = "leaderboard_counters"
    __table_args__ = (Index("ix_leaderboard_counters_metric_day", "metric", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class LeaderboardWatermark(Base):
    """How far into the event log the counters are: every event with id ≤ last_event_id is counted."""

    __tablename__ = "leaderboard_watermarks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
