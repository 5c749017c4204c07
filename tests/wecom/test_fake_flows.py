"""The fake's simulated client actions: welcome-code window, mass-send caps, transfers, moments, /fake endpoints."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

import httpx

from fake_wecom.api_groups import receive_window
from fake_wecom.server import FakeServer
from tests.wecom.test_fake_server import get, post, token


def _corp_with_code(fake: FakeServer, *users: str) -> str:
    corp = fake.corp
    for u in users:
        corp.add_staff(u)
    made = post(fake, "externalcontact/add_contact_way", type=2, scene=2, user=list(users), state="live_room")
    return str(made["config_id"])


def test_scan_creates_follow_with_state_and_a_single_use_welcome_code(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    config_id = _corp_with_code(fake_wecom, "u1", "u2")
    first = corp.simulate_scan(config_id, name="客户甲")
    second = corp.simulate_scan("live_room", name="客户乙")  # by state; multi-member codes rotate
    assert corp.follow("u1", first).state == "live_room"  # type: ignore[union-attr]
    assert corp.follow("u2", second) is not None
    event = corp.events[0]
    assert event["ChangeType"] == "add_external_contact" and event["State"] == "live_room"
    tok = token(fake_wecom)
    send = {"welcome_code": event["WelcomeCode"], "text": {"content": "欢迎光临"}}
    assert post(fake_wecom, "externalcontact/send_welcome_msg", tok, **send)["errcode"] == 0
    assert post(fake_wecom, "externalcontact/send_welcome_msg", tok, **send)["errcode"] == 41051
    assert [w["external_userid"] for w in corp.welcomes_sent] == [first]
    follows = get(fake_wecom, "externalcontact/get", tok, external_userid=first)["follow_user"]
    assert follows[0]["state"] == "live_room" and follows[0]["add_way"] == 1


def test_welcome_code_expires_after_20_seconds(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    _corp_with_code(fake_wecom, "u1")
    corp.simulate_scan("live_room")
    corp.simulate_scan("live_room")
    late, in_time = corp.events[0]["WelcomeCode"], corp.events[1]["WelcomeCode"]
    corp.advance(19.5)
    tok = token(fake_wecom)
    assert (
        post(
            fake_wecom, "externalcontact/send_welcome_msg", tok, welcome_code=in_time, text={"content": "hi"}
        )["errcode"]
        == 0
    )
    corp.advance(1)
    expired = post(
        fake_wecom, "externalcontact/send_welcome_msg", tok, welcome_code=late, text={"content": "hi"}
    )
    assert expired["errcode"] == 41051 and "expired" in expired["errmsg"]


def test_console_welcome_means_no_welcome_code(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    _corp_with_code(fake_wecom, "u1")
    corp.staff["u1"].console_welcome = True
    corp.simulate_scan("live_room")
    assert "WelcomeCode" not in corp.events[0]


def test_days_in_month_cap_gives_status_3_and_unfriended_gives_2(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    customers = [corp.add_contact(f"c{i}").external_userid for i in range(3)]
    for ext in customers:
        corp.add_follow("u1", ext)
    stranger = corp.add_contact("stranger").external_userid
    corp.monthly_cap = lambda year, month: 2
    tok = token(fake_wecom)
    statuses: list[dict[str, int]] = []
    for n in range(3):
        made = post(
            fake_wecom,
            "externalcontact/add_msg_template",
            tok,
            chat_type="single",
            sender="u1",
            external_userid=[*customers, stranger],
            text={"content": f"第{n}条"},
        )
        assert made["errcode"] == 0 and made["fail_list"] == [stranger]
        if n == 2:
            corp.simulate_customer_deletes_staff("u1", customers[2])
        task = post(fake_wecom, "externalcontact/get_groupmsg_task", tok, msgid=made["msgid"])["task_list"]
        assert task == [{"userid": "u1", "status": 0}]
        corp.simulate_confirm_groupmsg(made["msgid"], "u1")
        assert (
            post(fake_wecom, "externalcontact/get_groupmsg_task", tok, msgid=made["msgid"])["task_list"][0][
                "status"
            ]
            == 2
        )
        sent = post(
            fake_wecom, "externalcontact/get_groupmsg_send_result", tok, msgid=made["msgid"], userid="u1"
        )
        statuses.append({r["external_userid"]: r["status"] for r in sent["send_list"]})
    assert statuses[0] == statuses[1] == dict.fromkeys(customers, 1)
    assert statuses[2] == {customers[0]: 3, customers[1]: 3, customers[2]: 2}
    received = sum(1 for s in statuses for v in s.values() if v == 1)
    (year, month), _cap = receive_window(corp, corp.now())
    assert received == sum(corp.receipts[(c, year, month)] for c in customers) == 6


def test_default_cap_is_the_days_of_the_month(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    assert (
        corp.monthly_cap(2026, 2) == 28
        and corp.monthly_cap(2028, 2) == 29
        and corp.monthly_cap(2026, 1) == 31
    )
    now = datetime.fromtimestamp(corp.now(), UTC)
    assert corp.monthly_cap(now.year, now.month) == calendar.monthrange(now.year, now.month)[1]


def test_corp_mass_send_goes_to_the_last_adder_and_lists_by_time(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    corp.add_staff("u2")
    ext = corp.add_contact("c").external_userid
    corp.add_follow("u1", ext, 1_700_000_000)
    corp.add_follow("u2", ext, 1_700_000_100)
    tok = token(fake_wecom)
    made = post(
        fake_wecom, "externalcontact/add_msg_template", tok, external_userid=[ext], text={"content": "x"}
    )
    assert [
        t["userid"]
        for t in post(fake_wecom, "externalcontact/get_groupmsg_task", tok, msgid=made["msgid"])["task_list"]
    ] == ["u2"]
    now = int(corp.now())
    listed = post(
        fake_wecom,
        "externalcontact/get_groupmsg_list_v2",
        tok,
        chat_type="single",
        start_time=now - 60,
        end_time=now + 60,
    )
    assert [m["msgid"] for m in listed["group_msg_list"]] == [made["msgid"]]
    assert listed["group_msg_list"][0]["create_type"] == 0
    for _ in range(3):
        assert (
            post(fake_wecom, "externalcontact/remind_groupmsg_send", tok, msgid=made["msgid"])["errcode"] == 0
        )
    assert (
        post(fake_wecom, "externalcontact/remind_groupmsg_send", tok, msgid=made["msgid"])["errcode"] == 45009
    )
    none = post(
        fake_wecom,
        "externalcontact/add_msg_template",
        tok,
        external_userid=["wmnobody"],
        text={"content": "x"},
    )
    assert none["errcode"] == 41048


def test_transfer_twice_per_90_days(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    for u in ("a", "b"):
        corp.add_staff(u)
    ext = corp.add_contact("c").external_userid
    corp.add_follow("a", ext, remark="老客户", tag_ids=[])

    def transfer(src: str, dst: str) -> int:
        body = post(
            fake_wecom,
            "externalcontact/transfer_customer",
            handover_userid=src,
            takeover_userid=dst,
            external_userid=[ext],
        )
        return int(body["customer"][0]["errcode"])

    assert transfer("a", "b") == 0
    assert transfer("a", "b") == 40128  # still waiting
    result = post(fake_wecom, "externalcontact/transfer_result", handover_userid="a", takeover_userid="b")
    assert result["customer"] == [{"external_userid": ext, "status": 2, "takeover_time": 0}]
    corp.advance(24 * 3600)
    result = post(fake_wecom, "externalcontact/transfer_result", handover_userid="a", takeover_userid="b")
    assert result["customer"][0]["status"] == 1 and result["customer"][0]["takeover_time"] > 0
    assert corp.follow("a", ext) is None and corp.follow("b", ext).remark == "老客户"  # type: ignore[union-attr]
    assert transfer("b", "a") == 0
    corp.advance(24 * 3600)
    corp.complete_transfers()
    assert transfer("a", "b") == 40128  # third within 90 days
    corp.advance(89 * 86400)
    assert transfer("a", "b") == 0  # the first one fell out of the window
    corp.simulate_transfer_fail(ext, "customer_refused")
    result = post(fake_wecom, "externalcontact/transfer_result", handover_userid="a", takeover_userid="b")
    assert result["customer"][0]["status"] == 3
    assert (
        corp.events[-1]["ChangeType"] == "transfer_fail"
        and corp.events[-1]["FailReason"] == "customer_refused"
    )
    assert transfer("b", "a") == 84061  # b never became a follower this time
    resigned = post(
        fake_wecom,
        "externalcontact/resigned/transfer_customer",
        handover_userid="a",
        takeover_userid="b",
        external_userid=[ext],
    )
    assert resigned["errcode"] == 40003  # a has not resigned


def test_moment_job_then_publish(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    corp.add_staff("u2")
    corp.moment_polls_before_done = 1
    tok = token(fake_wecom)
    body = {
        "text": {"content": "新品上市"},
        "visible_range": {"sender_list": {"user_list": ["u1", "u2", "ghost"]}},
    }
    jobid = post(fake_wecom, "externalcontact/add_moment_task", tok, **body)["jobid"]
    assert get(fake_wecom, "externalcontact/get_moment_task_result", tok, jobid=jobid)["status"] == 2
    done = get(fake_wecom, "externalcontact/get_moment_task_result", tok, jobid=jobid)
    assert done["status"] == 3 and done["result"]["invalid_sender_list"]["user_list"] == ["ghost"]
    moment_id = done["result"]["moment_id"]
    corp.simulate_publish_moment(jobid, "u2")
    tasks = post(fake_wecom, "externalcontact/get_moment_task", tok, moment_id=moment_id)["task_list"]
    assert tasks == [{"userid": "u1", "publish_status": 0}, {"userid": "u2", "publish_status": 1}]


def test_fake_http_endpoints_drive_simulations(fake_wecom: FakeServer) -> None:
    _corp_with_code(fake_wecom, "u1")
    scanned = httpx.post(
        f"{fake_wecom.root_url}/fake/scan", json={"config_id_or_state": "live_room", "name": "演示客户"}
    )
    assert scanned.status_code == 200
    ext = scanned.json()["result"]
    assert fake_wecom.corp.contacts[ext].name == "演示客户"
    missing = httpx.post(f"{fake_wecom.root_url}/fake/scan", json={"config_id_or_state": "nope"})
    assert missing.status_code == 409 and "nope" in missing.text
    assert httpx.post(f"{fake_wecom.root_url}/fake/unknown", json={}).status_code == 404
    edited = httpx.post(
        f"{fake_wecom.root_url}/fake/edit_contact",
        json={"userid": "u1", "external_userid": ext, "remark": "VIP"},
    )
    assert edited.status_code == 200 and fake_wecom.corp.events[-1]["ChangeType"] == "edit_external_contact"
    state = httpx.get(f"{fake_wecom.root_url}/fake/state").json()
    assert state["contacts"] == 1 and state["contact_ways"][0]["scans"] == 1


def test_one_per_day_rule_caps_the_second_send_of_the_day(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.receive_rule = "day_1"
    corp.add_staff("u1")
    ext = corp.add_contact("c").external_userid
    corp.add_follow("u1", ext)

    def send_and_confirm() -> int:
        made = post(
            fake_wecom,
            "externalcontact/add_msg_template",
            sender="u1",
            external_userid=[ext],
            text={"content": "x"},
        )
        return corp.simulate_confirm_groupmsg(made["msgid"], "u1")[3]

    assert send_and_confirm() == 0
    assert send_and_confirm() == 1  # one capped
    corp.advance(86400)
    assert send_and_confirm() == 0


def test_demo_page_scans_through_a_form(fake_wecom: FakeServer) -> None:
    config_id = _corp_with_code(fake_wecom, "u1")
    page = httpx.get(f"{fake_wecom.root_url}/fake/")
    assert page.status_code == 200 and "live_room" in page.text and "<script" not in page.text
    done = httpx.post(
        f"{fake_wecom.root_url}/fake/ui/scan", data={"config_id": config_id, "name": "<b>访客</b>"}
    )
    assert done.status_code == 200 and "&lt;b&gt;访客&lt;/b&gt;" in done.text
    assert [c.name for c in fake_wecom.corp.contacts.values()] == ["<b>访客</b>"]
    assert httpx.post(f"{fake_wecom.root_url}/fake/ui/scan", data={"config_id": "nope"}).status_code == 409
    assert httpx.post(f"{fake_wecom.root_url}/fake/scan", content=b"[1]").status_code == 422
