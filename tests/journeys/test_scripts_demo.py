"""seed_scripts in a small built demo (the builder calls it): the library, the week's packs, their tasks and events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.demo.builder import DemoParams, build_demo
from siyu.demo.scripts import DEMO_SCRIPT_KEYS, LIBRARY, VARIANTS
from siyu.journeys import content_pack_service as packs
from siyu.journeys import scripts_repository as repo
from siyu.journeys.definition_templates import load_templates
from siyu.models import ContentPack, Event, Script, ScriptApproval, StaffTask, TaskStatus


def test_seed_scripts_on_a_small_demo(engine: Engine) -> None:
    params = DemoParams(customers=1_500, seed=7)
    with session_factory(engine)() as s:
        build_demo(s, params)
        s.commit()
    with session_factory(engine)() as s:
        ours = {r[0] for r in LIBRARY} | {v[0] for v in VARIANTS}
        scripts = [sc for sc in s.scalars(select(Script)).all() if sc.title in ours]
        assert len(scripts) == len(ours) >= 40
        assert len({sc.category for sc in scripts}) >= 9
        approved = [sc for sc in scripts if sc.approval == ScriptApproval.approved]
        assert len(approved) > len(scripts) * 0.7
        assert sum(1 for sc in scripts if sc.parent_id is not None) == len(VARIANTS) == 5
        titles = {sc.title for sc in approved}
        assert set(DEMO_SCRIPT_KEYS.values()) <= titles
        # Every script a journey template refers to is in the library, approved, under the same title.
        refs = {r.title for t in load_templates() for r in t.refs}
        assert refs <= titles, refs - titles
        _, found = repo.search(s, repo.ScriptFilters(query="會員日"), 10)
        assert {f.title for f in found} >= {"会员日预告", "朋友圈：会员日"}
        day_packs = s.scalars(select(ContentPack).order_by(ContentPack.day)).all()
        assert [p.day for p in day_packs] == [params.as_of - timedelta(days=d) for d in range(6, -1, -1)]
        assert all(p.published_at is not None for p in day_packs)
        guides = len(packs.active_guides(s))
        items = packs.pack_items(s, [p.id for p in day_packs])
        tally = packs.task_counts(s, [p.id for p in day_packs])
        assert sum(t for t, _ in tally.values()) == guides * sum(len(v) for v in items.values()) > 0
        assert tally[day_packs[-1].id][1] == 0  # today's pack is still open
        done_ids = set(
            s.scalars(
                select(StaffTask.id).where(
                    StaffTask.idempotency_key.like("pack:%"), StaffTask.status == TaskStatus.done
                )
            )
        )
        assert len(done_ids) == sum(d for _, d in tally.values()) > 0
        events = s.scalars(
            select(Event.subject_id).where(
                Event.kind == "task_done", Event.subject_type == "staff_task", Event.subject_id.in_(done_ids)
            )
        ).all()
        assert sorted(events) == sorted(done_ids)  # one task_done event per done pack task
        late = s.scalar(
            select(func.count())
            .select_from(StaffTask)
            .where(StaffTask.id.in_(done_ids), StaffTask.done_at > StaffTask.due_at)
        )
        assert 0 < late < len(done_ids)
