"""WecomClient against the fake WeCom server over loopback HTTP: every endpoint, paging, errors, tokens."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from fake_wecom.corp import FakeCorp
from fake_wecom.server import FakeServer
from siyu.channels.wecom import errors as E
from siyu.channels.wecom.client import WecomClient
from siyu.channels.wecom.ratelimit import RateLimiter
from siyu.channels.wecom.schemas import WECOM_TZ, ContactWayRequest, MomentTaskRequest, MsgTemplateRequest
from siyu.channels.wecom.tokens import TokenCache


@pytest.fixture
def corp(fake_wecom: FakeServer) -> FakeCorp:
    return fake_wecom.corp


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(fake_wecom: FakeServer, sleeps: list[float]) -> Iterator[WecomClient]:
    with WecomClient(
        fake_wecom.corp.corp_id,
        fake_wecom.corp.secret,
        base_url=fake_wecom.base_url,
        tokens=TokenCache(),
        limiter=RateLimiter(per_minute=100_000, per_hour=None),
        sleep=sleeps.append,
    ) as c:
        yield c


def test_full_contact_walk_matches_the_corp(corp: FakeCorp, client: WecomClient) -> None:
    corp.seed(staff=7, customers=450, seed=3)
    staff = client.get_follow_user_list()
    assert sorted(staff) == sorted(corp.staff)
    seen: set[tuple[str, str]] = set()
    pages = 0
    for page in client.iter_contacts_by_user(staff):
        pages += 1
        assert len(page.items) <= 100
        for row in page.items:
            key = (row.follow_info.userid, row.external_contact.external_userid)
            assert key not in seen, "a pair came twice"
            seen.add(key)
    expected = {(u, ext) for u, follows in corp.follows_by_user.items() for ext in follows}
    assert seen == expected
    assert pages == -(-len(expected) // 100)
    calls = corp.call_counts()
    assert calls["gettoken"] == 1
    assert (
        calls["externalcontact/batch/get_by_user"]
        == pages
        == client.calls_by_api["externalcontact/batch/get_by_user"]
    )
    # per-member list agrees with the brute-force follow table
    userid = staff[0]
    assert sorted(client.list_external_contacts(userid)) == sorted(corp.follows_by_user[userid])


def test_follow_fields_and_detail_paging(corp: FakeCorp, client: WecomClient) -> None:
    for i in range(5):
        corp.add_staff(f"u{i}")
    group = corp.add_tag_group("等级", ["新客", "VIP"])
    contact = corp.add_contact("李四", "wmL4", unionid="")
    for i in range(5):
        corp.add_follow(
            f"u{i}",
            "wmL4",
            1700000000 + i,
            state=f"code{i}",
            remark_mobiles=["13800000000"],
            tag_ids=group.tag_ids[:1],
        )
    corp.follow_page_size = 2
    detail = client.get_external_contact("wmL4")
    assert detail.external_contact.name == contact.name and detail.external_contact.unionid is None
    assert [f.userid for f in detail.follow_user] == [f"u{i}" for i in range(5)]
    assert corp.call_counts()["externalcontact/get"] == 3
    follow = detail.follow_of("u3")
    assert follow is not None
    assert (follow.state, follow.createtime, follow.remark_mobiles) == ("code3", 1700000003, ["13800000000"])
    assert follow.tag_id == group.tag_ids[:1]
    with pytest.raises(E.InvalidUserId):
        client.get_external_contact("wm-nobody")


def test_corp_tags_round_trip(corp: FakeCorp, client: WecomClient) -> None:
    corp.add_staff("u1")
    corp.add_contact("王五", "wm5")
    corp.add_follow("u1", "wm5")
    created = client.add_corp_tag(tags=["高潜", "沉睡"], group_name="运营")
    assert [t.name for t in created.tag] == ["高潜", "沉睡"]
    more = client.add_corp_tag(tags=["流失"], group_id=created.group_id)
    assert more.group_id == created.group_id
    groups = {g.group_id: g for g in client.get_corp_tag_list()}
    assert [t.name for t in groups[created.group_id].tag] == ["高潜", "沉睡", "流失"]
    hot, sleepy = created.tag[0].id, created.tag[1].id
    client.edit_corp_tag(hot, name="高潜力")
    only = client.get_corp_tag_list(tag_ids=[hot])
    assert [t.name for g in only for t in g.tag] == ["高潜力"]
    client.mark_tag("u1", "wm5", add=[hot, sleepy])
    client.mark_tag("u1", "wm5", remove=[sleepy])
    follow = corp.follow("u1", "wm5")
    assert follow is not None and follow.tag_ids == [hot]
    client.del_corp_tag(tag_ids=[sleepy])
    assert sleepy not in corp.tags
    corp.add_contact("陌生人", "wm6")
    with pytest.raises(E.NotFriend):
        client.mark_tag("u1", "wm6", add=[hot])
    with pytest.raises(E.InvalidUserId):
        client.mark_tag("u1", "wm-nobody", add=[hot])


def test_contact_way_and_welcome(corp: FakeCorp, client: WecomClient) -> None:
    corp.add_staff("u1")
    corp.add_staff("u2")
    created = client.add_contact_way(
        ContactWayRequest(type=2, state="poster01", user=["u1", "u2"], remark="门店海报")
    )
    assert created.config_id and created.qr_code
    way = client.get_contact_way(created.config_id)
    assert (way.state, way.user, way.type, way.remark) == ("poster01", ["u1", "u2"], 2, "门店海报")
    client.update_contact_way(created.config_id, state="poster02", user=["u2"])
    way = client.get_contact_way(created.config_id)
    assert (way.state, way.user) == ("poster02", ["u2"])

    ext = corp.simulate_scan(created.config_id, userid="u2", name="扫码客")
    code = next(c for c in corp.welcome_codes.values() if c.external_userid == ext)
    client.send_welcome_msg(code.code, "欢迎光临")
    assert corp.welcomes_sent[-1]["text"] == {"content": "欢迎光临"} or "欢迎光临" in str(
        corp.welcomes_sent[-1]
    )
    with pytest.raises(E.WelcomeCodeUsed):
        client.send_welcome_msg(code.code, "again")
    assert corp.call_counts()["externalcontact/send_welcome_msg"] == 2  # 41051 is not retried

    late = corp.simulate_scan(created.config_id, userid="u2", name="晚到")
    late_code = next(c for c in corp.welcome_codes.values() if c.external_userid == late)
    corp.advance(21)
    with pytest.raises(E.WelcomeCodeUsed):
        client.send_welcome_msg(late_code.code, "太晚了")

    client.del_contact_way(created.config_id)
    with pytest.raises(E.WecomError):
        client.get_contact_way(created.config_id)


def test_mass_send_lifecycle(corp: FakeCorp, client: WecomClient) -> None:
    corp.add_staff("u1")
    for i in range(3):
        corp.add_contact(f"c{i}", f"wm{i}")
        corp.add_follow("u1", f"wm{i}")
    corp.add_contact("stranger", "wmX")
    created = client.add_msg_template(
        MsgTemplateRequest(external_userid=["wm0", "wm1", "wm2", "wmX"], sender="u1", text="双十一")
    )
    assert created.msgid and created.fail_list == ["wmX"]
    tasks = [t for page in client.iter_groupmsg_task(created.msgid) for t in page.items]
    assert [(t.userid, t.status) for t in tasks] == [("u1", 0)]
    corp.simulate_confirm_groupmsg(created.msgid, "u1")
    tasks = client.get_groupmsg_task(created.msgid).items
    assert tasks[0].status == 2 and tasks[0].send_time
    results = [r for page in client.iter_groupmsg_send_result(created.msgid, "u1") for r in page.items]
    assert sorted((r.external_userid, r.status) for r in results) == [("wm0", 1), ("wm1", 1), ("wm2", 1)]
    # WeCom reads a date as Beijing midnight: take Beijing's today, or the test fails 16:00-24:00 UTC.
    today = datetime.now(WECOM_TZ).date()
    listed = client.get_groupmsg_list_v2("single", today - timedelta(days=1), today + timedelta(days=1))
    assert created.msgid in {m.msgid for m in listed.items}
    assert next(m for m in listed.items if m.msgid == created.msgid).text == "双十一"
    every = [
        m
        for page in client.iter_groupmsg_list_v2(
            "single", today - timedelta(days=1), today + timedelta(days=1)
        )
        for m in page.items
    ]
    assert [m.msgid for m in every] == [m.msgid for m in listed.items]


def test_mass_send_over_the_monthly_cap_is_status_3(corp: FakeCorp, client: WecomClient) -> None:
    corp.add_staff("u1")
    corp.add_contact("c", "wm1")
    corp.add_follow("u1", "wm1")
    corp.monthly_cap = lambda year, month: 1
    statuses = []
    for text in ("一", "二"):
        msgid = client.add_msg_template(
            MsgTemplateRequest(external_userid=["wm1"], sender="u1", text=text)
        ).msgid
        corp.simulate_confirm_groupmsg(msgid, "u1")
        statuses.append(client.get_groupmsg_send_result(msgid, "u1").items[0].status)
    assert statuses == [1, 3]


def test_remind_and_cancel(corp: FakeCorp, client: WecomClient, sleeps: list[float]) -> None:
    corp.add_staff("u1")
    corp.add_contact("c", "wm1")
    corp.add_follow("u1", "wm1")
    msgid = client.add_msg_template(
        MsgTemplateRequest(external_userid=["wm1"], sender="u1", text="提醒")
    ).msgid
    for _ in range(3):
        client.remind_groupmsg_send(msgid)
    with pytest.raises(
        E.RateLimited
    ):  # the fourth reminder in 24 h; retried with bounded backoff, then raised
        client.remind_groupmsg_send(msgid)
    assert len(sleeps) == client.max_retries
    client.cancel_groupmsg_send(msgid)


def test_group_chats_and_statistics(corp: FakeCorp, client: WecomClient) -> None:
    corp.seed(staff=3, customers=60, groups=4, seed=2)
    owners = sorted(corp.staff)
    refs = [r for page in client.iter_group_chats(owners) for r in page.items]
    assert sorted(r.chat_id for r in refs) == sorted(corp.groups)
    chat = client.get_group_chat(refs[0].chat_id)
    fake = corp.groups[refs[0].chat_id]
    assert chat.owner == fake.owner and chat.name == fake.name
    assert sorted(m.userid for m in chat.member_list) == sorted(m.userid for m in fake.members)
    assert {m.type for m in chat.member_list} <= {1, 2}
    yesterday = date.today() - timedelta(days=1)
    stats = client.group_chat_statistic(yesterday - timedelta(days=6), yesterday, owners)
    assert stats.total == len(stats.items) and {i.owner for i in stats.items} <= set(owners)
    rows = client.get_user_behavior_data([owners[0]], yesterday - timedelta(days=6), yesterday)
    assert len(rows) == 7
    assert [r.day for r in rows] == [yesterday - timedelta(days=6 - i) for i in range(7)]


def test_moments(corp: FakeCorp, client: WecomClient) -> None:
    corp.add_staff("u1")
    corp.add_staff("u2")
    jobid = client.add_moment_task(MomentTaskRequest(text="新品上市", sender_userids=["u1", "u2", "ghost"]))
    result = client.get_moment_task_result(jobid)
    assert result.status == 3 and result.moment_id
    assert result.invalid_sender_list == ["ghost"]
    corp.simulate_publish_moment(result.moment_id, "u1")
    states = {
        t.userid: t.publish_status for page in client.iter_moment_task(result.moment_id) for t in page.items
    }
    assert states == {"u1": 1, "u2": 0}


def test_transfers(corp: FakeCorp, client: WecomClient) -> None:
    for userid in ("a", "b", "c"):
        corp.add_staff(userid)
    corp.add_contact("c1", "wm1")
    corp.add_follow("a", "wm1")
    items = client.transfer_customer("a", "b", ["wm1"], transfer_success_msg="您好，我是新的顾问")
    assert [(i.external_userid, i.errcode) for i in items] == [("wm1", 0)]
    page = client.transfer_result("a", "b")
    assert [(i.external_userid, i.status) for i in page.items] == [("wm1", 2)]
    corp.advance(24 * 3600 + 1)
    done = [i for p in client.iter_transfer_result("a", "b") for i in p.items]
    assert [(i.external_userid, i.status) for i in done] == [("wm1", 1)] and done[0].takeover_time
    # a customer moves at most twice in 90 days: the third start is refused per customer
    client.transfer_customer("b", "c", ["wm1"])
    corp.advance(24 * 3600 + 1)
    client.transfer_result("b", "c")
    third = client.transfer_customer("c", "a", ["wm1"])
    assert third[0].errcode != 0


def test_token_expiry_and_revocation_mid_run(corp: FakeCorp, client: WecomClient) -> None:
    corp.seed(staff=2, customers=10, seed=1)
    client.get_follow_user_list()
    corp.expire_tokens()  # 42001
    assert len(client.get_follow_user_list()) == 2
    corp.revoke_tokens()  # 40014
    assert len(client.get_follow_user_list()) == 2
    calls = corp.call_counts()
    assert calls["gettoken"] == 3 and calls["externalcontact/get_follow_user_list"] == 5
    corp.token_ttl = 1
    corp.revoke_tokens()
    client.get_follow_user_list()
    corp.advance(2)  # the short-lived token has expired on WeCom's side
    assert len(client.get_follow_user_list()) == 2


def test_injected_faults(corp: FakeCorp, client: WecomClient, sleeps: list[float]) -> None:
    corp.add_staff("u1")
    corp.fail_next("externalcontact/get_follow_user_list", 45009, times=2)
    assert client.get_follow_user_list() == ["u1"]
    assert sleeps == [0.5, 1.0]
    corp.fail_next("externalcontact/get_follow_user_list", -1, times=4)
    with pytest.raises(E.Busy):
        client.get_follow_user_list()
    assert corp.call_counts()["externalcontact/get_follow_user_list"] == 3 + 4
    corp.fail_next("externalcontact/get_follow_user_list", 48002)
    with pytest.raises(E.PermissionDenied):
        client.get_follow_user_list()
    corp.fail_next("externalcontact/get_follow_user_list", 42001, times=5)
    with pytest.raises(E.TokenInvalid):
        client.get_follow_user_list()


def test_wrong_secret(fake_wecom: FakeServer) -> None:
    with (
        WecomClient("wwfakecorp", "wrong", base_url=fake_wecom.base_url, tokens=TokenCache()) as c,
        pytest.raises(E.WecomError) as info,
    ):
        c.get_follow_user_list()
    assert info.value.errcode == 40001 and info.value.api == "gettoken"
    assert "wrong" not in str(info.value)


def test_unreachable_server(sleeps: list[float]) -> None:
    url = "http://127.0.0.1:9/cgi-bin"  # the discard port: nothing listens
    with (
        WecomClient("wwx", "s", base_url=url, tokens=TokenCache(), sleep=sleeps.append) as c,
        pytest.raises(E.WecomUnreachable),
    ):
        c.get_token()
    assert len(sleeps) == 3


def test_threads_sharing_a_client_renew_a_revoked_token_once(corp: FakeCorp, client: WecomClient) -> None:
    corp.seed(staff=4, customers=40, seed=5)
    client.get_token()
    corp.revoke_tokens()
    results: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(len(client.get_follow_user_list()))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [4] * 8
    # one renewal for the whole herd (a thread holding the stale token never drops the fresh one)
    assert corp.call_counts()["gettoken"] == 2
    assert client.calls == sum(corp.call_counts().values())
