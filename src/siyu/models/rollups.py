"""Daily rollups of the 概览 overview, keyed by the customer attributes its population filter reads.

Every fact row carries the customer's owner_staff_id and home_store_id (NULL allowed) so that
readable(actor) and the org filter can be applied to the rollup rows instead of to customers.
Rows with whole=True repeat the same facts summed over the whole brand (owner and home NULL):
viewers who see everyone read those, about one row in ten.
Rows are derived data: src/siyu/reports/rollups.py deletes and rewrites them day by day. Each
table has one covering index led by its day or month, so a request reads the index alone, in order.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db.base import Base, IdPk
from siyu.db.types import BigId, UTCDateTime


class RollupJoin(IdPk, Base):
    """Memberships that began on one brand-local day, with how many were still present after 7/30/90 days."""

    __tablename__ = "rollup_joins"
    __table_args__ = (
        Index(
            "ix_rollup_joins_day",
            "whole",
            "day",
            *(
                "channel",
                "source",
                "owner_staff_id",
                "home_store_id",
                "joined",
                "kept_7",
                "kept_30",
                "kept_90",
            ),
        ),
    )

    whole: Mapped[bool] = mapped_column(default=False)
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    owner_staff_id: Mapped[int | None] = mapped_column(BigId)
    home_store_id: Mapped[int | None] = mapped_column(BigId)
    joined: Mapped[int] = mapped_column(Integer)
    kept_7: Mapped[int] = mapped_column(Integer)
    kept_30: Mapped[int] = mapped_column(Integer)
    kept_90: Mapped[int] = mapped_column(Integer)


class RollupPresence(IdPk, Base):
    """Change on one local day of the customers present at day end (channel NULL = any channel, a person once)."""

    __tablename__ = "rollup_presence"
    __table_args__ = (
        Index(
            "ix_rollup_presence_day", "whole", "day", "channel", "owner_staff_id", "home_store_id", "delta"
        ),
    )

    whole: Mapped[bool] = mapped_column(default=False)
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str | None] = mapped_column(String(32))
    owner_staff_id: Mapped[int | None] = mapped_column(BigId)
    home_store_id: Mapped[int | None] = mapped_column(BigId)
    delta: Mapped[int] = mapped_column(Integer)


class RollupPresenceMonth(IdPk, Base):
    """Customers present at the end of the last local day of a month (the running sum of the deltas)."""

    __tablename__ = "rollup_presence_months"
    __table_args__ = (
        Index(
            "ix_rollup_presence_months_month",
            "month",
            "channel",
            "owner_staff_id",
            "home_store_id",
            "present",
        ),
    )

    whole: Mapped[bool] = mapped_column(default=False)
    month: Mapped[date] = mapped_column(Date)
    channel: Mapped[str | None] = mapped_column(String(32))
    owner_staff_id: Mapped[int | None] = mapped_column(BigId)
    home_store_id: Mapped[int | None] = mapped_column(BigId)
    present: Mapped[int] = mapped_column(Integer)


class _OrderFigures:
    """The figures and keys RollupOrder and RollupOrderMonth share; each adds its day or month."""

    whole: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[str] = mapped_column(String(32))
    store_id: Mapped[int | None] = mapped_column(BigId)
    owner_staff_id: Mapped[int | None] = mapped_column(BigId)
    home_store_id: Mapped[int | None] = mapped_column(BigId)
    orders: Mapped[int] = mapped_column(Integer)
    net_fen: Mapped[int] = mapped_column(BigInteger)
    private_fen: Mapped[int] = mapped_column(BigInteger)


class RollupOrder(_OrderFigures, IdPk, Base):
    """Orders paid on one local day: count, net GMV and the part paid while in a private channel (fen)."""

    __tablename__ = "rollup_orders"
    __table_args__ = (
        Index(
            "ix_rollup_orders_day",
            "whole",
            "day",
            *("channel", "store_id", "owner_staff_id", "home_store_id", "orders", "net_fen", "private_fen"),
        ),
    )

    day: Mapped[date] = mapped_column(Date)


class RollupOrderMonth(_OrderFigures, IdPk, Base):
    """RollupOrder summed over a local month (month = its first day), read for months wholly in range."""

    __tablename__ = "rollup_order_months"
    __table_args__ = (
        Index(
            "ix_rollup_order_months_month",
            "whole",
            "month",
            *("channel", "store_id", "owner_staff_id", "home_store_id", "orders", "net_fen", "private_fen"),
        ),
    )

    month: Mapped[date] = mapped_column(Date)


class RollupCustomer(Base):
    """The customer attributes the rollups were last cut with; a difference marks the customer dirty."""

    __tablename__ = "rollup_customers"

    customer_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    owner_staff_id: Mapped[int | None] = mapped_column(BigId)
    home_store_id: Mapped[int | None] = mapped_column(BigId)
    merged: Mapped[bool] = mapped_column()


class RollupState(Base):
    """How far the rollups are: events with id ≤ last_event_id are in, cut in zone, at refreshed_at."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    zone: Mapped[str] = mapped_column(String(64))
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)
