"""seed_mass_sends on a small built demo: realistic results that reconcile with the raw rows."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.demo.builder import DemoParams, build_demo
from siyu.demo.mass_sends import seed_mass_sends
from siyu.journeys.mass_send_service import list_mass_sends
from siyu.models import Event, MassSend, OutboundMessage, StaffTask


def test_seed_mass_sends_on_a_small_demo(engine: Engine) -> None:
    params = DemoParams(customers=1_500, seed=7)
    with session_factory(engine)() as s:
        build_demo(s, params)
        if not s.scalar(select(func.count()).select_from(MassSend)):  # the builder may not call it (yet)
            seed_mass_sends(s, params.as_of)
        s.commit()
    with session_factory(engine)() as s:
        sends = {m.name: m for m in list_mass_sends(s)}
        assert len(sends) == 3
        morning, afternoon, later = (
            sends[n] for n in ("会员日满减提醒（上午）", "会员日满减提醒（下午补发）", "周末新品预告")
        )
        assert later.status == "scheduled" and later.results.total == 0
        for m in (morning, afternoon):
            raw = Counter(
                st.value
                for st in s.scalars(
                    select(OutboundMessage.status).where(
                        OutboundMessage.idempotency_key.like(f"mass:{m.id}:%")
                    )
                )
            )
            assert m.results.model_dump() == {k: raw.get(k, 0) for k in m.results.model_dump()}
            assert m.status == "done" and m.results.total == m.audience_count > 0
            assert m.results.confirmed > 0 and m.results.queued > 0
            row = s.get(MassSend, m.id)
            assert row is not None and row.capped_count == m.results.capped
        assert afternoon.results.capped > 0  # the overlap with the morning send hit the 1-a-day brand cap
        assert morning.results.opted_out + afternoon.results.opted_out > 0
        done_tasks = s.scalar(
            select(func.count())
            .select_from(StaffTask)
            .where(StaffTask.kind == "send_message", StaffTask.status == "done")
        )
        assert done_tasks == morning.results.confirmed + afternoon.results.confirmed
        events = s.scalar(
            select(func.count())
            .select_from(Event)
            .join(StaffTask, StaffTask.id == Event.subject_id)
            .where(
                Event.kind == "task_done",
                Event.subject_type == "staff_task",
                StaffTask.kind == "send_message",
            )
        )
        assert events == done_tasks
