"""Response shapes of the orders API; money is integer fen plus a yuan string."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, computed_field

from siyu.api.schemas import PaidMoney, yuan
from siyu.models import OrderChannel, OrderStatus


class OrderOut(PaidMoney):
    """An order as listed; net = amount − refund."""

    id: int
    source: str
    external_no: str
    customer_id: int
    channel: OrderChannel
    status: OrderStatus
    store_id: int | None
    staff_id: int | None
    campaign_ref: str | None
    coupon_ref: str | None
    paid_at: datetime
    paid_on: date = Field(description="business day of payment in the brand's time zone")
    refunded_at: datetime | None
    discount_fen: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def discount(self) -> str:
        """discount_fen in yuan."""
        return yuan(self.discount_fen)


class OrderLineOut(BaseModel):
    """One product line."""

    id: int
    sku: str
    name: str | None
    quantity: int
    amount_fen: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount(self) -> str:
        """amount_fen in yuan."""
        return yuan(self.amount_fen)


class OrderDetail(OrderOut):
    """An order with its lines and the names of who and where."""

    customer_name: str | None
    store_name: str | None
    staff_name: str | None
    lines: list[OrderLineOut]
