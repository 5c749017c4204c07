"""Customers, their identities, channel memberships, groups and tags."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.types import BigId, UTCDateTime
from siyu.models.enums import (
    AcquisitionSource,
    Channel,
    IdentityKind,
    LeaveReason,
    LifecycleStage,
    TagAppliedBy,
    enum_column,
)


class Customer(IdPk, TimestampMixin, Base):
    """One real person the brand can reach; identities and memberships hang off it."""

    __tablename__ = "customers"
    # Half of each page is left free so that a row's new version fits beside the old one: the insights
    # refresh rewrites lifecycle_stage for most customers on its first run (and many on later ones), and
    # an update that stays on its page skips all five indexes (HOT). Without this room, one full rewrite
    # moves every row to a new page, so the heap ends up this size anyway, with bloated indexes besides.
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}

    name: Mapped[str | None] = mapped_column(String(100))
    gender: Mapped[str | None] = mapped_column(String(8))
    city: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[AcquisitionSource] = mapped_column(enum_column(AcquisitionSource), index=True)
    source_detail: Mapped[str | None] = mapped_column(String(200))
    source_channel_code: Mapped[str | None] = mapped_column(String(64))
    source_ad_campaign: Mapped[str | None] = mapped_column(String(100))
    referrer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))
    owner_staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    home_store_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    lifecycle_stage: Mapped[LifecycleStage] = mapped_column(
        enum_column(LifecycleStage), default=LifecycleStage.new
    )
    member_tier: Mapped[str | None] = mapped_column(String(32))
    points_balance: Mapped[int] = mapped_column(Integer, default=0)
    marketing_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    chat_archive_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    birthday: Mapped[date | None] = mapped_column(Date)  # month and day drive the birthday journey
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"))


class CustomerIdentity(IdPk, TimestampMixin, Base):
    """An identifier of a customer; (kind, value) is unique, so one person per identity."""

    __tablename__ = "customer_identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    kind: Mapped[IdentityKind] = mapped_column(enum_column(IdentityKind))
    value: Mapped[str] = mapped_column(String(128))


class ChatGroup(IdPk, TimestampMixin, Base):
    """A customer group chat (社群 / 客户群)."""

    __tablename__ = "chat_groups"

    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelMembership(IdPk, Base):
    """A span of time a customer was reachable through one channel (owner staff or group)."""

    __tablename__ = "channel_memberships"
    __table_args__ = (
        Index("ix_channel_memberships_channel_joined", "channel", "joined_at"),
        # Covering on PostgreSQL: a segment's "present member" test probes it index-only (no heap fetch).
        Index(
            "ix_channel_memberships_customer_channel",
            "customer_id",
            "channel",
            postgresql_include=["joined_at", "left_at"],
        ),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("chat_groups.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leave_reason: Mapped[LeaveReason | None] = mapped_column(enum_column(LeaveReason))
    channel_code: Mapped[str | None] = mapped_column(String(64))
    # WeCom facts of the relation: follow_info.add_way (how the customer was added), the staff's remark,
    # and for group memberships the join scene (1 direct invite, 2 invite link, 3 QR code).
    add_way: Mapped[int | None] = mapped_column(Integer)
    remark: Mapped[str | None] = mapped_column(String(100))
    join_scene: Mapped[int | None] = mapped_column(Integer)
    # When a WeCom full sync last saw this follow: open ones it did not see are closed when it ends.
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TagGroup(IdPk, TimestampMixin, Base):
    """A family of tags (标签组), e.g. 'skin type'."""

    __tablename__ = "tag_groups"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    wecom_group_id: Mapped[str | None] = mapped_column(
        String(64), unique=True
    )  # the corp tag group, if synced


class Tag(IdPk, TimestampMixin, Base):
    """A label in a tag group."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("group_id", "name"),)

    group_id: Mapped[int] = mapped_column(BigId, ForeignKey("tag_groups.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    wecom_tag_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the corp tag, if synced


class CustomerTag(Base):
    """A tag on a customer, with who or what applied it and when."""

    __tablename__ = "customer_tags"
    # (tag_id, customer_id): a segment's tag test reads the ids index-only instead of visiting the heap.
    __table_args__ = (Index("ix_customer_tags_tag_id", "tag_id", "customer_id"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(BigId, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    applied_by: Mapped[TagAppliedBy] = mapped_column(enum_column(TagAppliedBy))
    applied_by_id: Mapped[int | None] = mapped_column(BigId)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
