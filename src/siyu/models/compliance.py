"""Compliance: sensitive-behaviour rules, whitelist, incidents, recalls, detection runs and in-app notifications."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.types import BigId, UTCDateTime
from siyu.models.enums import enum_column


class ComplianceCategory(StrEnum):
    """What a finding is about; keyword rules use the first five, detectors the rest."""

    abuse = "abuse"  # insulting a customer (辱骂客户)
    private_deal = "private_deal"  # 私单
    diverted_order = "diverted_order"  # 飞单
    forbidden_promise = "forbidden_promise"  # guaranteed returns, cure claims
    competitor = "competitor"
    contact = "contact"  # phone numbers, WeChat ids, "add my WeChat" in any evasion form
    payment = "payment"  # bank cards, Alipay accounts, personal QR / red packet / transfer
    link = "link"  # links to other shops, short links
    behaviour = "behaviour"  # deletions, after-hours messages, unanswered customers


class Severity(StrEnum):
    """How urgently a manager must look; high notifies at once."""

    low = "low"
    medium = "medium"
    high = "high"


class IncidentStatus(StrEnum):
    """open → confirmed / dismissed (by a reviewer, with a note)."""

    open = "open"
    confirmed = "confirmed"
    dismissed = "dismissed"


class RunStatus(StrEnum):
    """A re-detection over history."""

    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class SensitiveRule(IdPk, TimestampMixin, Base):
    """A keyword rule: any of terms, AND all of all_terms, NOT any of not_terms, within one message."""

    __tablename__ = "sensitive_rules"
    __table_args__ = (Index("ix_sensitive_rules_category", "category"),)

    category: Mapped[ComplianceCategory] = mapped_column(enum_column(ComplianceCategory, 24))
    name: Mapped[str] = mapped_column(String(100))
    terms: Mapped[list[Any]] = mapped_column(JSON)  # at least one; matched on the normalised text
    all_terms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    not_terms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    whitelist: Mapped[list[Any]] = mapped_column(
        JSON, default=list
    )  # phrases that excuse a match inside them
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, 8), default=Severity.medium)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    collapse_repeats: Mapped[bool] = mapped_column(Boolean, default=False)  # 傻傻傻逼 → 傻逼 for this rule
    source: Mapped[str] = mapped_column(String(16), default="console")  # builtin | import | console
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every edit
    note: Mapped[str | None] = mapped_column(Text)
    updated_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class ComplianceCategorySetting(Base):
    """Per-category switch and default severity (a disabled category produces no incidents)."""

    __tablename__ = "compliance_category_settings"

    category: Mapped[ComplianceCategory] = mapped_column(
        enum_column(ComplianceCategory, 24), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, 8), default=Severity.medium)


class WhitelistPhrase(IdPk, TimestampMixin, Base):
    """A phrase whose occurrences excuse any match inside them (one category, or all when category is NULL)."""

    __tablename__ = "sensitive_whitelist"
    __table_args__ = (UniqueConstraint("phrase", "category"),)

    phrase: Mapped[str] = mapped_column(String(200))
    category: Mapped[ComplianceCategory | None] = mapped_column(enum_column(ComplianceCategory, 24))
    from_incident_id: Mapped[int | None] = mapped_column(BigId)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class SensitiveIncident(IdPk, TimestampMixin, Base):
    """A finding a manager must see: the message(s), who, the rule or detector, the span, and the review."""

    __tablename__ = "sensitive_incidents"
    __table_args__ = (
        # Idempotency: the same detector/rule on the same message and span is one incident, however often it runs.
        UniqueConstraint("message_id", "detector", "rule_key", "span_start"),
        Index("ix_sensitive_incidents_staff_occurred", "staff_id", "occurred_at"),
        Index("ix_sensitive_incidents_unit_occurred", "unit_id", "occurred_at"),
        Index("ix_sensitive_incidents_status", "status"),
    )

    # NULL for behaviour incidents that are not about one message (e.g. staff deleted a customer).
    message_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("chat_messages.id", ondelete="CASCADE"))
    extra_message_ids: Mapped[list[Any] | None] = mapped_column(JSON)  # e.g. a phone split over two messages
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"))
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))
    group_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("chat_groups.id"))
    # The staff member's unit when detected (else the customer's home store): the scope filter reads it.
    unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    category: Mapped[ComplianceCategory] = mapped_column(enum_column(ComplianceCategory, 24))
    detector: Mapped[str] = mapped_column(
        String(32)
    )  # keyword | phone | bank_card | wechat_id | … | classifier
    rule_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("sensitive_rules.id", ondelete="SET NULL"))
    rule_key: Mapped[str] = mapped_column(
        String(64), default=""
    )  # rule id as text, or the detector's own key
    severity: Mapped[Severity] = mapped_column(enum_column(Severity, 8))
    span_start: Mapped[int] = mapped_column(Integer, default=0)  # offsets in the ORIGINAL message text
    span_end: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[str | None] = mapped_column(String(200))  # what matched, as normalised (e.g. 加微信)
    score: Mapped[float | None] = mapped_column()  # classifier probability, when a model decided
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[IncidentStatus] = mapped_column(
        enum_column(IncidentStatus, 16), default=IncidentStatus.open
    )
    reviewer_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(Text)


class ChatRecall(Base):
    """A recall (撤回) seen in the archive; kept so an original arriving later is marked too."""

    __tablename__ = "chat_recalls"

    msgid: Mapped[str] = mapped_column(String(128), primary_key=True)
    pre_msgid: Mapped[str] = mapped_column(String(128), index=True)
    recalled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DetectionRun(IdPk, TimestampMixin, Base):
    """A re-detection over stored history (after rules change), with progress."""

    __tablename__ = "detection_runs"

    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, 16), default=RunStatus.running)
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    incidents_found: Mapped[int] = mapped_column(Integer, default=0)
    last_message_id: Mapped[int] = mapped_column(BigId, default=0)  # resume point
    started_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class Notification(IdPk, TimestampMixin, Base):
    """An in-app notification for one account (e.g. a high-severity incident in the manager's scope)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("account_id", "dedupe_key"),
        Index("ix_notifications_account_read", "account_id", "read_at"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    dedupe_key: Mapped[str] = mapped_column(String(100))  # e.g. "incident:42": notifying twice is a no-op
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
