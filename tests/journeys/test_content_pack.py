"""Content packs: compose from approved scripts, publish one task per active guide per item, idempotently."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from siyu.errors import Conflict, Forbidden, Invalid
from siyu.journeys import content_pack_service as packs
from siyu.models import ContentPack, Staff, StaffTask
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.org.service import create_staff
from siyu.timeutil import brand_zone
from siyu.worker.jobs import register_builtin_jobs, registered_jobs
from tests.journeys.scripts_support import ACTIVE_GUIDES, add_script, build_world
from tests.talent.roles_support import Org, signed_in
from tests.web.conftest import csrf_from

DAY = date(2026, 11, 24)
MORNING = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai


@pytest.fixture()
def org(engine: Engine) -> Org:
    return build_world(engine)


def _tasks(session: Session) -> list[tuple[str, int, str, str]]:
    rows = session.execute(
        select(StaffTask.idempotency_key, StaffTask.staff_id, StaffTask.kind, StaffTask.body).order_by(
            StaffTask.id
        )
    ).all()
    return [(str(k), int(s), str(kind), str(b)) for k, s, kind, b in rows]


def test_publish_makes_one_task_per_active_guide_per_item_and_is_idempotent(
    session: Session, org: Org
) -> None:
    op, lead = org.actor("operator"), org.actor("lead")
    post = add_script(session, op, lead, "秋冬护肤", "今天{guide}给大家推荐保湿霜", "moments")
    forward = add_script(session, op, lead, "会员日", "{name}，会员日满199减30", "promotion")
    draft = add_script(session, op, None, "草稿", "x", "moments")
    with pytest.raises(Invalid, match="only approved"):
        packs.compose_pack(session, op, DAY, "周二", None, [packs.PackItemIn(draft.id)])
    with pytest.raises(Forbidden):
        packs.compose_pack(session, org.actor("guide"), DAY, "周二", None, [packs.PackItemIn(post.id)])
    with pytest.raises(Forbidden):  # a region manager writes scripts but does not send packs to every guide
        packs.compose_pack(session, org.actor("manager"), DAY, "周二", None, [packs.PackItemIn(post.id)])
    items = [packs.PackItemIn(post.id, "moments_post"), packs.PackItemIn(forward.id, "forward")]
    pack = packs.compose_pack(session, op, DAY, "周二内容包", "记得配图", items)
    result = packs.publish_pack(session, op, pack.id, MORNING)
    guides: dict[str, int] = dict(
        session.execute(select(Staff.code, Staff.id).where(Staff.code.in_(ACTIVE_GUIDES))).all()
    )
    names: dict[int, str] = dict(session.execute(select(Staff.id, Staff.name)).all())
    assert (result.guides, result.items, result.created, result.existing) == (4, 2, 8, 0)
    tasks = _tasks(session)
    expected = {packs.pack_key(pack.id, pos, sid) for pos in (1, 2) for sid in guides.values()}
    assert {t[0] for t in tasks} == expected
    for key, staff_id, kind, body in tasks:
        position = int(key.split(":")[2])
        assert kind == ("moments_post" if position == 1 else "forward")
        assert body == (f"今天{names[staff_id]}给大家推荐保湿霜" if position == 1 else "您，会员日满199减30")
    due = session.scalars(select(StaffTask.due_at)).all()
    assert {d.astimezone(brand_zone()) for d in due} == {datetime(2026, 11, 24, 21, 0, tzinfo=brand_zone())}
    assert pack.published_at == MORNING
    with pytest.raises(Conflict, match="already published"):
        packs.compose_pack(session, op, DAY, "again", None, items)
    again = packs.publish_pack(session, op, pack.id, MORNING)
    assert (again.created, again.existing) == (0, 8)
    # A guide hired after publishing gets the pack on the next publish, and nobody gets it twice.
    create_staff(session, code="g9", name="新导购", unit_code="s1", role_codes=["guide"])
    third = packs.publish_pack(session, op, pack.id, MORNING)
    assert (third.guides, third.created, third.existing) == (5, 2, 8)
    assert len(_tasks(session)) == 10
    assert packs.task_counts(session, [pack.id]) == {pack.id: (10, 0)}


def test_daily_job_publishes_today_once(session: Session, org: Org) -> None:
    op, lead = org.actor("operator"), org.actor("lead")
    post = add_script(session, op, lead, "早安", "早安，我是{guide}", "moments")
    assert packs.publish_due(session, SYSTEM_ACTOR, MORNING) is None  # no pack today
    packs.compose_pack(session, op, date(2026, 11, 23), "昨天", None, [packs.PackItemIn(post.id)])
    assert packs.publish_due(session, SYSTEM_ACTOR, MORNING) is None  # yesterday's is not today's
    packs.compose_pack(session, op, DAY, "今天", None, [packs.PackItemIn(post.id)])
    first = packs.publish_due(session, SYSTEM_ACTOR, MORNING)
    assert first is not None and first.created == 4
    assert packs.publish_due(session, SYSTEM_ACTOR, MORNING) is None
    assert (
        session.scalar(select(ContentPack.published_at).where(ContentPack.day == date(2026, 11, 23))) is None
    )
    register_builtin_jobs()
    job = {j.name: j for j in registered_jobs()}["journeys.publish_content_pack"]
    assert job.daily_at is not None and job.daily_at.hour == 8


def test_console_and_api_compose_and_publish(client: TestClient, session: Session, org: Org) -> None:
    op, lead = org.actor("operator"), org.actor("lead")
    post = add_script(session, op, lead, "晒单", "{guide}的今日好物", "moments")
    session.commit()
    signed_in(client, "operator")
    page = client.get("/scripts/packs", params={"day": DAY.isoformat()})
    assert page.status_code == 200 and "晒单" in page.text
    form = {
        "csrf_token": csrf_from(page.text),
        "day": DAY.isoformat(),
        "title": "周二内容包",
        "note": "",
        "script_id": [str(post.id), ""],
        "task_kind": ["moments_post", "forward"],
    }
    saved = client.post("/scripts/packs", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = client.get("/scripts/packs", params={"day": DAY.isoformat()})
    pack_id = session.scalar(select(ContentPack.id).where(ContentPack.day == DAY))
    published = client.post(
        f"/scripts/packs/{pack_id}/publish", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert published.status_code == 303
    token = org.token("operator")
    listed = client.get("/api/v1/content-packs", headers=token).json()
    assert (
        listed[0]["tasks"] == 4 and listed[0]["done"] == 0 and listed[0]["items"][0]["script_id"] == post.id
    )
    again = client.post(f"/api/v1/content-packs/{pack_id}/publish", headers=token).json()
    assert (again["created"], again["existing"]) == (0, 4)
    other = client.put(
        "/api/v1/content-packs/2026-11-25",
        json={"title": "周三", "items": [{"script_id": post.id, "task_kind": "forward"}]},
        headers=token,
    )
    assert other.status_code == 200 and other.json()["published_at"] is None
    bad = client.put(
        "/api/v1/content-packs/2026-11-25",
        json={"title": "周三", "items": [{"script_id": post.id, "task_kind": "dance"}]},
        headers=token,
    )
    assert bad.status_code == 422
    assert client.get("/api/v1/content-packs", headers=org.token("guide")).status_code == 403
