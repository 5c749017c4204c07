"""A journeys mass send on the wecom channel, end to end on the fake: run → templates → confirm → results."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fake_wecom.server import FakeServer
from siyu.journeys.mass_send_run import run_mass_send
from siyu.journeys.mass_send_schemas import MassSendCreate
from siyu.journeys.mass_send_service import create_mass_send, result_counts
from siyu.models import Staff
from siyu.models.wecom import WecomGroupMessage
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.wecom.groupmsg_service import track_group_messages
from tests.journeys.send_world import T0
from tests.wecom.test_send_adapter import _plain_script, _setup


def test_mass_send_through_wecom_reconciles_with_the_platform(
    session: Session, fake_wecom: FakeServer
) -> None:
    world, _ext = _setup(session, fake_wecom, customers=10)
    data = MassSendCreate(
        name="周末会员日",
        script_id=_plain_script(session),
        channel="wecom",
        audience_kind="customers",
        customer_ids=world.customer_ids,
    )
    row = create_mass_send(session, SYSTEM_ACTOR, data, T0)
    assert run_mass_send(session, row.id, T0)
    session.flush()
    before = result_counts(session, [row.id])[row.id]
    templates = session.scalars(select(WecomGroupMessage).where(WecomGroupMessage.source_id == row.id)).all()
    # Customer 0 has no WeCom identity, customer 1 is not a friend: the other eight wait for their sender.
    assert (before.queued, before.failed) == (8, 2) == (sum(t.recipients for t in templates), 2)
    assert {t.source_type for t in templates} == {"mass_send"}
    userid_of: dict[int | None, str | None] = {
        s: u for s, u in session.execute(select(Staff.id, Staff.wecom_userid))
    }
    results = {1: 0, 2: 0, 3: 0}
    for t in templates:
        got = fake_wecom.corp.simulate_confirm_groupmsg(t.msgid, str(userid_of[t.staff_id]))
        results = {k: results[k] + got[k] for k in results}
    summary = track_group_messages(session, T0 + timedelta(hours=1))
    session.flush()
    after = result_counts(session, [row.id])[row.id]
    assert summary.staff_sent == len(templates) and summary.tasks_done == len(templates)
    assert (after.confirmed, after.capped, after.queued) == (results[1], results[3], 0)
    assert after.failed == 2 + results[2]
    assert sum(t.sent_count for t in templates) == results[1] == 8
