"""The built-in channel adapters: registration, staff tasks in bulk, loopback recording, and the interface."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.channels.contract import Delivery, DeliveryResult, adapter_names, get_adapter, register_adapter
from siyu.channels.loopback import LOOPBACK
from siyu.channels.staff_task import StaffTaskAdapter
from siyu.errors import Invalid
from siyu.journeys.contract import TouchRequest
from siyu.journeys.sending import queue_touches
from siyu.models import OutboundMessage, StaffTask
from tests.journeys.send_world import T0, build


def _delivery(oid: int, staff: int | None, customer: int | None = None, text: str = "你好") -> Delivery:
    return Delivery(oid, f"k{oid}", customer, None, staff, None, text, (), "manual", None)


def test_builtins_register_themselves() -> None:
    assert {"loopback", "staff_task"} <= set(adapter_names())
    with pytest.raises(Invalid, match="known: "):
        get_adapter("wecom_missing")


def test_staff_task_adapter_bulk_and_failure(session: Session) -> None:
    w = build(session)
    adapter = StaffTaskAdapter(window=timedelta(hours=3))
    long_text = "第一行很长" * 30 + "\n第二行"
    results = adapter.deliver(
        session,
        [
            _delivery(101, w.staff_ids[0], w.customer_ids[0], long_text),
            _delivery(102, None),
            _delivery(103, w.staff_ids[1]),
        ],
        T0,
    )
    assert [r.status for r in results] == ["queued", "failed", "queued"]
    assert results[1].reason and "no staff" in results[1].reason
    tasks = {t.idempotency_key: t for t in session.scalars(select(StaffTask))}
    assert set(tasks) == {"out:101", "out:103"}
    first = tasks["out:101"]
    assert first.id == results[0].task_id and first.body == long_text and first.kind == "send_message"
    assert len(first.title) <= 60 and "\n" not in first.title and first.title.endswith("…")
    assert first.due_at == T0 + timedelta(hours=3) and first.status.value == "open"
    assert adapter.deliver(session, [], T0) == []


def test_loopback_records_and_clears(session: Session) -> None:
    LOOPBACK.clear()
    LOOPBACK.fail_keys.add("k2")
    results = LOOPBACK.deliver(session, [_delivery(1, None), _delivery(2, None)], T0)
    assert [r.status for r in results] == ["sent", "failed"]
    assert [d.outbound_id for d in LOOPBACK.delivered] == [1]
    LOOPBACK.clear()
    assert LOOPBACK.delivered == [] and LOOPBACK.fail_keys == set()


class _Platform:
    """A stand-in for a platform adapter (e.g. WeCom): confirms some, fails others, with external ids."""

    name = "fake_platform"

    def deliver(
        self, session: Session, deliveries: Sequence[Delivery], now: datetime
    ) -> list[DeliveryResult]:
        return [
            DeliveryResult(d.outbound_id, "confirmed", external_id=f"msg{d.outbound_id}")
            if d.customer_id and d.customer_id % 2
            else DeliveryResult(d.outbound_id, "failed", reason="platform said 3: over quota")
            for d in deliveries
        ]


def test_a_new_adapter_plugs_in_without_engine_changes(session: Session) -> None:
    register_adapter(_Platform())
    w = build(session, customers=6, opted_out=0)
    reqs = [
        TouchRequest(f"p{c}", "manual", None, "fake_platform", w.script_id, customer_id=c)
        for c in w.customer_ids
    ]
    summary = queue_touches(session, reqs, T0)
    rows = list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
    for row, outcome in zip(rows, summary.outcomes, strict=True):
        assert row.status.value == outcome.status
        if row.customer_id and row.customer_id % 2:
            assert row.external_id == f"msg{row.id}" and row.confirmed_at == T0 and row.sent_at == T0
        else:
            assert (
                row.status.value == "failed"
                and row.reason == "platform said 3: over quota"
                and row.sent_at is None
            )
