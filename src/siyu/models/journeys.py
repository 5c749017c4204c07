"""Journeys (SOP), scripts, outgoing touches and their caps, mass sends, content packs and experiments."""

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.types import BigId, UTCDateTime
from siyu.models.enums import enum_column


class ScriptApproval(StrEnum):
    """Approval state of a script (only approved scripts are sent)."""

    draft = "draft"
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    retired = "retired"


class JourneyStatus(StrEnum):
    """Whether a journey enrols and runs."""

    draft = "draft"
    active = "active"  # triggers enrol, due steps run
    paused = "paused"  # no new enrolments, due steps wait
    archived = "archived"


class EnrolmentStatus(StrEnum):
    """Where one customer is in one journey."""

    active = "active"
    completed = "completed"  # every step done or skipped
    exited = "exited"  # an exit rule fired (exit_reason says which)


# The partial index predicate of pending step runs (the claim query uses the same literal text).
PENDING_ONLY = "status = 'pending'"


class StepRunStatus(StrEnum):
    """One due step of one enrolment; done/skipped/failed are final."""

    pending = "pending"
    done = "done"
    skipped = "skipped"  # a condition did not hold, or the enrolment had exited
    failed = "failed"


class SendStatus(StrEnum):
    """The fate of one outgoing touch."""

    queued = "queued"  # handed to the adapter; waiting (e.g. for the staff member to send and confirm)
    sent = "sent"  # the adapter sent it
    confirmed = "confirmed"  # the staff member confirmed / the platform reported delivery
    failed = "failed"
    capped = "capped"  # a frequency cap stopped it (reason names the cap)
    opted_out = "opted_out"  # the customer has not consented to marketing


class MassSendStatus(StrEnum):
    """Lifecycle of a mass send."""

    draft = "draft"
    scheduled = "scheduled"
    running = "running"
    done = "done"
    cancelled = "cancelled"
    failed = "failed"  # could not run after MAX_ATTEMPTS (the error is kept); can be scheduled again


class ExperimentStatus(StrEnum):
    """Lifecycle of an A/B experiment."""

    draft = "draft"
    running = "running"
    stopped = "stopped"


class ExperimentMetric(StrEnum):
    """The outcome an experiment is judged on."""

    reply = "reply"  # the customer replied within horizon_hours
    order = "order"  # the customer ordered within horizon_hours
    gmv = "gmv"  # GMV per recipient within horizon_hours (reported, not z-tested)


class Script(IdPk, TimestampMixin, Base):
    """A prepared message (话术) with {variables}, attachments by reference, approval and usage."""

    __tablename__ = "scripts"
    __table_args__ = (Index("ix_scripts_category_scenario", "category", "scenario"),)

    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(
        String(48)
    )  # welcome, follow_up, holiday, recall, product, moments…
    scenario: Mapped[str | None] = mapped_column(String(100))  # free text: 新客第3天, 售后回访…
    body: Mapped[str] = mapped_column(Text)
    # [{"kind": "image"|"link"|"miniprogram", "ref": "...", "title": "..."}] — references, never bytes.
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    approval: Mapped[ScriptApproval] = mapped_column(
        enum_column(ScriptApproval), default=ScriptApproval.draft
    )
    owner_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    reviewed_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(Text)
    # A variant points at the script it varies (A/B material); variant_label names it (B, C…).
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("scripts.id"), index=True)
    variant_label: Mapped[str | None] = mapped_column(String(32))
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    # Normalised title + body + scenario for Chinese full-text search (written by the script service).
    search_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Journey(IdPk, TimestampMixin, Base):
    """An SOP journey: a name, a status and its current definition version."""

    __tablename__ = "journeys"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[JourneyStatus] = mapped_column(enum_column(JourneyStatus), default=JourneyStatus.draft)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    template_code: Mapped[str | None] = mapped_column(String(64))  # the article template it was copied from
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    # Trigger scans resume after this event id / this time (set by the trigger scanner).
    trigger_watermark: Mapped[int | None] = mapped_column(BigId)
    trigger_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JourneyVersion(IdPk, Base):
    """One version of a journey's definition (JSON per journeys.contract.JourneyDefinition, never edited)."""

    __tablename__ = "journey_versions"
    __table_args__ = (UniqueConstraint("journey_id", "version"),)

    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journeys.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class JourneyEnrolment(IdPk, Base):
    """One customer in one journey, on the version they started on; entry_key makes entry idempotent."""

    __tablename__ = "journey_enrolments"
    __table_args__ = (
        UniqueConstraint("journey_id", "customer_id", "entry_key"),
        Index("ix_journey_enrolments_journey_status", "journey_id", "status"),
        # Free room per page so the engine's steps_done updates stay on the page (HOT, no index writes).
        {"postgresql_with": {"fillfactor": 80}},
    )

    journey_id: Mapped[int] = mapped_column(BigId, ForeignKey("journeys.id"))
    version: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"))  # the owner at entry
    entry_key: Mapped[str] = mapped_column(
        String(128)
    )  # e.g. "event:123", "segment:5:2026-11-24", "manual:…"
    status: Mapped[EnrolmentStatus] = mapped_column(
        enum_column(EnrolmentStatus), default=EnrolmentStatus.active
    )
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    exited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exit_reason: Mapped[str | None] = mapped_column(String(48))
    steps_done: Mapped[int] = mapped_column(Integer, default=0)


