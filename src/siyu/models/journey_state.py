"""Trigger-scan state that events cannot give: who was in a journey's segment at its last scan."""

from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base
from siyu.db.types import BigId


class JourneySegmentMember(Base):
    """A member of an entered_segment journey's segment at the last trigger scan (new members = now − these)."""

    __tablename__ = "journey_segment_members"

    journey_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("journeys.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), primary_key=True)
