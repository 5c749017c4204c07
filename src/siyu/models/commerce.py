"""Orders, order lines, store visits and referrals (stores are org units)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, IdPk, TimestampMixin
from siyu.db.types import BigId, UTCDateTime
from siyu.models.enums import OrderChannel, OrderStatus, enum_column


class Order(IdPk, TimestampMixin, Base):
    """A paid order; money is integer fen; (source, external_no) is unique so re-imports are no-ops."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("source", "external_no"),
        Index("ix_orders_paid_at", "paid_at"),
        Index("ix_orders_customer_paid", "customer_id", "paid_at"),
        Index("ix_orders_store_paid", "store_id", "paid_at"),
    )

    source: Mapped[str] = mapped_column(String(32))
    external_no: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    channel: Mapped[OrderChannel] = mapped_column(enum_column(OrderChannel))
    store_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    campaign_ref: Mapped[str | None] = mapped_column(String(64))
    coupon_ref: Mapped[str | None] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    discount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus), default=OrderStatus.paid)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OrderLine(IdPk, Base):
    """One product line of an order; carries customer_id so it co-locates with its order."""

    __tablename__ = "order_lines"

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class StoreVisit(IdPk, Base):
    """A customer visiting a store (到店)."""

    __tablename__ = "store_visits"
    __table_args__ = (Index("ix_store_visits_store_visited", "store_id", "visited_at"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    store_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"))
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str | None] = mapped_column(String(64))


class Referral(IdPk, Base):
    """A customer bringing another (转介绍); each person is referred at most once."""

    __tablename__ = "referrals"

    referrer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    referred_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), unique=True)
    staff_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff.id"), index=True)
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime)