class JourneyStepRun(IdPk, Base):
    """One step of one enrolment, due at due_at; (enrolment_id, step_index) is the idempotency key."""

    __tablename__ = "journey_step_runs"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "step_index"),
        # Pending runs only: the engine's claim reads it, and a finished run leaves it (no index entry
        # written for the done row, and the index stays as small as the queue). Queries must say
        # status = 'pending' as a literal (PENDING_ONLY) for the planner to match the predicate.
        Index(
            "ix_journey_step_runs_pending_due",
            "due_at",
            postgresql_where=text(PENDING_ONLY),
            sqlite_where=text(PENDING_ONLY),
        ),
        {"postgresql_with": {"fillfactor": 80}},
    )

    enrolment_id: Mapped[int] = mapped_column(BigId, ForeignKey("journey_enrolments.id", ondelete="CASCADE"))
    # journey_id and customer_id are copies of the enrolment's (siyu.journeys.enrolment and the engine
    # write a run only from its enrolment row), whose own keys hold them: a key here too would cost each
    # new run two more checks and a lock record on the customer row, and guard nothing.
    journey_id: Mapped[int] = mapped_column(BigId, index=True)  # journeys.id (no key: see above)
    customer_id: Mapped[int] = mapped_column(BigId)  # customers.id (no key: see above)
    step_index: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[StepRunStatus] = mapped_column(enum_column(StepRunStatus), default=StepRunStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(64))  # which worker finished it
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what the actions did / why skipped
    error: Mapped[str | None] = mapped_column(Text)


class OutboundMessage(IdPk, Base):
    """One outgoing touch to a customer or group through a channel adapter (journey step, mass send…)."""

    __tablename__ = "outbound_messages"
    # Append-only and the hottest insert of the engine: only indexes a query uses (caps and timelines by
    # customer, mass-send/template counts by source, experiment reports by arm). customer_id, staff_id and
    # script_id carry no foreign key: siyu.journeys.sending writes a row only after reading the customer,
    # script and staff it names in the same transaction (and none of the three is ever deleted), so a
    # per-row key check and row lock would guard nothing.
    __table_args__ = (
        Index("ix_outbound_messages_customer_created", "customer_id", "created_at"),
        Index("ix_outbound_messages_source", "source_type", "source_id"),
        # Only experiment touches have an arm, and the reports ask for given arms: the other rows (nearly
        # all) get no entry, so their insert writes one index fewer.
        Index(
            "ix_outbound_messages_experiment_arm_id",
            "experiment_arm_id",
            postgresql_where=text("experiment_arm_id IS NOT NULL"),
            sqlite_where=text("experiment_arm_id IS NOT NULL"),
        ),
    )

    # "step:<step_run_id>:<action_index>", "mass:<mass_send_id>:c<customer_id>", … — unique, so nothing twice.
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    channel: Mapped[str] = mapped_column(String(32))  # adapter name: staff_task, loopback, wecom
    source_type: Mapped[str] = mapped_column(String(24))  # journey_step, mass_send, content_pack, manual
    source_id: Mapped[int | None] = mapped_column(BigId)
    customer_id: Mapped[int | None] = mapped_column(BigId)  # customers.id (no key: see above)
    group_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("chat_groups.id"))
    staff_id: Mapped[int | None] = mapped_column(BigId)  # staff.id
    script_id: Mapped[int | None] = mapped_column(BigId)  # scripts.id
    experiment_arm_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("experiment_arms.id"))
    text: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    is_marketing: Mapped[bool] = mapped_column(Boolean, default=True)  # counts against caps, needs consent
    status: Mapped[SendStatus] = mapped_column(enum_column(SendStatus))
    reason: Mapped[str | None] = mapped_column(String(120))  # which cap, which failure
    task_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff_tasks.id"))
    external_id: Mapped[str | None] = mapped_column(String(128))  # platform msgid / template id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FrequencyCap(IdPk, TimestampMixin, Base):
    """A per-customer cap on marketing touches: at most max_touches per day/week/month (None = days in month)."""

    __tablename__ = "frequency_caps"

    code: Mapped[str] = mapped_column(
        String(64), unique=True
    )  # "platform" is WeCom's; others are the brand's
    name: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(8))  # day | week | month (brand-local calendar)
    max_touches: Mapped[int | None] = mapped_column(Integer)  # None: as many as the month has days (WeCom)
    channel: Mapped[str | None] = mapped_column(String(32))  # None: every channel
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class MassSend(IdPk, TimestampMixin, Base):
    """One message to a segment, a list of groups or of customers, at a scheduled time (群发)."""

    __tablename__ = "mass_sends"

    name: Mapped[str] = mapped_column(String(200))
    script_id: Mapped[int] = mapped_column(BigId, ForeignKey("scripts.id"))
    channel: Mapped[str] = mapped_column(String(32), default="staff_task")
    audience_kind: Mapped[str] = mapped_column(String(16))  # segment | groups | customers
    segment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("segments.id"))
    group_ids: Mapped[list[int] | None] = mapped_column(JSON)
    customer_ids: Mapped[list[int] | None] = mapped_column(JSON)
    experiment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("experiments.id"))
    status: Mapped[MassSendStatus] = mapped_column(enum_column(MassSendStatus), default=MassSendStatus.draft)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Failed runs: how many, the last error, and when the next one may start (None: as scheduled).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    # Frozen when it runs; the live sent/confirmed figures are counted from outbound_messages.
    audience_count: Mapped[int] = mapped_column(Integer, default=0)
    queued_count: Mapped[int] = mapped_column(Integer, default=0)
    capped_count: Mapped[int] = mapped_column(Integer, default=0)
    opted_out_count: Mapped[int] = mapped_column(Integer, default=0)


