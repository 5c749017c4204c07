"""The channel adapter interface: every outgoing touch leaves Siyu through one of these, in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from siyu.errors import Invalid


@dataclass(frozen=True, slots=True)
class Delivery:
    """One admitted touch for the adapter to carry out.

    Its outbound_messages id is reserved but the row is written only after the adapter returns, with the
    adapter's result (one INSERT instead of INSERT + UPDATE), so an adapter must not read its own batch's rows.
    """

    outbound_id: int
    idempotency_key: str
    customer_id: int | None
    group_id: int | None
    staff_id: int | None
    script_id: int | None
    text: str
    attachments: tuple[dict[str, Any], ...]
    source_type: str
    source_id: int | None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What the adapter did with one delivery; the sender writes it back to outbound_messages."""

    outbound_id: int
    status: str  # a SendStatus value: queued (waits for staff), sent, confirmed or failed
    reason: str | None = None
    external_id: str | None = None
    task_id: int | None = None


class ChannelAdapter(Protocol):
    """Carries touches out. Runs inside the caller's transaction and never commits."""

    name: str

    def deliver(
        self, session: Session, deliveries: Sequence[Delivery], now: datetime
    ) -> list[DeliveryResult]:
        """Carry out a batch (one result per delivery, same order); must not raise for one bad touch."""
        ...


_ADAPTERS: dict[str, ChannelAdapter] = {}


def register_adapter(adapter: ChannelAdapter) -> None:
    """Make an adapter available by its name (replacing one of the same name)."""
    _ADAPTERS[adapter.name] = adapter


def get_adapter(name: str) -> ChannelAdapter:
    """The adapter called name, or Invalid listing the known ones."""
    _ensure_builtin()
    try:
        return _ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(_ADAPTERS)) or "none"
        raise Invalid(f"channel adapter {name!r} is not registered (known: {known})") from None


def adapter_names() -> list[str]:
    """Names of the registered adapters."""
    _ensure_builtin()
    return sorted(_ADAPTERS)


def _ensure_builtin() -> None:
    # The built-in adapters register themselves on import; importing here keeps callers free of it.
    import siyu.channels.loopback
    import siyu.channels.staff_task
    import siyu.channels.wecom.adapter  # noqa: F401
