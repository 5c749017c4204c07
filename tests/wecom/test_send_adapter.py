"""The WeCom adapter and mass-send tracking against the fake server: templates, confirm tasks, results, reminders."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fake_wecom.server import FakeServer
from siyu.channels.contract import get_adapter
from siyu.errors import Conflict
from siyu.journeys.contract import TouchRequest
from siyu.journeys.sending import queue_touches
from siyu.models import CustomerIdentity, Event, OutboundMessage, Script, ScriptApproval, Staff, StaffTask
from siyu.models.customers import IdentityKind
from siyu.models.enums import TaskStatus
from siyu.models.journeys import SendStatus
from siyu.models.wecom import WecomGroupMessage
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.wecom import groupmsg_service as gm
from siyu.wecom.credentials import save_app
from tests.journeys.send_world import T0, World, build

AES_KEY = "A" * 43


def _setup(session: Session, fake: FakeServer, customers: int = 12) -> tuple[World, dict[int, str]]:
    """Siyu world + the same people on the fake: staff s0/s1, customers followed by their owner."""
    save_app(
        session, SYSTEM_ACTOR, corp_id=fake.corp.corp_id, secret="fake-secret", callback_token="tok123",
        aes_key=AES_KEY, api_base_url=fake.base_url,
    )  # fmt: skip
    world = build(session, customers=customers, opted_out=0)
    for i, sid in enumerate(world.staff_ids):
        session.execute(update(Staff).where(Staff.id == sid).values(wecom_userid=f"s{i}"))
        fake.corp.add_staff(f"s{i}")
    owner_of: dict[int, str | None] = {
        sid: uid for sid, uid in session.execute(select(Staff.id, Staff.wecom_userid))
    }
    from siyu.models import Customer

    owners: dict[int, int | None] = {
        c: o for c, o in session.execute(select(Customer.id, Customer.owner_staff_id))
    }
    ext_of: dict[int, str] = {}
    for n, cid in enumerate(world.customer_ids):
        if n == 0:
            continue  # customer 0 is not a WeCom contact
        ext = fake.corp.add_contact(f"顾客{n}").external_userid
        ext_of[cid] = ext
        session.add(CustomerIdentity(customer_id=cid, kind=IdentityKind.wecom_external_userid, value=ext))
        if n != 1:  # customer 1 is known to Siyu but no longer a friend on WeCom → fail_list
            fake.corp.add_follow(str(owner_of[owners[cid] or 0]), ext)
    session.flush()
    return world, ext_of


def _plain_script(session: Session) -> int:
    script = Script(
        title="周末活动", category="product", body="周末会员日，全场九折", approval=ScriptApproval.approved
    )
    session.add(script)
    session.flush()
    return script.id


def _touches(world: World, script_id: int, source_id: int = 1) -> list[TouchRequest]:
    return [
        TouchRequest(f"mass:{source_id}:c{cid}", "mass_send", source_id, "wecom", script_id, customer_id=cid)
        for cid in world.customer_ids
    ]


def test_adapter_is_registered() -> None:
    assert get_adapter("wecom").name == "wecom"


def test_deliver_creates_one_template_per_sender_with_a_confirm_task(
    session: Session, fake_wecom: FakeServer
) -> None:
    world, ext_of = _setup(session, fake_wecom)
    script_id = _plain_script(session)
    summary = queue_touches(session, _touches(world, script_id), T0)
    session.flush()
    rows = session.execute(
        select(OutboundMessage.customer_id, OutboundMessage.status, OutboundMessage.reason, OutboundMessage.external_id,
               OutboundMessage.task_id).where(OutboundMessage.channel == "wecom")
    ).all()  # fmt: skip
    by_customer = {r.customer_id: r for r in rows}
    assert len(rows) == len(world.customer_ids)
    c0, c1 = world.customer_ids[0], world.customer_ids[1]
    assert (
        by_customer[c0].status == SendStatus.failed and "no WeCom external userid" in by_customer[c0].reason
    )
    assert by_customer[c1].status == SendStatus.failed and "not a friend" in by_customer[c1].reason
    queued = [r for r in rows if r.status == SendStatus.queued]
    assert len(queued) == len(world.customer_ids) - 2 == summary.counts["queued"]
    templates = session.scalars(select(WecomGroupMessage)).all()
    assert len(templates) == 2  # one per sender: the text is the same for everyone
    fake_templates = fake_wecom.corp.templates
    assert {t.msgid for t in templates} == set(fake_templates)
    for t in templates:
        mine = [r for r in queued if r.external_id == t.msgid]
        assert t.recipients == len(mine) and t.staff_status == "pending" and t.chat_type == "single"
        sender = session.scalar(select(Staff.wecom_userid).where(Staff.id == t.staff_id))
        assert sorted(fake_templates[t.msgid].recipients[str(sender)]) == sorted(
            ext_of[r.customer_id] for r in mine
        )
        task = session.get(StaffTask, t.task_id)
        assert task is not None and task.staff_id == t.staff_id and task.status == TaskStatus.open
        assert task.idempotency_key == f"wecom-msg:{t.msgid}" and task.body == "周末会员日，全场九折"
        assert {r.task_id for r in mine} == {None}  # WeCom's per-recipient result confirms rows, not the task
    # The same touches again are duplicates: no second template on WeCom.
    again = queue_touches(session, _touches(world, script_id), T0)
    assert again.counts == {"duplicate": len(world.customer_ids)} and len(fake_templates) == 2


def test_personalised_text_splits_templates_and_group_sends_use_chat_ids(
    session: Session, fake_wecom: FakeServer
) -> None:
    world, _ext = _setup(session, fake_wecom, customers=4)
    # {name} differs per customer: WeCom sends one text to all, so each customer gets their own template.
    queue_touches(session, _touches(world, world.script_id), T0)
    assert session.scalar(select(func.count()).select_from(WecomGroupMessage)) == 2  # customers 2 and 3
    fake_wecom.corp.simulate_create_group("s1", "会员群")
    chat_id = next(iter(fake_wecom.corp.groups))
    from siyu.models import ChatGroup

    session.execute(update(ChatGroup).where(ChatGroup.id == world.group_id).values(external_id=chat_id))
    script_id = _plain_script(session)
    queue_touches(
        session, [TouchRequest("g:1", "mass_send", 2, "wecom", script_id, group_id=world.group_id)], T0
    )
    row = session.execute(
        select(WecomGroupMessage).where(WecomGroupMessage.chat_type == "group")
    ).scalar_one()
    assert fake_wecom.corp.templates[row.msgid].recipients == {"s1": [chat_id]}
    out = session.execute(
        select(OutboundMessage).where(OutboundMessage.group_id == world.group_id)
    ).scalar_one()
    assert (out.status, out.external_id) == (SendStatus.queued, row.msgid)


def test_tracking_confirms_fails_and_caps_per_customer(session: Session, fake_wecom: FakeServer) -> None:
    world, ext_of = _setup(session, fake_wecom)
    corp = fake_wecom.corp
    corp.monthly_cap = lambda _y, _m: 1  # one receipt per customer per month on the fake
    # Two customers of s0 already received a mass send this month → WeCom status 3 (over the limit).
    from fake_wecom.api_groups import receive_window

    window, cap = receive_window(corp, corp.now())
    assert cap == 1
    s0_id = world.staff_ids[0]
    s0_customers = [c for c in world.customer_ids[2:] if c in ext_of and _owner(session, c) == s0_id]
    capped = s0_customers[:2]
    for cid in capped:
        corp.receipts[(ext_of[cid], *window)] = 1
    script_id = _plain_script(session)
    queue_touches(session, _touches(world, script_id), T0)
    session.flush()
    t0 = session.execute(select(WecomGroupMessage).where(WecomGroupMessage.staff_id == s0_id)).scalar_one()
    # One customer unfriends s0 after the template was made → status 2 when s0 sends.
    gone = s0_customers[2]
    corp.remove_follow("s0", ext_of[gone])
    now = T0 + timedelta(hours=1)
    first = gm.track_group_messages(session, now)
    assert first.staff_sent == 0 and first.checked == 2 and first.rows_confirmed == 0
    counts = corp.simulate_confirm_groupmsg(t0.msgid, "s0")
    second = gm.track_group_messages(session, now + timedelta(minutes=5))
    session.flush()
    assert second.staff_sent == 1 and second.tasks_done == 1
    session.refresh(t0)
    assert (t0.staff_status, t0.sent_count, t0.not_friend_count, t0.over_limit_count) == (
        "sent", counts[1], counts[2], counts[3]
    )  # fmt: skip
    assert counts[3] == 2 and counts[2] == 1 and t0.closed_at is not None
    # Reconcile with raw outbound rows of this template.
    raw = Counter(
        (r.status, r.reason)
        for r in session.execute(
            select(OutboundMessage.status, OutboundMessage.reason).where(
                OutboundMessage.external_id == t0.msgid
            )
        )
    )
    assert raw == Counter(
        {(SendStatus.confirmed, None): counts[1], (SendStatus.failed, gm.NOT_FRIEND): 1,
         (SendStatus.capped, gm.OVER_LIMIT): 2}
    )  # fmt: skip
    capped_rows = [
        c
        for c in session.scalars(
            select(OutboundMessage.customer_id).where(OutboundMessage.status == SendStatus.capped)
        )
        if c is not None
    ]
    assert sorted(capped_rows) == sorted(capped)
    task = session.get(StaffTask, t0.task_id)
    assert task is not None and task.status == TaskStatus.done
    events = session.scalars(
        select(Event).where(Event.kind == "task_done", Event.subject_id == t0.task_id)
    ).all()
    assert len(events) == 1 and events[0].staff_id == s0_id
    # Closed templates are not polled again; the other sender's stays open.
    calls_before = corp.call_counts()["externalcontact/get_groupmsg_task"]
    third = gm.track_group_messages(session, now + timedelta(minutes=10))
    assert third.checked == 1 and corp.call_counts()["externalcontact/get_groupmsg_task"] == calls_before + 1


def _owner(session: Session, customer_id: int) -> int | None:
    from siyu.models import Customer

    return session.scalar(select(Customer.owner_staff_id).where(Customer.id == customer_id))


def test_reminders_respect_three_per_day_and_close_after_three_days(
    session: Session, fake_wecom: FakeServer
) -> None:
    world, _ext = _setup(session, fake_wecom, customers=6)
    queue_touches(session, _touches(world, _plain_script(session)), T0)
    session.flush()
    message = session.scalars(select(WecomGroupMessage).order_by(WecomGroupMessage.id)).first()
    assert message is not None
    early = gm.track_group_messages(session, T0 + timedelta(hours=1))
    assert early.reminded == 0  # not before AUTO_REMIND_AFTER
    auto = gm.track_group_messages(session, T0 + timedelta(hours=5))
    assert auto.reminded == 2 and message.reminded_count == 1
    with pytest.raises(Conflict, match="3 reminders per 24 h"):
        gm.remind(session, SYSTEM_ACTOR, message.id, T0 + timedelta(hours=6))
    gm.remind(session, SYSTEM_ACTOR, message.id, T0 + timedelta(hours=13, minutes=1))
    assert message.reminded_count == 2
    fake_reminders = fake_wecom.corp.templates[message.msgid].reminders
    assert len(fake_reminders) == 2
    # Every reminder Siyu allows over three days stays within WeCom's 3 per 24 h.
    times = [T0 + timedelta(hours=5), T0 + timedelta(hours=13, minutes=1)]
    now = T0 + timedelta(hours=13, minutes=1)
    while now < T0 + timedelta(days=3):
        now += timedelta(minutes=30)
        if gm.may_remind(message, now):
            message.reminded_count += 1
            message.last_reminded_at = now
            times.append(now)
    assert all(sum(1 for t in times if s <= t <= s + timedelta(hours=24)) <= 3 for s in times)
    closing = gm.track_group_messages(session, T0 + timedelta(days=3, minutes=1))
    assert closing.closed == 2
    session.flush()
    # Nobody confirmed within three days: the queued rows fail naming why and the confirm tasks are cancelled.
    queued_before = session.scalar(
        select(func.count()).where(
            OutboundMessage.reason == gm.NOT_CONFIRMED, OutboundMessage.status == SendStatus.failed
        )
    )
    assert (
        queued_before
        == closing.rows_failed
        == sum(t.recipients for t in session.scalars(select(WecomGroupMessage)))
    )
    assert set(session.scalars(select(StaffTask.status).where(StaffTask.kind == "send_message"))) == {
        TaskStatus.cancelled
    }
    assert session.scalar(select(func.count()).where(WecomGroupMessage.closed_at.is_(None))) == 0


def test_cancel_marks_rows_failed_and_cancels_the_task(session: Session, fake_wecom: FakeServer) -> None:
    world, _ext = _setup(session, fake_wecom, customers=5)
    queue_touches(session, _touches(world, _plain_script(session)), T0)
    session.flush()
    message = session.scalars(select(WecomGroupMessage).order_by(WecomGroupMessage.id)).first()
    assert message is not None
    gm.cancel(session, SYSTEM_ACTOR, message.id, T0 + timedelta(hours=1))
    session.flush()
    assert fake_wecom.corp.templates[message.msgid].cancelled
    assert message.staff_status == "cancelled" and message.closed_at is not None
    task = session.get(StaffTask, message.task_id)
    assert task is not None and task.status == TaskStatus.cancelled
    statuses = set(
        session.scalars(select(OutboundMessage.status).where(OutboundMessage.external_id == message.msgid))
    )
    assert statuses == {SendStatus.failed}
    with pytest.raises(Conflict):
        gm.cancel(session, SYSTEM_ACTOR, message.id, T0 + timedelta(hours=2))


def test_not_configured_fails_deliveries_with_a_reason(session: Session) -> None:
    world = build(session, customers=2, opted_out=0)
    script_id = _plain_script(session)
    summary = queue_touches(session, _touches(world, script_id), T0)
    assert summary.counts == {"failed": 2}
    reasons = set(session.scalars(select(OutboundMessage.reason)))
    assert len(reasons) == 2 and all(r and "has no WeCom userid" in r for r in reasons)
    for sid in world.staff_ids:
        session.execute(update(Staff).where(Staff.id == sid).values(wecom_userid=f"u{sid}"))
    for cid in world.customer_ids:
        session.add(
            CustomerIdentity(customer_id=cid, kind=IdentityKind.wecom_external_userid, value=f"wm{cid}")
        )
    session.flush()
    again = queue_touches(session, _touches(world, script_id, source_id=2), T0)
    assert again.counts == {"failed": 2}
    reason = session.scalar(select(OutboundMessage.reason).where(OutboundMessage.source_id == 2))
    assert reason is not None and "WeCom is not configured" in reason


def test_large_buckets_are_chunked_into_several_templates(
    session: Session, fake_wecom: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from siyu.channels.wecom import adapter

    monkeypatch.setattr(adapter, "SINGLE_CHUNK", 2)  # WeCom's 10,000, scaled down
    world, _ext = _setup(session, fake_wecom, customers=12)
    queue_touches(session, _touches(world, _plain_script(session)), T0)
    session.flush()
    sizes = sorted(len(t.recipients[next(iter(t.recipients))]) for t in fake_wecom.corp.templates.values())
    # Eleven WeCom contacts, one refused (not a friend): s0's five go 2 + 2 + 1, s1's six 2 + 2 + 2 minus the refusal.
    assert sizes == [1, 1, 2, 2, 2, 2]
    templates = session.scalars(select(WecomGroupMessage)).all()
    assert len(templates) == len(fake_wecom.corp.templates) == 6
    assert sum(t.recipients for t in templates) == 10


def test_scope_limits_the_list_and_detail(session: Session, fake_wecom: FakeServer) -> None:
    from siyu.errors import Forbidden, NotFound
    from siyu.org.permissions import Actor, DataScope, PermissionRole
    from siyu.wecom.groupmsg_queries import list_mass_sends, mass_send_detail

    world, _ext = _setup(session, fake_wecom, customers=6)
    queue_touches(session, _touches(world, _plain_script(session)), T0)
    session.flush()
    s0, s1 = world.staff_ids
    guide = Actor(None, "g0", PermissionRole.guide, DataScope.self_, staff_id=s0)
    mine = list_mass_sends(session, guide)
    assert [r.staff_id for r in mine] == [s0]
    other = session.scalars(select(WecomGroupMessage.id).where(WecomGroupMessage.staff_id == s1)).one()
    with pytest.raises(NotFound):
        mass_send_detail(session, guide, other)
    with pytest.raises(Forbidden):
        gm.remind(session, guide, mine[0].id, T0 + timedelta(hours=5))
    detail = mass_send_detail(session, guide, mine[0].id)
    # Recipients listed are the guide's own customers; the counts cover the whole template.
    assert sum(detail.by_status.values()) == len(detail.recipients) == mine[0].recipients


def test_sources_never_share_a_template_so_results_reach_every_row(
    session: Session, fake_wecom: FakeServer
) -> None:
    world, ext_of = _setup(session, fake_wecom, customers=8)
    script_id = _plain_script(session)
    reachable = [c for c in world.customer_ids if c in ext_of][1:]  # customer 1 is not a friend
    requests = [
        TouchRequest(f"src:{n}:{cid}", "mass_send" if n % 2 else "journey_step", 100 + n % 2, "wecom", script_id,
                     customer_id=cid)
        for n, cid in enumerate(reachable)
    ]  # fmt: skip
    queue_touches(session, requests, T0)
    session.flush()
    templates = session.scalars(select(WecomGroupMessage)).all()
    # One template per (sender, source): the same text from two sources is never merged.
    expected = {
        ("mass_send" if n % 2 else "journey_step", 100 + n % 2, _owner(session, c))
        for n, c in enumerate(reachable)
    }
    assert sorted((t.source_type, t.source_id, t.staff_id) for t in templates) == sorted(expected)
    userid_of = {sid: uid for sid, uid in session.execute(select(Staff.id, Staff.wecom_userid))}
    for t in templates:
        fake_wecom.corp.simulate_confirm_groupmsg(t.msgid, str(userid_of[t.staff_id]))
    gm.track_group_messages(session, T0 + timedelta(hours=1))
    session.flush()
    statuses = Counter(
        session.scalars(select(OutboundMessage.status).where(OutboundMessage.idempotency_key.like("src:%")))
    )
    assert statuses == Counter({SendStatus.confirmed: len(reachable)})
