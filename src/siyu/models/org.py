"""Org tree, staff, login accounts and API tokens."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.types import BigId, UTCDateTime
from siyu.models.enums import OrgUnitKind, StaffStatus, enum_column


class OrgUnit(IdPk, TimestampMixin, Base):
    """A node of the org tree; `path` (/1/4/9/) makes subtree queries one indexed prefix scan."""

    __tablename__ = "org_units"

    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    kind: Mapped[OrgUnitKind] = mapped_column(enum_column(OrgUnitKind))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(512), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    city: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[OrgUnit | None] = relationship(remote_side="OrgUnit.id", lazy="raise")


class Staff(IdPk, TimestampMixin, Base):
    """A person on the brand's team."""

    __tablename__ = "staff"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    status: Mapped[StaffStatus] = mapped_column(enum_column(StaffStatus), default=StaffStatus.active)
    hired_on: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))

    unit: Mapped[OrgUnit] = relationship(lazy="raise")
    roles: Mapped[list[StaffRole]] = relationship(lazy="raise", cascade="all, delete-orphan")


class StaffRole(Base):
    """A role code (see the talent map) held by a staff member."""

    __tablename__ = "staff_roles"

    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    role_code: Mapped[str] = mapped_column(String(48), primary_key=True)

    __table_args__ = (Index("ix_staff_roles_role_code", "role_code"),)


class Account(IdPk, TimestampMixin, Base):
    """A login to the console or API, optionally linked to a staff member."""

    __tablename__ = "accounts"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    permission_role: Mapped[str] = mapped_column(String(32))
    data_scope: Mapped[str] = mapped_column(String(16))
    scope_unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(IdPk, TimestampMixin, Base):
    """A hashed API token; the clear value is shown once at creation."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
