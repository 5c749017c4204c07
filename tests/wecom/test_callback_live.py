"""Live: the fake WeCom POSTs signed, encrypted callbacks (its own crypto) to Siyu served by uvicorn."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn
from sqlalchemy import Engine, func, select

from fake_wecom.server import FakeServer
from siyu.app import create_app
from siyu.db.engine import session_factory
from siyu.models import ChannelMembership, ChatGroup, CustomerIdentity, OrgUnit, Staff, Tag
from siyu.models.enums import Channel, LeaveReason, OrgUnitKind
from siyu.models.wecom import CallbackStatus, WecomCallbackEvent
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.wecom.callback_api import CALLBACK_PATH
from siyu.wecom.callback_api import router as callback_router
from siyu.wecom.credentials import save_app

TOKEN = "LiveToken9"
AES = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx"  # 43 characters


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def siyu_url(engine: Engine) -> Iterator[str]:
    app = create_app(engine)
    if not any(getattr(r, "path", None) == CALLBACK_PATH for r in app.routes):
        app.include_router(callback_router)  # until the lead mounts it in app.py
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "Siyu did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _wait(engine: Engine, check: Callable[[object], bool], what: str) -> None:
    """Poll the database until check(session) holds (the route processes in a background task)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with session_factory(engine)() as s:
            if check(s):
                return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _statuses(s: object) -> list[CallbackStatus]:
    return list(s.scalars(select(WecomCallbackEvent.status)))  # type: ignore[attr-defined]


def test_live_callbacks(engine: Engine, fake_wecom: FakeServer, siyu_url: str) -> None:
    corp = fake_wecom.corp
    with session_factory(engine)() as s:
        save_app(
            s,
            SYSTEM_ACTOR,
            corp_id=corp.corp_id,
            secret=corp.secret,
            callback_token=TOKEN,
            aes_key=AES,
            api_base_url=fake_wecom.base_url,
        )
        store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
        s.add(store)
        s.flush()
        s.add_all([Staff(code=u, name=u, unit_id=store.id, wecom_userid=u) for u in ("u1", "u2")])
        s.commit()
    for u in ("u1", "u2"):
        corp.add_staff(u)
    corp.configure_callback(siyu_url + CALLBACK_PATH, TOKEN, AES)
    ok, status, reply = corp.verify_callback_url("echo-live-1")
    assert (ok, status, reply) == (True, 200, "echo-live-1")

    ext = corp.simulate_add("u1", name="张三")
    assert corp.callbacks_sent[-1].ok and corp.callbacks_sent[-1].body == "success"
    _wait(engine, lambda s: _statuses(s) == [CallbackStatus.done], "the add to be processed")
    corp.redeliver()  # WeCom's retry of the same event: answered, not stored twice
    assert corp.callbacks_sent[-1].body == "success"

    chat = corp.simulate_create_group("u1", "VIP群", [ext])
    _wait(
        engine, lambda s: len(_statuses(s)) == 2 and set(_statuses(s)) == {CallbackStatus.done}, "the group"
    )
    corp.simulate_leave_group(chat, ext, quit_scene=1)
    tag_id = corp.simulate_tag_change("create", group_name="会员等级", name="金卡")
    corp.simulate_customer_deletes_staff("u1", ext)
    _wait(engine, lambda s: len(_statuses(s)) == 5 and set(_statuses(s)) == {CallbackStatus.done}, "all five")

    with session_factory(engine)() as s:
        cid = s.scalars(select(CustomerIdentity.customer_id).where(CustomerIdentity.value == ext)).one()
        m = ChannelMembership
        rows = {(r.channel, r.leave_reason) for r in s.scalars(select(m).where(m.customer_id == cid))}
        assert rows == {
            (Channel.wecom, LeaveReason.customer_deleted_staff),
            (Channel.group, LeaveReason.removed_from_group),
        }
        assert s.scalars(select(ChatGroup.name)).one() == "VIP群"
        assert s.scalars(select(Tag.name).where(Tag.wecom_tag_id == tag_id)).one() == "金卡"
        # Brute force: one stored row per distinct event the fake emitted (the redelivery is not a new one).
        assert len(corp.events) == 5 == s.scalar(select(func.count()).select_from(WecomCallbackEvent))
        assert len(corp.callbacks_sent) == 6


