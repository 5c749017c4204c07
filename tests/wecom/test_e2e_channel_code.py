"""The bar test: a channel code scanned on the fake WeCom reaches Siyu as a signed callback and onboards.

Siyu runs under uvicorn on loopback with its own SQLite file database; the fake WeCom server runs beside it.
Nothing is called in-process: the channel code is created through Siyu's API (which calls add_contact_way
on the fake), the scan is simulated on the fake (which POSTs a signed, encrypted callback to Siyu), and
the assertions read Siyu's database and the fake's state.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.app import create_app
from siyu.db.engine import make_engine, session_factory
from siyu.db.migrate import upgrade
from siyu.db.types import utcnow
from siyu.journeys.engine import process_due
from siyu.journeys.triggers import scan_triggers
from siyu.models import (
    AuditLog,
    ChannelMembership,
    Customer,
    CustomerIdentity,
    CustomerTag,
    Event,
    Journey,
    JourneyEnrolment,
    JourneyStatus,
    JourneyVersion,
    OrgUnit,
    Script,
    ScriptApproval,
    Staff,
    StaffTask,
    Tag,
    TagGroup,
)
from siyu.models.enums import Channel, IdentityKind
from siyu.models.wecom import CallbackStatus, ChannelCode, WecomCallbackEvent, WecomWelcome, WelcomeStatus
from siyu.org.accounts import create_account
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.org.tokens import create_token
from siyu.wecom.credentials import save_app

fake_app = pytest.importorskip("fake_wecom.app")
fake_server = pytest.importorskip("fake_wecom.server")

AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"  # 43 characters
CALLBACK_TOKEN = "siyuE2Etoken"
CODE = "E2E_POSTER_SH01"
GUIDE = "guide01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SiyuServer:
    """Siyu's ASGI app under uvicorn in a thread on a free loopback port."""

    def __init__(self, engine: Engine) -> None:
        app = create_app(engine)
        from siyu.wecom.callback_api import CALLBACK_PATH
        from siyu.wecom.callback_api import router as callback_router

        if not any(getattr(r, "path", None) == CALLBACK_PATH for r in app.routes):
            app.include_router(callback_router)  # until the lead mounts it in app.py
        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SiyuServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("Siyu did not start under uvicorn")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class World:
    """What the test set up, by id."""

    engine: Engine
    siyu: SiyuServer
    fake: Any
    headers: dict[str, str]
    staff_id: int
    store_id: int
    linked_tag_id: int
    wecom_tag_id: str
    local_tag_id: int
    script_id: int
    journey_id: int


