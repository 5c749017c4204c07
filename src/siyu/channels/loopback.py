"""The loopback adapter: "sends" at once and keeps what it sent in memory (tests, demos, dry runs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from siyu.channels.contract import Delivery, DeliveryResult, register_adapter


class LoopbackAdapter:
    """Marks every delivery sent and records it; fail_keys makes chosen idempotency keys fail (tests)."""

    name = "loopback"

    def __init__(self, keep: int = 100_000) -> None:
        self.delivered: list[Delivery] = []
        self.fail_keys: set[str] = set()
        self.keep = keep  # only the latest `keep` are remembered: a benchmark may push millions through

    def deliver(
        self, session: Session, deliveries: Sequence[Delivery], now: datetime
    ) -> list[DeliveryResult]:
        """Record each delivery; status sent (or failed for a key in fail_keys)."""
        results: list[DeliveryResult] = []
        for d in deliveries:
            if d.idempotency_key in self.fail_keys:
                results.append(DeliveryResult(d.outbound_id, "failed", reason="loopback: told to fail"))
                continue
            self.delivered.append(d)
            results.append(DeliveryResult(d.outbound_id, "sent", external_id=f"loop:{d.outbound_id}"))
        if len(self.delivered) > self.keep:
            del self.delivered[: len(self.delivered) - self.keep]
        return results

    def clear(self) -> None:
        """Forget what was delivered and which keys should fail."""
        self.delivered.clear()
        self.fail_keys.clear()


LOOPBACK = LoopbackAdapter()
register_adapter(LOOPBACK)
