"""Chat messages, staff tasks and the append-only event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.types import BigId, UTCDateTime
from siyu.models.enums import MessageDirection, TaskStatus, enum_column


class ChatMessage(IdPk, Base):
    """One archived chat message (会话存档 shape), resolved to staff / customer / group."""

    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_chat_messages_customer_sent", "customer_id", "sent_at"),
        Index("ix_chat_messages_staff_sent", "staff_id", "sent_at"),
        Index("ix_chat_messages_group_sent", "group_id", "sent_at"),
    )

    msgid: Mapped[str] = mapped_column(String(128), unique=True)
    sender: Mapped[str] = mapped_column(String(128))
    receivers: Mapped[str | None] = mapped_column(Text)
    room_id: Mapped[str | None] = mapped_column(String(128))
    direction: Mapped[MessageDirection] = mapped_column(enum_column(MessageDirection))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"))
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))
    group_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("chat_groups.id"))
    msg_type: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Archive fields beyond text: a recall marks the original; other message types keep their body.
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Set by the retention purge when text and payload were blanked (the row stays for metrics).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffTask(IdPk, TimestampMixin, Base):
    """Work a staff member must do (follow-up, moments post, greeting…), with evidence when done."""

    __tablename__ = "staff_tasks"
    __table_args__ = (Index("ix_staff_tasks_staff_due", "staff_id", "due_at"),)

    kind: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(200))
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("chat_groups.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[TaskStatus] = mapped_column(enum_column(TaskStatus), default=TaskStatus.open)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evidence: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(64))
    # The text to copy and send (journey step, content pack, recall), and the script it came from.
    body: Mapped[str | None] = mapped_column(Text)
    script_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("scripts.id"))
    # Set by automated writers ("step:…", "pack:…"), so a retried job never makes the same task twice.
    idempotency_key: Mapped[str | None] = mapped_column(String(160), unique=True)


class Event(IdPk, Base):
    """An append-only domain event (joined, left, tagged, ordered, task_done…) read by KPIs and SOPs."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_kind_occurred", "kind", "occurred_at"),
        Index("ix_events_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_events_staff_occurred", "staff_id", "occurred_at"),
    )

    kind: Mapped[str] = mapped_column(String(48))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"))
    unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(BigId)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ImportJob(IdPk, TimestampMixin, Base):
    """One run of an importer: what came in, what was written, and the error report."""

    __tablename__ = "import_jobs"

    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    skip_invalid: Mapped[bool] = mapped_column(default=False)
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    total_rows: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    mapping: Mapped[dict[str, str] | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditLog(IdPk, Base):
    """Who did what to whom, when: every write and every reveal of personal data."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(BigId)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