def _seed_siyu(session: Session, fake: Any) -> dict[str, Any]:
    region = OrgUnit(kind="region", code="R1", name="华东", path="/1/", depth=0)
    session.add(region)
    session.flush()
    store = OrgUnit(
        kind="store", code="S1", name="南京西路店", path=f"/{region.id}/2/", depth=1, parent_id=region.id
    )
    session.add(store)
    session.flush()
    staff = Staff(code="G1", name="小王", unit_id=store.id, wecom_userid=GUIDE)
    session.add(staff)
    corp_group = fake.corp.add_tag_group("渠道来源", ["门店海报"])
    wecom_tag_id = corp_group.tag_ids[0]
    linked_group = TagGroup(name="渠道来源", wecom_group_id=corp_group.group_id)
    local_group = TagGroup(name="兴趣")
    session.add_all([linked_group, local_group])
    session.flush()
    linked = Tag(group_id=linked_group.id, name="门店海报", wecom_tag_id=wecom_tag_id)
    local = Tag(group_id=local_group.id, name="新品")
    script = Script(
        title="扫码欢迎",
        category="welcome",
        body="{name}您好，我是{store}的{guide}，欢迎添加！",
        approval=ScriptApproval.approved,
    )
    session.add_all([linked, local, script])
    session.flush()
    journey = Journey(code="e2e_welcome", name="扫码欢迎旅程", status=JourneyStatus.active, current_version=1)
    session.add(journey)
    session.flush()
    journey.trigger_watermark = session.scalar(select(func.max(Event.id))) or 0
    definition = {
        "trigger": {"kind": "channel_code", "channel_code": CODE},
        "steps": [
            {
                "key": "d0",
                "name": "首日回访",
                "delay": {"days": 0},
                "actions": [{"kind": "create_task", "title": "新客首日回访", "due_hours": 24}],
            }
        ],
        "quiet_hours": None,
    }
    session.add(JourneyVersion(journey_id=journey.id, version=1, definition=definition, created_at=utcnow()))
    create_account(session, username="admin", password="admin-pass-1", role="admin", scope="all")
    token = create_token(session, "admin", "e2e")
    save_app(
        session,
        SYSTEM_ACTOR,
        corp_id=fake.corp.corp_id,
        agent_id=fake.corp.agent_id,
        secret=fake.corp.secret,
        callback_token=CALLBACK_TOKEN,
        aes_key=AES_KEY,
        api_base_url=fake.base_url,
    )
    session.flush()
    return {
        "headers": {"Authorization": f"Bearer {token}"},
        "staff_id": staff.id,
        "store_id": store.id,
        "linked_tag_id": linked.id,
        "wecom_tag_id": wecom_tag_id,
        "local_tag_id": local.id,
        "script_id": script.id,
        "journey_id": journey.id,
    }


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'siyu-e2e.db'}"
    upgrade(url, "head")
    engine = make_engine(url)
    fake = fake_server.FakeServer(fake_app.FakeCorp()).start()
    siyu = None
    try:
        fake.corp.add_staff(GUIDE, "小王")
        with session_factory(engine)() as session:
            ids = _seed_siyu(session, fake)
            session.commit()
        siyu = SiyuServer(engine).start()
        from siyu.wecom.callback_api import CALLBACK_PATH

        fake.corp.configure_callback(siyu.url + CALLBACK_PATH, CALLBACK_TOKEN, AES_KEY)
        yield World(engine=engine, siyu=siyu, fake=fake, **ids)
    finally:
        if siyu is not None:
            siyu.stop()
        fake.stop()
        engine.dispose()


def _wait_processed(engine: Engine, external_userid: str, timeout: float = 20.0) -> WecomCallbackEvent:
    deadline = time.monotonic() + timeout
    while True:
        with session_factory(engine)() as s:
            row = s.scalars(
                select(WecomCallbackEvent).where(
                    WecomCallbackEvent.external_user_id == external_userid,
                    WecomCallbackEvent.change_type == "add_external_contact",
                )
            ).first()
            if row is not None and row.status != CallbackStatus.pending:
                s.expunge(row)
                return row
        if time.monotonic() > deadline:
            raise AssertionError(
                f"callback for {external_userid} not processed within {timeout} s (row: {row})"
            )
        time.sleep(0.1)


