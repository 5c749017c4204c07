"""Organisation and talent: role-catalog edits, org-advisor runs, competency models and assessment cycles."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.types import BigId, UTCDateTime
from siyu.models.enums import enum_column


class CycleStatus(StrEnum):
    """An assessment cycle is open for scoring, then closed (read-only)."""

    open = "open"
    closed = "closed"


class AssessmentStatus(StrEnum):
    """A manager's assessment of one person: draft while scoring, submitted when final."""

    draft = "draft"
    submitted = "submitted"


class AssessmentOutcome(StrEnum):
    """进 / 留 / 转 / 退."""

    promote = "promote"
    keep = "keep"
    transfer = "transfer"
    exit = "exit"


class RoleDefinition(IdPk, TimestampMixin, Base):
    """A console edit of the role catalog: overrides the shipped role with the same code, or adds a custom one."""

    __tablename__ = "role_definitions"

    code: Mapped[str] = mapped_column(String(48), unique=True)
    # The whole entry as the contract's RoleEntry.to_dict(); the shipped catalog is the default for builtins.
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class AdvisorRun(IdPk, TimestampMixin, Base):
    """One questionnaire answered and the recommendation it produced (kept as history)."""

    __tablename__ = "advisor_runs"

    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class CompetencyModel(IdPk, TimestampMixin, Base):
    """One version of the competency model of a role (role_code NULL: the default for every role)."""

    __tablename__ = "competency_models"
    __table_args__ = (
        UniqueConstraint("role_key", "version"),
        Index("ix_competency_models_role_key", "role_key"),
    )

    # role_code, or "*" for the default model; kept non-null so the unique constraint holds on both databases.
    role_key: Mapped[str] = mapped_column(String(48))
    version: Mapped[int] = mapped_column(Integer)
    # list of the contract's Dimension.to_dict(), weights summing to 100
    dimensions: Mapped[list[Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class AssessmentCycle(IdPk, TimestampMixin, Base):
    """A 人才盘点 round (e.g. a quarter): its evidence period, outcome thresholds and who may be assessed."""

    __tablename__ = "assessment_cycles"

    name: Mapped[str] = mapped_column(String(100))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    status: Mapped[CycleStatus] = mapped_column(enum_column(CycleStatus, 16), default=CycleStatus.open)
    # the contract's OutcomeThresholds.to_dict()
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class Assessment(IdPk, TimestampMixin, Base):
    """One person's assessment in a cycle: the scores, the evidence beside them, the outcome and why."""

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("cycle_id", "staff_id"),
        Index("ix_assessments_staff_id", "staff_id"),
        Index("ix_assessments_unit_id", "unit_id"),
    )

    cycle_id: Mapped[int] = mapped_column(BigId, ForeignKey("assessment_cycles.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    # The person's unit and role when the assessment was opened: scope and calibration read these.
    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"))
    role_code: Mapped[str] = mapped_column(String(48))
    competency_model_id: Mapped[int] = mapped_column(BigId, ForeignKey("competency_models.id"))
    status: Mapped[AssessmentStatus] = mapped_column(
        enum_column(AssessmentStatus, 16), default=AssessmentStatus.draft
    )
    assessor_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    weighted_score: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[AssessmentOutcome | None] = mapped_column(enum_column(AssessmentOutcome, 16))
    # {"zh": ..., "en": ...} sentences saying which threshold the score met and why
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the evidence shown beside each dimension, frozen when submitted: {dimension: [EvidenceItem.to_dict()]}
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    scores: Mapped[list[AssessmentScore]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="AssessmentScore.position"
    )


class AssessmentScore(Base):
    """A 1–5 score on one competency dimension, with the manager's comment."""

    __tablename__ = "assessment_scores"

    assessment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True
    )
    dimension_code: Mapped[str] = mapped_column(String(48), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
