"""WeCom (企业微信): the app's credentials, the callback inbox, channel codes, sync runs, snapshots, platform
mass sends and moments, and customer handovers."""

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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.types import BigId, UTCDateTime
from siyu.models.enums import enum_column

OFFICIAL_API_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin"


class CallbackStatus(StrEnum):
    """Where a received callback event is in its processing."""

    pending = "pending"
    done = "done"
    failed = "failed"
    ignored = "ignored"  # an event kind Siyu does not act on (kept for the record)


class SyncStatus(StrEnum):
    """Lifecycle of a sync run; an interrupted run stays `running` until resumed."""

    running = "running"
    done = "done"
    failed = "failed"


class WelcomeStatus(StrEnum):
    """What happened to the welcome message of one add."""

    sent = "sent"
    skipped = "skipped"  # no welcome code (admin-configured welcome, chat already started) or none configured
    expired = "expired"  # the 20-second window had passed
    failed = "failed"  # WeCom refused (41051 already used, …); reason says which


class TransferKind(StrEnum):
    """On-the-job handover (在职转接) or a resigned member's inheritance (离职继承)."""

    onjob = "onjob"
    resigned = "resigned"


class TransferStatus(StrEnum):
    """One customer's transfer, as WeCom reports it (1 done, 2 waiting, 3 refused, 4 takeover full)."""

    requested = "requested"  # the API accepted it (errcode 0); completes within 24 h
    waiting = "waiting"
    done = "done"
    refused = "refused"
    takeover_full = "takeover_full"
    failed = "failed"  # the API refused it; errcode says why
    blocked = "blocked"  # Siyu refused it before calling (e.g. two transfers in 90 days)


class WecomApp(IdPk, TimestampMixin, Base):
    """The brand's self-built WeCom app: one row. Secrets are sealed with the server key, never shown."""

    __tablename__ = "wecom_apps"

    corp_id: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[str | None] = mapped_column(String(32))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    callback_token: Mapped[str] = mapped_column(String(64))
    aes_key_sealed: Mapped[bytes] = mapped_column(LargeBinary)  # the 43-character EncodingAESKey
    # The official URL in production; the fake WeCom server (tests, demo) or a forward proxy otherwise.
    api_base_url: Mapped[str] = mapped_column(String(255), default=OFFICIAL_API_BASE_URL)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_test_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_test_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_test_message: Mapped[str | None] = mapped_column(String(500))
    updated_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class WecomCallbackEvent(IdPk, Base):
    """One decrypted callback, stored before it is answered; dedupe_key makes WeCom's retries no-ops."""

    __tablename__ = "wecom_callback_events"
    __table_args__ = (Index("ix_wecom_callback_events_status_received", "status", "received_at"),)

    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(48))  # change_external_contact, change_external_chat, …
    change_type: Mapped[str | None] = mapped_column(String(48))
    user_id: Mapped[str | None] = mapped_column(String(64))  # the staff member's WeCom userid
    external_user_id: Mapped[str | None] = mapped_column(String(128))
    chat_id: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str | None] = mapped_column(String(64))  # the contact way's state: our channel code
    welcome_code: Mapped[str | None] = mapped_column(String(256))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # every field of the decrypted XML
    created_time: Mapped[datetime] = mapped_column(UTCDateTime)  # <CreateTime>
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[CallbackStatus] = mapped_column(
        enum_column(CallbackStatus), default=CallbackStatus.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class ChannelCode(IdPk, TimestampMixin, Base):
    """A channel code (渠道活码): a WeCom contact way whose `state` attributes, tags, welcomes and enrols."""

    __tablename__ = "channel_codes"

    code: Mapped[str] = mapped_column(String(30), unique=True)  # sent to WeCom as the contact way's state
    name: Mapped[str] = mapped_column(String(100))
    source_detail: Mapped[str | None] = mapped_column(String(200))  # e.g. 门店海报 / 包裹卡 / 直播间
    ad_campaign: Mapped[str | None] = mapped_column(String(100))
    store_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    staff_ids: Mapped[list[int]] = mapped_column(JSON)  # who answers (one = single, several = multi)
    tag_ids: Mapped[list[int]] = mapped_column(JSON)  # applied on add, locally and on WeCom
    welcome_script_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("scripts.id"))
    journey_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journeys.id"))
    skip_verify: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    config_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # WeCom's id of the contact way
    qr_code: Mapped[str | None] = mapped_column(String(500))  # WeCom's QR image URL
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class WecomWelcome(IdPk, Base):
    """The welcome message for one add through a channel code: sent, or why not (20-second window)."""

    __tablename__ = "wecom_welcomes"

    callback_event_id: Mapped[int] = mapped_column(BigId, ForeignKey("wecom_callback_events.id"), unique=True)
    channel_code_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("channel_codes.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"))
    script_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("scripts.id"))
    status: Mapped[WelcomeStatus] = mapped_column(enum_column(WelcomeStatus))
    reason: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds_after_event: Mapped[float | None] = mapped_column(Float)


