"""The fake's callbacks are signed and encrypted so that an independent implementation (wechatpy) accepts them."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import defusedxml.ElementTree as ET
import httpx
import pytest
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from fake_wecom.callbacks import CallbackConfig, event_xml, verify_url_request
from fake_wecom.crypto_fake import callback_signature, decrypt_from_callback, encrypt_for_callback
from fake_wecom.models import FakeContactWay
from fake_wecom.server import FakeServer

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"  # 43 characters (the docs' sample key)
CORP = "wwfakecorp"


def oracle() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, AES_KEY, CORP)


def fields(xml: str | bytes) -> dict[str, Any]:
    root = ET.fromstring(xml)
    out: dict[str, Any] = {}
    for child in root:
        items = list(child)
        out[child.tag] = [i.text for i in items] if items else child.text
    return out


class Captured:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, text="success")

    def decrypted(self, index: int = -1) -> dict[str, Any]:
        request = self.requests[index]
        q = request.url.params
        plain = oracle().decrypt_message(
            request.content.decode(), q["msg_signature"], q["timestamp"], q["nonce"]
        )
        return fields(plain)


@pytest.fixture
def captured(fake_wecom: FakeServer) -> Captured:
    cap = Captured()
    fake_wecom.corp.configure_callback("http://siyu.invalid/wecom/callback", TOKEN, AES_KEY)
    fake_wecom.corp.callback_transport = httpx.MockTransport(cap)
    return cap


def test_fixed_vector_round_trips_through_wechatpy() -> None:
    plain = b"<xml><Content><![CDATA[hello]]></Content></xml>"
    encrypted = encrypt_for_callback(AES_KEY, CORP, plain, prefix=b"0123456789abcdef")
    assert encrypted == encrypt_for_callback(AES_KEY, CORP, plain, prefix=b"0123456789abcdef")
    assert len(base64.b64decode(encrypted)) % 32 == 0
    signature = callback_signature(TOKEN, "1409659813", "1372623149", encrypted)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    assert oracle().decrypt_message(body, signature, "1409659813", "1372623149") == plain.decode()
    with pytest.raises(InvalidSignatureException):
        oracle().decrypt_message(body, "0" * 40, "1409659813", "1372623149")
    # and the other direction: wechatpy encrypts, the fake decrypts
    reply = fields(oracle().encrypt_message("<xml><A>中文</A></xml>", "nonce1", "1409659813"))
    assert reply["MsgSignature"] == callback_signature(TOKEN, "1409659813", "nonce1", reply["Encrypt"])
    assert decrypt_from_callback(AES_KEY, reply["Encrypt"]) == ("<xml><A>中文</A></xml>".encode(), CORP)


def test_url_verification_request_is_accepted_by_wechatpy() -> None:
    params = verify_url_request(
        CallbackConfig("http://x", TOKEN, AES_KEY, "1"), CORP, "echo-123", 1_700_000_000
    )
    echoed = oracle().check_signature(
        params["msg_signature"], params["timestamp"], params["nonce"], params["echostr"]
    )
    assert echoed in ("echo-123", b"echo-123")


def test_event_xml_uses_cdata_numbers_and_items() -> None:
    xml = event_xml({"Event": "x]]>y", "CreateTime": 5, "MemChangeList": ["wm1", "wm2"]})
    assert fields(xml) == {"Event": "x]]>y", "CreateTime": "5", "MemChangeList": ["wm1", "wm2"]}


def test_scan_callback_decrypts_with_wechatpy(fake_wecom: FakeServer, captured: Captured) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    corp.contact_ways["cw1"] = FakeContactWay("cw1", 1, 2, "qr", state="store_poster", user=["u1"])
    ext = corp.simulate_scan("cw1")
    request = captured.requests[0]
    assert request.method == "POST" and request.url.path == "/wecom/callback"
    envelope = fields(request.content)
    assert envelope["ToUserName"] == CORP and envelope["AgentID"] == corp.agent_id
    event = captured.decrypted()
    assert event["ToUserName"] == CORP and event["MsgType"] == "event"
    assert event["Event"] == "change_external_contact" and event["ChangeType"] == "add_external_contact"
    assert (event["UserID"], event["ExternalUserID"], event["State"]) == ("u1", ext, "store_poster")
    assert event["WelcomeCode"] in corp.welcome_codes
    assert abs(int(event["CreateTime"]) - corp.now()) < 5
    assert corp.callbacks_sent[0].ok and corp.callbacks_sent[0].body == "success"


def test_every_simulated_action_emits_its_event(fake_wecom: FakeServer, captured: Captured) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    corp.add_staff("u2")
    a = corp.simulate_add("u1", "甲")
    b = corp.simulate_add("u2", "乙")
    corp.simulate_edit_contact("u1", a, remark_mobiles=["13800000000"])  # mobile-only edits fire nothing
    corp.simulate_edit_contact("u1", a, remark="老客户")
    chat = corp.simulate_create_group("u1", "福利群", external_userids=[a])
    corp.simulate_join_group(chat, b, join_scene=3)
    corp.simulate_leave_group(chat, a, quit_scene=1)
    corp.simulate_dismiss_group(chat)
    tag = corp.simulate_tag_change("create", group_name="兴趣", name="香氛")
    corp.simulate_customer_deletes_staff("u1", a)
    corp.simulate_staff_deletes_customer("u2", b)
    events = [captured.decrypted(i) for i in range(len(captured.requests))]
    assert [(e["Event"], e["ChangeType"]) for e in events] == [
        ("change_external_contact", "add_external_contact"),
        ("change_external_contact", "add_external_contact"),
        ("change_external_contact", "edit_external_contact"),
        ("change_external_chat", "create"),
        ("change_external_chat", "update"),
        ("change_external_chat", "update"),
        ("change_external_chat", "dismiss"),
        ("change_external_tag", "create"),
        ("change_external_contact", "del_follow_user"),
        ("change_external_contact", "del_external_contact"),
    ]
    join, leave = events[4], events[5]
    assert (join["UpdateDetail"], join["JoinScene"], join["MemChangeCnt"], join["MemChangeList"]) == (
        "add_member",
        "3",
        "1",
        [b],
    )
    assert (leave["UpdateDetail"], leave["QuitScene"], leave["MemChangeList"]) == ("del_member", "1", [a])
    assert events[7]["Id"] == tag and corp.tags[tag].name == "香氛"
    assert all(e["ChatId"] == chat for e in events[3:7])
    assert corp.follow("u1", a) is None and corp.follow("u2", b) is None


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, list[str]], bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Receiver.received.append((parse_qs(urlparse(self.path).query), self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/wecom/callback"
    server.shutdown()
    thread.join()


def test_callbacks_travel_over_loopback_and_failures_are_recorded(
    fake_wecom: FakeServer, receiver: str
) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    corp.configure_callback(receiver, TOKEN, AES_KEY)
    ext = corp.simulate_add("u1", "丙", state="live_room")
    ((query, body),) = _Receiver.received
    plain = oracle().decrypt_message(
        body.decode(), query["msg_signature"][0], query["timestamp"][0], query["nonce"][0]
    )
    assert fields(plain)["ExternalUserID"] == ext and fields(plain)["State"] == "live_room"
    corp.configure_callback("http://127.0.0.1:9/nothing-listens", TOKEN, AES_KEY)
    corp.simulate_customer_deletes_staff("u1", ext)
    failed = corp.callbacks_sent[-1]
    assert failed.status_code is None and failed.error and not failed.ok
    assert corp.events[-1]["ChangeType"] == "del_follow_user"  # still recorded in the outbox


def test_redeliver_sends_the_same_event_again(fake_wecom: FakeServer, captured: Captured) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    corp.simulate_add("u1", "丁")
    corp.advance(3)
    resent = httpx.post(f"{fake_wecom.root_url}/fake/redeliver", json={})
    assert resent.status_code == 200 and resent.json()["result"]["status_code"] == 200
    first, second = captured.decrypted(0), captured.decrypted(1)
    assert first == second  # same CreateTime, same WelcomeCode: the receiver must dedupe
    assert captured.requests[0].url.params["nonce"] != captured.requests[1].url.params["nonce"]
    assert len(corp.events) == 1


def test_verify_callback_url_checks_the_echo(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.configure_callback("http://siyu.invalid/wecom/callback", TOKEN, AES_KEY)

    def honest(request: httpx.Request) -> httpx.Response:
        q = request.url.params
        echo = oracle().check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        return httpx.Response(200, text=echo.decode() if isinstance(echo, bytes) else echo)

    corp.callback_transport = httpx.MockTransport(honest)
    assert corp.verify_callback_url("abc123") == (True, 200, "abc123")
    corp.callback_transport = httpx.MockTransport(lambda request: httpx.Response(200, text='"abc123"\n'))
    assert corp.verify_callback_url("abc123")[0] is False
