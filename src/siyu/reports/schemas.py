"""Shapes of the overview dashboard (plain dataclasses; money in integer fen)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

RETENTION_DAYS = (7, 30, 90)


@dataclass(frozen=True)
class OverviewFilters:
    """Local dates first..last inclusive, and an optional org unit whose subtree limits the customers."""

    first: date
    last: date
    unit_id: int | None = None


@dataclass(frozen=True)
class RetentionRow:
    """One join cohort of one channel: size and the share still present after N days (None: too young)."""

    channel: str
    month: str
    size: int
    kept: dict[int, int | None]

    def share(self, days: int) -> float | None:
        """Retained ÷ size after days, or None when not measurable."""
        kept = self.kept.get(days)
        return None if kept is None or not self.size else kept / self.size


@dataclass(frozen=True)
class GmvRow:
    """Net GMV of one month: per order channel, total and the private-domain part."""

    month: str
    by_channel: dict[str, int]
    orders: int
    total_fen: int
    private_fen: int

    @property
    def private_share(self) -> float | None:
        """Private-domain GMV ÷ total GMV (None when the total is not positive)."""
        return self.private_fen / self.total_fen if self.total_fen > 0 else None


@dataclass(frozen=True)
class StoreRow:
    """A store's orders and net GMV in the range."""

    store_id: int
    code: str
    name: str
    orders: int
    gmv_fen: int


@dataclass
class Overview:
    """Everything the 概览 page shows."""

    filters: OverviewFilters
    unit_name: str | None
    channels: list[str]
    sources: list[str]
    present_total: int
    present_by_channel: dict[str, int]
    period: str
    period_labels: list[str]
    present_series: dict[str, list[int]]
    total_series: list[int]
    days: list[str]
    new_by_day: dict[str, dict[str, int]]
    new_by_source: dict[str, int]
    retention: list[RetentionRow]
    gmv_months: list[GmvRow]
    order_channels: list[str]
    gmv_total_fen: int
    gmv_private_fen: int
    top_stores: list[StoreRow] = field(default_factory=list)
    bottom_stores: list[StoreRow] = field(default_factory=list)
    # Read from rollups refreshed at as_of (None: live from the raw rows); behind: newer events wait.
    as_of: datetime | None = None
    behind: bool = False

    @property
    def private_share(self) -> float | None:
        """Private-domain share of net GMV over the whole range."""
        return self.gmv_private_fen / self.gmv_total_fen if self.gmv_total_fen > 0 else None