def test_answer_time_under_load(engine: Engine, siyu_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """100 distinct callbacks over HTTP: each answered "success" well inside WeCom's 5-second limit."""
    import httpx

    from tests.wecom.test_callback_route import CORP, event_xml, signed_post
    from tests.wecom.test_callback_route import TOKEN as ROUTE_TOKEN

    with session_factory(engine)() as s:
        save_app(
            s,
            SYSTEM_ACTOR,
            corp_id=CORP,
            secret="x",
            callback_token=ROUTE_TOKEN,
            aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        )
        s.commit()
    times = []
    with httpx.Client(base_url=siyu_url, timeout=10) as http:
        for i in range(100):
            query, body = signed_post(event_xml(create_time=1700000000 + i), nonce=f"n{i}")
            started = time.perf_counter()
            r = http.post(f"{CALLBACK_PATH}?{query}", content=body)
            times.append(time.perf_counter() - started)
            assert r.text == "success"
    times.sort()
    p50, p95 = times[49], times[94]
    with capsys.disabled():
        print(f"\ncallback answer time over 100 POSTs: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    assert p95 < 1.0
    _wait(engine, lambda s: _statuses(s).count(CallbackStatus.done) == 100, "all 100 processed")


def test_live_transfer_fail_marks_the_transfer(engine: Engine, fake_wecom: FakeServer, siyu_url: str) -> None:
    """A handover started through Siyu; the customer refuses in WeCom → transfer_fail callback → refused."""
    from datetime import UTC, datetime

    from siyu.channels.wecom.client import WecomClient
    from siyu.models.wecom import HandoverTransfer, TransferKind, TransferStatus
    from siyu.wecom.contacts import upsert_contacts
    from siyu.wecom.handover_service import start_handover

    corp = fake_wecom.corp
    for u in ("u1", "u2"):
        corp.add_staff(u)
    corp.add_contact("李四", external_userid="wmLI")
    corp.add_follow("u1", "wmLI")
    with session_factory(engine)() as s:
        save_app(
            s,
            SYSTEM_ACTOR,
            corp_id=corp.corp_id,
            secret=corp.secret,
            callback_token=TOKEN,
            aes_key=AES,
            api_base_url=fake_wecom.base_url,
        )
        store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
        s.add(store)
        s.flush()
        staff = {u: Staff(code=u, name=u, unit_id=store.id, wecom_userid=u) for u in ("u1", "u2")}
        s.add_all(staff.values())
        s.flush()
        with WecomClient(corp.corp_id, corp.secret, base_url=fake_wecom.base_url) as client:
            result = upsert_contacts(s, client.get_external_contact("wmLI").rows(), datetime.now(UTC))
            start_handover(
                s,
                SYSTEM_ACTOR,
                client,
                kind=TransferKind.onjob,
                handover_staff_id=staff["u1"].id,
                takeover_staff_id=staff["u2"].id,
                customer_ids=[result.customer_ids_by_external["wmLI"]],
                now=datetime.now(UTC),
            )
        s.commit()
    corp.configure_callback(siyu_url + CALLBACK_PATH, TOKEN, AES)
    corp.simulate_transfer_fail("wmLI", "customer_limit_exceed")
    _wait(engine, lambda s: _statuses(s) == [CallbackStatus.done], "transfer_fail to be processed")
    with session_factory(engine)() as s:
        t = s.scalars(select(HandoverTransfer)).one()
        assert t.status == TransferStatus.takeover_full and "customer_limit_exceed" in (t.reason or "")