def test_scan_to_task_end_to_end(world: World) -> None:
    api = httpx.Client(base_url=world.siyu.url, headers=world.headers, timeout=20)
    # 1. The operator creates the channel code in Siyu; Siyu creates the contact way on WeCom.
    created = api.post(
        "/api/v1/wecom/channel-codes",
        json={
            "code": CODE,
            "name": "南京西路店门店海报",
            "source_detail": "门店海报",
            "ad_campaign": "2026双十一",
            "store_id": world.store_id,
            "staff_ids": [world.staff_id],
            "tag_ids": [world.linked_tag_id, world.local_tag_id],
            "welcome_script_id": world.script_id,
            "journey_id": world.journey_id,
        },
    )
    assert created.status_code == 201, created.text
    code = created.json()
    assert code["config_id"] and code["qr_code"]
    way = world.fake.corp.contact_ways[code["config_id"]]
    assert way.state == CODE and way.user == [GUIDE]

    # 2. A customer scans the QR: the fake creates the follow and POSTs the signed, encrypted callback.
    scanned_at = time.time()
    external = world.fake.corp.simulate_scan(code["config_id"], name="林小姐")
    event = _wait_processed(world.engine, external)
    processed_in = time.time() - scanned_at
    assert event.status == CallbackStatus.done, event.error
    assert event.state == CODE and event.user_id == GUIDE and event.welcome_code

    with session_factory(world.engine)() as s:
        # 3. The customer exists with the WeCom identity, attribution and an open membership with the state.
        cid = s.scalar(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.kind == IdentityKind.wecom_external_userid,
                CustomerIdentity.value == external,
            )
        )
        assert cid is not None
        customer = s.get_one(Customer, cid)
        assert customer.source_channel_code == CODE
        assert (customer.source_ad_campaign, customer.source_detail) == ("2026双十一", "门店海报")
        assert (customer.home_store_id, customer.owner_staff_id) == (world.store_id, world.staff_id)
        memberships = s.execute(
            select(
                ChannelMembership.channel, ChannelMembership.staff_id, ChannelMembership.channel_code
            ).where(ChannelMembership.customer_id == cid, ChannelMembership.left_at.is_(None))
        ).all()
        assert [tuple(m) for m in memberships] == [(Channel.wecom, world.staff_id, CODE)]

        # 4. Both tags locally (with tagged events); the WeCom-linked one also on the fake's follow.
        local_tags = set(s.scalars(select(CustomerTag.tag_id).where(CustomerTag.customer_id == cid)))
        assert local_tags == {world.linked_tag_id, world.local_tag_id}
        tagged = s.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "tagged", Event.customer_id == cid)
        )
        assert tagged == 2
        follow = world.fake.corp.follow(GUIDE, external)
        assert follow is not None and follow.tag_ids == [world.wecom_tag_id]
        assert follow.state == CODE

        # 5. The welcome went out on the fake within WeCom's 20-second window, rendered for this customer.
        welcome = s.scalars(select(WecomWelcome).where(WecomWelcome.callback_event_id == event.id)).one()
        assert welcome.status == WelcomeStatus.sent, welcome.reason
        assert welcome.seconds_after_event is not None and welcome.seconds_after_event <= 20
        assert welcome.text == "林小姐您好，我是南京西路店的小王，欢迎添加！"
        sent = [w for w in world.fake.corp.welcomes_sent if w.get("welcome_code") == event.welcome_code]
        assert len(sent) == 1 and welcome.text in str(sent[0])

        # 6. Enrolled once, under the key the channel_code trigger scan derives: the scan adds nothing.
        enrolments = s.execute(
            select(JourneyEnrolment.entry_key, JourneyEnrolment.staff_id).where(
                JourneyEnrolment.journey_id == world.journey_id, JourneyEnrolment.customer_id == cid
            )
        ).all()
        joined = s.scalar(
            select(Event.id).where(
                Event.kind == "joined_channel", Event.customer_id == cid, Event.staff_id.is_not(None)
            )
        )
        assert [tuple(e) for e in enrolments] == [(f"event:{joined}", world.staff_id)]
        counts = scan_triggers(s, journey_ids=[world.journey_id])
        assert counts.get("enrolled", 0) == 0 and counts["hits"] == 1 and counts.get("already") == 1
        s.commit()

        # 7. The journey's day-0 step creates the guide's task.
        assert s.scalar(select(func.count()).select_from(StaffTask).where(StaffTask.customer_id == cid)) == 0
        done = process_due(s, utcnow())
        s.commit()
        assert done["done"] == 1, done
        tasks = s.execute(
            select(StaffTask.staff_id, StaffTask.title).where(StaffTask.customer_id == cid)
        ).all()
        assert [tuple(t) for t in tasks] == [(world.staff_id, "新客首日回访")]

        # 8. The funnel on the code's API row reconciles: one add, still following, no order yet.
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action.like("wecom.%"))) >= 2
        )
        row = s.scalars(select(ChannelCode).where(ChannelCode.code == CODE)).one()
    listed = api.get(f"/api/v1/wecom/channel-codes/{row.id}").json()
    assert (listed["adds"], listed["following"], listed["ordered"]) == (1, 1, 0)
    assert processed_in < 20
    calls = world.fake.corp.call_counts()
    assert calls["externalcontact/send_welcome_msg"] == 1 and calls["externalcontact/mark_tag"] == 1
    assert calls["externalcontact/add_contact_way"] == 1
    print(
        f"e2e: callback processed {processed_in:.2f} s after the scan; welcome sent {welcome.seconds_after_event:.2f} s after CreateTime"
    )
    print(f"e2e: WeCom API calls {dict(sorted(calls.items()))}")


