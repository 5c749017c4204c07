"""Console pages and API of platform mass sends and moments, against the fake server."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from fake_wecom.server import FakeServer
from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.journeys.sending import queue_touches
from siyu.models import OutboundMessage, Staff, Tag, TagGroup
from siyu.models.journeys import SendStatus
from siyu.models.wecom import WecomGroupMessage, WecomMoment
from tests.journeys.send_world import T0
from tests.web.conftest import csrf_from, login
from tests.wecom.test_send_adapter import _plain_script, _setup, _touches


def _world(engine: Engine, fake: FakeServer, at: datetime = T0) -> tuple[int, list[int]]:
    with session_factory(engine)() as s:
        world, _ext = _setup(s, fake, customers=6)
        queue_touches(s, _touches(world, _plain_script(s)), at)
        group = TagGroup(name="会员等级")
        s.add(group)
        s.flush()
        s.add(Tag(group_id=group.id, name="金卡", wecom_tag_id="et_gold"))
        s.commit()
        first = s.scalars(select(WecomGroupMessage.id).order_by(WecomGroupMessage.id)).first()
        assert first is not None
        return first, world.staff_ids


def test_mass_send_pages_and_api_reconcile(
    client: TestClient, engine: Engine, auth: dict[str, str], fake_wecom: FakeServer
) -> None:
    message_id, _staff = _world(engine, fake_wecom, utcnow())  # the routes poll on the real clock
    listed = client.get("/api/v1/wecom/mass-sends", headers=auth)
    assert listed.status_code == 200 and len(listed.json()) == 2
    with session_factory(engine)() as s:
        msgid = s.scalar(select(WecomGroupMessage.msgid).where(WecomGroupMessage.id == message_id))
        sender = s.scalar(
            select(Staff.wecom_userid)
            .join(WecomGroupMessage, WecomGroupMessage.staff_id == Staff.id)
            .where(WecomGroupMessage.id == message_id)
        )
        raw = dict(
            s.execute(
                select(OutboundMessage.status, func.count())
                .where(OutboundMessage.external_id == msgid)
                .group_by(OutboundMessage.status)
            ).all()
        )
    assert msgid and sender
    fake_wecom.corp.simulate_confirm_groupmsg(msgid, sender)
    tracked = client.post("/api/v1/wecom/mass-sends/track", headers=auth)
    assert tracked.status_code == 200 and tracked.json()["counts"]["staff_sent"] == 1
    detail = client.get(f"/api/v1/wecom/mass-sends/{message_id}", headers=auth).json()
    assert detail["mass_send"]["staff_status"] == "sent"
    assert sum(detail["by_status"].values()) == sum(raw.values()) == len(detail["recipients"])
    # Recipients refused at creation (fail_list) stay failed; the rest are confirmed as WeCom reports.
    assert detail["by_status"]["confirmed"] == detail["mass_send"]["sent_count"] == raw[SendStatus.queued]
    assert detail["by_status"].get("failed", 0) == raw.get(SendStatus.failed, 0)
    login(client, "admin", "admin-pass-1")
    page = client.get("/wecom/mass-sends")
    assert page.status_code == 200 and msgid in page.text
    one = client.get(f"/wecom/mass-sends/{message_id}")
    assert one.status_code == 200
    shown = re.search(r'data-status="confirmed">(\d+)<', one.text)
    assert shown is not None and shown.group(1) == str(detail["mass_send"]["sent_count"])
    # The other template is still pending: remind from the page, then a second reminder is refused (409 page).
    with session_factory(engine)() as s:
        other = s.scalar(select(WecomGroupMessage.id).where(WecomGroupMessage.id != message_id))
    other_page = client.get(f"/wecom/mass-sends/{other}")
    token = csrf_from(other_page.text)
    ok = client.post(f"/wecom/mass-sends/{other}/remind", data={"csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303
    again = client.post(
        f"/wecom/mass-sends/{other}/remind", data={"csrf_token": token}, follow_redirects=False
    )
    assert again.status_code == 409 and "mass-send-error" in again.text
    with session_factory(engine)() as s:
        assert s.scalar(select(WecomGroupMessage.reminded_count).where(WecomGroupMessage.id == other)) == 1
    assert len(fake_wecom.corp.templates[str(_msgid(engine, other))].reminders) == 1


def _msgid(engine: Engine, message_id: int | None) -> str | None:
    with session_factory(engine)() as s:
        return s.scalar(select(WecomGroupMessage.msgid).where(WecomGroupMessage.id == message_id))


def test_moments_page_creates_and_api_lists(
    client: TestClient, engine: Engine, auth: dict[str, str], fake_wecom: FakeServer
) -> None:
    _message, staff_ids = _world(engine, fake_wecom)
    login(client, "admin", "admin-pass-1")
    page = client.get("/wecom/moments")
    assert page.status_code == 200 and 'id="new-moment"' in page.text
    token = csrf_from(page.text)
    with session_factory(engine)() as s:
        tag_id = s.scalar(select(Tag.id).where(Tag.wecom_tag_id == "et_gold"))
    created = client.post(
        "/wecom/moments",
        data={
            "csrf_token": token,
            "text": "周末上新",
            "staff_ids": [str(i) for i in staff_ids],
            "tag_ids": [str(tag_id)],
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    bad = client.post("/wecom/moments", data={"csrf_token": token, "text": "x"}, follow_redirects=False)
    assert bad.status_code == 422 and "moments-error" in bad.text
    with session_factory(engine)() as s:
        moment = s.scalars(select(WecomMoment)).one()
        s.execute(update(WecomMoment).values(created_at=func.now()))  # inside the polling window
        s.commit()
    detail = client.get(created.headers["location"])
    assert detail.status_code == 200 and "moment-staff" in detail.text
    polled = client.post("/api/v1/wecom/moments/poll", headers=auth).json()
    assert polled["counts"]["created"] == 1
    listed = client.get("/api/v1/wecom/moments", headers=auth).json()
    assert [(m["jobid"], m["members"], m["published"]) for m in listed] == [(moment.jobid, 2, 0)]
    fake_wecom.corp.simulate_publish_moment(moment.jobid, "s0")
    client.post("/api/v1/wecom/moments/poll", headers=auth)
    one = client.get(f"/api/v1/wecom/moments/{moment.id}", headers=auth).json()
    assert one["published"] == 1 and [
        s["published"] for s in one["staff"] if s["staff_id"] == staff_ids[0]
    ] == [True]


def test_cli_lists_tracks_reminds_and_moments(cli_env: str, engine: Engine, fake_wecom: FakeServer) -> None:
    from typer.testing import CliRunner

    from siyu.cli import app

    message_id, staff_ids = _world(engine, fake_wecom, utcnow())  # the CLI works on the real clock
    runner = CliRunner()
    listed = runner.invoke(app, ["wecom", "mass-sends", "list"])
    assert listed.exit_code == 0 and "2 mass send(s)" in listed.output, listed.output
    tracked = runner.invoke(app, ["wecom", "mass-sends", "track"])
    assert tracked.exit_code == 0 and "checked 2" in tracked.output, tracked.output
    reminded = runner.invoke(app, ["wecom", "mass-sends", "remind", str(message_id)])
    assert reminded.exit_code == 0 and "1 so far" in reminded.output, reminded.output
    msgid = _msgid(engine, message_id)
    assert msgid is not None and len(fake_wecom.corp.templates[msgid].reminders) == 1
    created = runner.invoke(
        app, ["wecom", "moments", "create", "--staff", str(staff_ids[0]), "--text", "上新"]
    )
    assert created.exit_code == 0 and "jobid" in created.output, created.output
    polled = runner.invoke(app, ["wecom", "moments", "poll"])
    assert polled.exit_code == 0 and "created 1" in polled.output, polled.output
