"""Moments tasks against the fake server: create, poll the job, per-staff publish status, tasks closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fake_wecom.server import FakeServer
from siyu.errors import Invalid, NotFound
from siyu.models import Event, Staff, StaffTask, Tag, TagGroup
from siyu.models.enums import TaskStatus
from siyu.models.wecom import WecomMoment, WecomMomentStaff
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.wecom.credentials import save_app
from siyu.wecom.moments_service import create_moment, list_moments, moment_detail, poll_moments
from tests.journeys.send_world import T0, build


def _setup(session: Session, fake: FakeServer) -> tuple[list[int], int]:
    save_app(
        session, SYSTEM_ACTOR, corp_id=fake.corp.corp_id, secret="fake-secret", callback_token="tok123",
        aes_key="A" * 43, api_base_url=fake.base_url,
    )  # fmt: skip
    world = build(session, customers=2, opted_out=0)
    for i, sid in enumerate(world.staff_ids):
        session.execute(update(Staff).where(Staff.id == sid).values(wecom_userid=f"s{i}"))
        fake.corp.add_staff(f"s{i}")
    group = TagGroup(name="会员等级")
    session.add(group)
    session.flush()
    tag = Tag(group_id=group.id, name="金卡", wecom_tag_id="et_gold")
    session.add(tag)
    session.flush()
    return world.staff_ids, tag.id


def test_moment_create_poll_publish(session: Session, fake_wecom: FakeServer) -> None:
    staff_ids, tag_id = _setup(session, fake_wecom)
    corp = fake_wecom.corp
    corp.moment_polls_before_done = 1  # the job is still running at the first poll
    moment = create_moment(
        session, SYSTEM_ACTOR, staff_ids=staff_ids, text="新品到店，欢迎试穿", tag_ids=[tag_id], now=T0
    )
    session.flush()
    job = corp.moment_jobs[moment.jobid]
    assert job.senders == ["s0", "s1"] and job.tag_ids == ["et_gold"] and job.text == "新品到店，欢迎试穿"
    members = session.scalars(select(WecomMomentStaff).where(WecomMomentStaff.moment_id == moment.id)).all()
    tasks = {m.staff_id: session.get(StaffTask, m.task_id) for m in members}
    assert set(tasks) == set(staff_ids)
    assert all(
        t is not None and t.kind == "moments_post" and t.status == TaskStatus.open for t in tasks.values()
    )
    running = poll_moments(session, T0 + timedelta(minutes=1))
    assert running.created == 0 and moment.moment_id is None and moment.status == "creating"
    done = poll_moments(session, T0 + timedelta(minutes=2))
    assert done.created == 1 and moment.moment_id and moment.status == "published" and done.published == 0
    corp.simulate_publish_moment(moment.moment_id, "s1")
    later = poll_moments(session, T0 + timedelta(minutes=3))
    session.flush()
    assert later.published == 1 and later.tasks_done == 1
    s1 = staff_ids[1]
    assert tasks[s1] is not None
    session.refresh(tasks[s1])
    assert tasks[s1].status == TaskStatus.done
    events = session.scalars(
        select(Event).where(Event.kind == "task_done", Event.subject_id == tasks[s1].id)
    ).all()
    assert len(events) == 1 and events[0].staff_id == s1
    _moment, rows = moment_detail(session, SYSTEM_ACTOR, moment.id)
    assert [(r["staff_id"], r["published"]) for r in sorted(rows, key=lambda r: int(str(r["staff_id"])))] == [
        (staff_ids[0], False),
        (staff_ids[1], True),
    ]
    listed = list_moments(session, SYSTEM_ACTOR)
    assert [(x.members, x.published) for x in listed] == [(2, 1)]
    # Polling again asks only about members who have not published; nothing changes twice.
    again = poll_moments(session, T0 + timedelta(minutes=4))
    assert again.published == 0 and again.tasks_done == 0
    # After the polling window the moment is left alone.
    calls = corp.call_counts()["externalcontact/get_moment_task"]
    poll_moments(session, T0 + timedelta(days=8))
    assert corp.call_counts()["externalcontact/get_moment_task"] == calls


def test_moment_rejects_unlinked_tags_and_staff_without_userid(
    session: Session, fake_wecom: FakeServer
) -> None:
    staff_ids, _tag_id = _setup(session, fake_wecom)
    group = session.scalars(select(TagGroup)).one()
    local = Tag(group_id=group.id, name="本地标签")
    session.add(local)
    session.flush()
    with pytest.raises(Invalid, match="not WeCom corp tags"):
        create_moment(session, SYSTEM_ACTOR, staff_ids=staff_ids, text="x", tag_ids=[local.id], now=T0)
    session.execute(update(Staff).where(Staff.id == staff_ids[0]).values(wecom_userid=None))
    with pytest.raises(Invalid, match="no WeCom userid"):
        create_moment(session, SYSTEM_ACTOR, staff_ids=staff_ids, text="x", now=T0)
    with pytest.raises(NotFound):
        create_moment(session, SYSTEM_ACTOR, staff_ids=[999_999], text="x", now=T0)
    with pytest.raises(Invalid, match="2000"):
        create_moment(session, SYSTEM_ACTOR, staff_ids=staff_ids[1:], text="长" * 2001, now=T0)
    assert session.scalars(select(WecomMoment)).all() == [] and fake_wecom.corp.moment_jobs == {}