class ContentPack(IdPk, TimestampMixin, Base):
    """The day's content pack: scripts/posts the content team picked for every guide to forward."""

    __tablename__ = "content_packs"

    day: Mapped[date] = mapped_column(Date, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class ContentPackItem(IdPk, Base):
    """One script in a content pack, and what the guide does with it (moments post or forward)."""

    __tablename__ = "content_pack_items"
    __table_args__ = (UniqueConstraint("pack_id", "position"),)

    pack_id: Mapped[int] = mapped_column(BigId, ForeignKey("content_packs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    script_id: Mapped[int] = mapped_column(BigId, ForeignKey("scripts.id"))
    task_kind: Mapped[str] = mapped_column(String(48), default="moments_post")


class Experiment(IdPk, TimestampMixin, Base):
    """An A/B(/n) test of script variants with a fixed horizon and a sample size fixed up front."""

    __tablename__ = "experiments"

    name: Mapped[str] = mapped_column(String(200))
    # Where the arms are used: "journey_step" (source_ref "journey:<id>:step:<key>") or "mass_send".
    source_type: Mapped[str] = mapped_column(String(24))
    source_ref: Mapped[str | None] = mapped_column(String(120))
    metric: Mapped[ExperimentMetric] = mapped_column(enum_column(ExperimentMetric))
    horizon_hours: Mapped[int] = mapped_column(Integer)
    alpha: Mapped[float] = mapped_column(Float, default=0.05)
    power: Mapped[float] = mapped_column(Float, default=0.8)
    baseline_rate: Mapped[float] = mapped_column(Float)
    min_detectable_effect: Mapped[float] = mapped_column(Float)  # absolute difference in rate
    min_sample_per_arm: Mapped[int] = mapped_column(Integer)  # computed when created, never after
    salt: Mapped[str] = mapped_column(String(32))  # sticky hash assignment
    status: Mapped[ExperimentStatus] = mapped_column(
        enum_column(ExperimentStatus), default=ExperimentStatus.draft
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class ExperimentArm(IdPk, Base):
    """One arm (A, B, …) of an experiment: a script and a weight."""

    __tablename__ = "experiment_arms"
    __table_args__ = (UniqueConstraint("experiment_id", "label"),)

    experiment_id: Mapped[int] = mapped_column(BigId, ForeignKey("experiments.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(16))
    script_id: Mapped[int] = mapped_column(BigId, ForeignKey("scripts.id"))
    weight: Mapped[int] = mapped_column(Integer, default=1)


class ExperimentAssignment(IdPk, Base):
    """A customer's arm in an experiment, fixed at first assignment (sticky)."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (UniqueConstraint("experiment_id", "customer_id"),)

    experiment_id: Mapped[int] = mapped_column(BigId, ForeignKey("experiments.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    arm_id: Mapped[int] = mapped_column(BigId, ForeignKey("experiment_arms.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