def _wait(
    engine: Engine, change_type: str, external_userid: str, timeout: float = 20.0
) -> WecomCallbackEvent:
    deadline = time.monotonic() + timeout
    while True:
        with session_factory(engine)() as s:
            row = s.scalars(
                select(WecomCallbackEvent).where(
                    WecomCallbackEvent.external_user_id == external_userid,
                    WecomCallbackEvent.change_type == change_type,
                    WecomCallbackEvent.status != CallbackStatus.pending,
                )
            ).first()
            if row is not None:
                s.expunge(row)
                return row
        if time.monotonic() > deadline:
            raise AssertionError(f"{change_type} for {external_userid} not processed within {timeout} s")
        time.sleep(0.1)


def test_funnel_follows_scans_orders_and_deletes(world: World) -> None:
    from siyu.models import Order
    from siyu.models.enums import OrderChannel

    api = httpx.Client(base_url=world.siyu.url, headers=world.headers, timeout=20)
    body = {
        "code": "E2E_PARCEL",
        "name": "包裹卡",
        "staff_ids": [world.staff_id],
        "tag_ids": [world.linked_tag_id],
    }
    created = api.post("/api/v1/wecom/channel-codes", json=body)
    assert created.status_code == 201, created.text
    config_id, code_id = created.json()["config_id"], created.json()["id"]
    externals = [world.fake.corp.simulate_scan(config_id, name=f"顾客{i}") for i in range(3)]
    for ext in externals:
        assert _wait(world.engine, "add_external_contact", ext).status == CallbackStatus.done
    # The second customer orders; the third deletes the guide in WeChat.
    with session_factory(world.engine)() as s:
        ids = dict(
            s.execute(
                select(CustomerIdentity.value, CustomerIdentity.customer_id).where(
                    CustomerIdentity.kind == IdentityKind.wecom_external_userid
                )
            ).all()
        )
        s.add(
            Order(
                source="e2e",
                external_no="o1",
                customer_id=ids[externals[1]],
                channel=OrderChannel.miniprogram,
                amount_fen=19_900,
                paid_at=utcnow(),
            )
        )
        s.commit()
    world.fake.corp.simulate_customer_deletes_staff(GUIDE, externals[2])
    assert _wait(world.engine, "del_follow_user", externals[2]).status == CallbackStatus.done
    funnel = api.get(f"/api/v1/wecom/channel-codes/{code_id}").json()
    with session_factory(world.engine)() as s:
        rows = s.execute(
            select(ChannelMembership.customer_id, ChannelMembership.left_at).where(
                ChannelMembership.channel_code == "E2E_PARCEL"
            )
        ).all()
        ordered = s.scalar(
            select(func.count(func.distinct(Order.customer_id))).where(
                Order.customer_id.in_([r[0] for r in rows])
            )
        )
    assert (
        (funnel["adds"], funnel["following"], funnel["ordered"])
        == (
            len({r[0] for r in rows}),
            len({r[0] for r in rows if r[1] is None}),
            ordered,
        )
        == (3, 2, 1)
    )
    # This code has no welcome script: each add is recorded as skipped, and nothing reached the fake.
    with session_factory(world.engine)() as s:
        reasons = s.execute(select(WecomWelcome.status, WecomWelcome.reason)).all()
    assert [r[0] for r in reasons] == [WelcomeStatus.skipped] * 3 and "no welcome script" in str(
        reasons[0][1]
    )
    assert world.fake.corp.welcomes_sent == []
