"""The shape of a parsed order file: field order, slot numbers and the order set."""

from __future__ import annotations

from typing import Any

from siyu.imports.mapping import IDENTITY_FIELDS

IDENTITY_SLOTS = tuple(IDENTITY_FIELDS)
HEADER_FIELDS = (
    *IDENTITY_SLOTS,
    "order_no",
    "paid_at",
    "amount",
    "discount",
    "refund_amount",
    "refunded_at",
    "status",
    "channel",
    "store_code",
    "staff_code",
    "campaign_ref",
    "coupon_ref",
    "order_source",
    "name",
)
# A line part is (file line, sku, product name, quantity, line amount).
LINE_FIELDS = ("sku", "product_name", "quantity", "line_amount")
FIELDS = (*HEADER_FIELDS, *LINE_FIELDS)
N_ID = len(IDENTITY_SLOTS)
N_HEADER = len(HEADER_FIELDS)
(
    ORDER_NO,
    PAID_AT,
    AMOUNT,
    DISCOUNT,
    REFUND,
    REFUNDED_AT,
    STATUS,
    CHANNEL,
    STORE,
    STAFF,
    CAMPAIGN,
    COUPON,
    SOURCE,
    NAME,
) = range(N_ID, N_HEADER)


class OrderSet:
    """Orders gathered from a file as parallel lists: key, header values, line parts, resolved ids."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, str]] = []
        self.headers: list[tuple[Any, ...]] = []
        self.lines: list[list[tuple[Any, ...]]] = []
        self.store_ids: list[Any] = []
        self.staff_ids: list[Any] = []
        self.customers: list[int] = []

    def keep(self, alive: list[int]) -> None:
        """Keep only the orders at these positions (in order)."""
        for name in ("keys", "headers", "lines", "store_ids", "staff_ids", "customers"):
            values = getattr(self, name)
            if values:
                setattr(self, name, [values[i] for i in alive])

    def __len__(self) -> int:
        return len(self.keys)