class WecomSyncRun(IdPk, Base):
    """A full or incremental sync; checkpoint lets a crashed run resume where it stopped."""

    __tablename__ = "wecom_sync_runs"

    kind: Mapped[str] = mapped_column(String(16))  # full | incremental
    status: Mapped[SyncStatus] = mapped_column(enum_column(SyncStatus), default=SyncStatus.running)
    stage: Mapped[str] = mapped_column(String(32))  # staff, tags, contacts, groups, behaviour, done
    checkpoint: Mapped[dict[str, Any]] = mapped_column(JSON)  # stage-specific position (staff offset, cursor)
    counts: Mapped[dict[str, int]] = mapped_column(JSON)  # staff, customers, follows, tags, groups, calls, …
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    started_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class WecomBehaviorSnapshot(IdPk, Base):
    """One staff member's 联系客户统计 for one day (WeCom keeps only 180 days, so Siyu keeps the copy)."""

    __tablename__ = "wecom_behavior_snapshots"
    __table_args__ = (UniqueConstraint("staff_id", "day"),)

    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    day: Mapped[date] = mapped_column(Date, index=True)
    chat_cnt: Mapped[int] = mapped_column(Integer, default=0)
    message_cnt: Mapped[int] = mapped_column(Integer, default=0)
    reply_percentage: Mapped[float | None] = mapped_column(Float)  # absent when there was no chat
    avg_reply_time: Mapped[int | None] = mapped_column(Integer)  # minutes; absent when there was no chat
    negative_feedback_cnt: Mapped[int] = mapped_column(Integer, default=0)
    new_apply_cnt: Mapped[int] = mapped_column(Integer, default=0)
    new_contact_cnt: Mapped[int] = mapped_column(Integer, default=0)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WecomGroupStatSnapshot(IdPk, Base):
    """One group owner's 群聊统计 for one day."""

    __tablename__ = "wecom_group_stat_snapshots"
    __table_args__ = (UniqueConstraint("staff_id", "day"),)

    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    day: Mapped[date] = mapped_column(Date, index=True)
    new_chat_cnt: Mapped[int] = mapped_column(Integer, default=0)
    chat_total: Mapped[int] = mapped_column(Integer, default=0)
    chat_has_msg: Mapped[int] = mapped_column(Integer, default=0)
    new_member_cnt: Mapped[int] = mapped_column(Integer, default=0)
    member_total: Mapped[int] = mapped_column(Integer, default=0)
    member_has_msg: Mapped[int] = mapped_column(Integer, default=0)
    msg_total: Mapped[int] = mapped_column(Integer, default=0)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WecomGroupMessage(IdPk, Base):
    """One platform mass-send template (add_msg_template) for one sender; confirmation tracked per staff."""

    __tablename__ = "wecom_group_messages"

    msgid: Mapped[str] = mapped_column(String(128), unique=True)
    chat_type: Mapped[str] = mapped_column(String(8))  # single | group
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    source_type: Mapped[str] = mapped_column(String(24))  # as outbound_messages.source_type
    source_id: Mapped[int | None] = mapped_column(BigId)
    text: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    task_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff_tasks.id")
    )  # the guide's confirm task
    staff_status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | cancelled
    staff_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Per-customer results: sent / not a friend / over the platform limit / not yet.
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    not_friend_count: Mapped[int] = mapped_column(Integer, default=0)
    over_limit_count: Mapped[int] = mapped_column(Integer, default=0)
    reminded_count: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # results final; no more polling


class WecomMoment(IdPk, Base):
    """A customer-moments post (客户朋友圈) created through add_moment_task; per-staff completion below."""

    __tablename__ = "wecom_moments"

    jobid: Mapped[str] = mapped_column(String(128), unique=True)
    moment_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    script_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("scripts.id"))
    tag_ids: Mapped[list[int] | None] = mapped_column(JSON)  # visible to customers with these tags
    status: Mapped[str] = mapped_column(String(16), default="creating")  # creating | published | failed
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class WecomMomentStaff(IdPk, Base):
    """One staff member's part in a moments task: did they publish it."""

    __tablename__ = "wecom_moment_staff"
    __table_args__ = (UniqueConstraint("moment_id", "staff_id"),)

    moment_id: Mapped[int] = mapped_column(BigId, ForeignKey("wecom_moments.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"))
    task_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff_tasks.id"))
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HandoverBatch(IdPk, TimestampMixin, Base):
    """One handover decision: these customers from one member to another (在职转接 / 离职继承)."""

    __tablename__ = "handover_batches"

    kind: Mapped[TransferKind] = mapped_column(enum_column(TransferKind))
    handover_staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    takeover_staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    message: Mapped[str | None] = mapped_column(String(200))  # transfer_success_msg (on-job only)
    requested: Mapped[int] = mapped_column(Integer, default=0)
    blocked: Mapped[int] = mapped_column(Integer, default=0)
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HandoverTransfer(IdPk, Base):
    """One customer in a handover batch, with WeCom's answer and result."""

    __tablename__ = "handover_transfers"
    __table_args__ = (
        UniqueConstraint("batch_id", "customer_id"),
        Index("ix_handover_transfers_customer_requested", "customer_id", "requested_at"),
    )

    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("handover_batches.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    external_userid: Mapped[str] = mapped_column(String(128))
    status: Mapped[TransferStatus] = mapped_column(enum_column(TransferStatus))
    errcode: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    takeover_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
