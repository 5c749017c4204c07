"""WecomClient transport edge cases on httpx.MockTransport: tokens, retries, backoff, limits, logging."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from siyu.channels.wecom import errors as E
from siyu.channels.wecom.client import WecomClient
from siyu.channels.wecom.ratelimit import RateLimiter
from siyu.channels.wecom.tokens import TokenCache

SECRET = "s3cr3t-VALUE-never-logged"
BASE = "https://wecom.test/cgi-bin"

Answer = dict[str, Any] | httpx.Response | Exception


class ScriptedWecom:
    """A scripted WeCom: gettoken issues tok1, tok2, …; each API answers from a queue, then ok."""

    def __init__(self) -> None:
        self.queues: dict[str, list[Answer]] = {}
        self.default: dict[str, Callable[[httpx.Request], Answer]] = {}
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.lock = threading.Lock()

    def queue(self, api: str, *answers: Answer) -> None:
        self.queues.setdefault(api, []).extend(answers)

    def calls(self, api: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == f"/cgi-bin/{api}"]

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            # a client looping on an error would otherwise hang the test instead of failing it
            assert len(self.requests) < 1000, "runaway client: 1000 requests"
            api = request.url.path.removeprefix("/cgi-bin/")
            queued = self.queues.get(api)
            if queued:
                answer: Answer = queued.pop(0)
            elif api in self.default:
                answer = self.default[api](request)
            elif api == "gettoken":
                self.tokens_issued += 1
                answer = {"errcode": 0, "access_token": f"TOKEN-{self.tokens_issued}-x", "expires_in": 7200}
            else:
                answer = {"errcode": 0, "errmsg": "ok"}
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)


@pytest.fixture
def wecom() -> ScriptedWecom:
    return ScriptedWecom()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(wecom: ScriptedWecom, sleeps: list[float]) -> Iterator[WecomClient]:
    c = WecomClient(
        "wwcorp",
        SECRET,
        base_url=BASE,
        transport=httpx.MockTransport(wecom.handler),
        tokens=TokenCache(),
        limiter=RateLimiter(per_minute=100_000, per_hour=None),
        sleep=sleeps.append,
    )
    yield c
    c.close()


def body_of(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)


def test_token_is_fetched_once_and_sent_in_the_query(client: WecomClient, wecom: ScriptedWecom) -> None:
    wecom.queue("externalcontact/get_follow_user_list", {"errcode": 0, "follow_user": ["a", "b"]})
    assert client.get_follow_user_list() == ["a", "b"]
    assert client.get_follow_user_list() == []
    assert len(wecom.calls("gettoken")) == 1
    token_request = wecom.calls("gettoken")[0]
    assert token_request.url.params["corpid"] == "wwcorp"
    assert token_request.url.params["corpsecret"] == SECRET
    assert {r.url.params["access_token"] for r in wecom.calls("externalcontact/get_follow_user_list")} == {
        "TOKEN-1-x"
    }
    assert client.calls == 3
    assert client.calls_by_api == {"gettoken": 1, "externalcontact/get_follow_user_list": 2}


@pytest.mark.parametrize("errcode", [42001, 40014, 40082, 42009])
def test_token_rejected_mid_run_is_renewed_and_the_call_retried_once(
    client: WecomClient, wecom: ScriptedWecom, errcode: int
) -> None:
    client.get_follow_user_list()
    wecom.queue("externalcontact/list", {"errcode": errcode, "errmsg": "token expired"})
    wecom.queue("externalcontact/list", {"errcode": 0, "external_userid": ["wm1"]})
    assert client.list_external_contacts("u1") == ["wm1"]
    sent = [r.url.params["access_token"] for r in wecom.calls("externalcontact/list")]
    assert sent == ["TOKEN-1-x", "TOKEN-2-x"]
    assert wecom.tokens_issued == 2
    # the renewed token is cached for the next calls
    client.get_follow_user_list()
    assert wecom.tokens_issued == 2


def test_a_40014_storm_ends_after_one_renewal(
    client: WecomClient, wecom: ScriptedWecom, sleeps: list[float]
) -> None:
    wecom.default["externalcontact/get_follow_user_list"] = lambda r: {"errcode": 40014, "errmsg": "invalid"}
    with pytest.raises(E.TokenInvalid) as info:
        client.get_follow_user_list()
    assert info.value.errcode == 40014
    assert info.value.api == "externalcontact/get_follow_user_list"
    assert len(wecom.calls("gettoken")) == 2
    assert len(wecom.calls("externalcontact/get_follow_user_list")) == 2
    assert sleeps == []
    # every later call is bounded the same way (no token hoarding, no loop)
    for _ in range(5):
        with pytest.raises(E.TokenInvalid):
            client.get_follow_user_list()
    assert len(wecom.requests) == 4 * 6


def test_busy_is_retried_with_exponential_backoff(
    client: WecomClient, wecom: ScriptedWecom, sleeps: list[float]
) -> None:
    wecom.queue(
        "externalcontact/list", {"errcode": -1}, {"errcode": -1}, {"errcode": 0, "external_userid": ["x"]}
    )
    assert client.list_external_contacts("u") == ["x"]
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize(("errcode", "cls"), [(45009, E.RateLimited), (45033, E.RateLimited), (-1, E.Busy)])
def test_retryable_errors_give_up_after_max_retries(
    client: WecomClient, wecom: ScriptedWecom, sleeps: list[float], errcode: int, cls: type[E.WecomError]
) -> None:
    wecom.default["externalcontact/list"] = lambda r: {"errcode": errcode, "errmsg": "slow down"}
    with pytest.raises(cls):
        client.list_external_contacts("u")
    assert len(wecom.calls("externalcontact/list")) == 1 + client.max_retries
    assert sleeps == [0.5, 1.0, 2.0]


def test_backoff_is_capped(wecom: ScriptedWecom, sleeps: list[float]) -> None:
    wecom.default["externalcontact/list"] = lambda r: {"errcode": 45009}
    with (
        WecomClient(
            "wwcorp",
            SECRET,
            base_url=BASE,
            transport=httpx.MockTransport(wecom.handler),
            tokens=TokenCache(),
            sleep=sleeps.append,
            max_retries=7,
            backoff_cap=4.0,
        ) as c,
        pytest.raises(E.RateLimited),
    ):
        c.list_external_contacts("u")
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


def test_non_retryable_errors_raise_at_once_with_their_type(
    client: WecomClient, wecom: ScriptedWecom
) -> None:
    cases = {
        48002: E.PermissionDenied,
        60011: E.PermissionDenied,
        60020: E.PermissionDenied,
        84061: E.NotFriend,
        41051: E.WelcomeCodeUsed,
        40003: E.InvalidUserId,
        40096: E.InvalidUserId,
        40058: E.WecomError,
    }
    for errcode, cls in cases.items():
        wecom.queue("externalcontact/mark_tag", {"errcode": errcode, "errmsg": f"code {errcode}"})
        with pytest.raises(cls) as info:
            client.mark_tag("u", "wm", add=["t"])
        assert type(info.value) is cls
        assert info.value.errcode == errcode
        assert f"errcode {errcode}" in str(info.value)
        assert "externalcontact/mark_tag" in str(info.value)
    assert len(wecom.calls("externalcontact/mark_tag")) == len(cases)


def test_bad_secret_is_not_retried(client: WecomClient, wecom: ScriptedWecom) -> None:
    wecom.queue("gettoken", {"errcode": 40001, "errmsg": "invalid credential"})
    with pytest.raises(E.WecomError) as info:
        client.get_follow_user_list()
    assert info.value.errcode == 40001 and info.value.api == "gettoken"
    assert len(wecom.requests) == 1
    assert SECRET not in str(info.value)


def test_connection_errors_are_retried_then_reported(
    client: WecomClient, wecom: ScriptedWecom, sleeps: list[float]
) -> None:
    client.get_token()
    wecom.default["externalcontact/list"] = lambda r: httpx.ConnectError("connection refused", request=r)
    with pytest.raises(E.WecomUnreachable) as info:
        client.list_external_contacts("u")
    assert "ConnectError" in str(info.value)
    assert "TOKEN" not in str(info.value)
    assert len(wecom.calls("externalcontact/list")) == 4
    assert sleeps == [0.5, 1.0, 2.0]


def test_server_errors_and_garbage_are_retried_for_reads(
    client: WecomClient, wecom: ScriptedWecom, sleeps: list[float]
) -> None:
    wecom.queue(
        "externalcontact/list",
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, text="<html>not json</html>"),
        {"errcode": 0, "external_userid": ["wm9"]},
    )
    assert client.list_external_contacts("u") == ["wm9"]
    assert sleeps == [0.5, 1.0]


def test_writes_are_not_resent_when_wecom_may_have_acted(
    client: WecomClient, wecom: ScriptedWecom, sleeps: list[float]
) -> None:
    from siyu.channels.wecom.schemas import MsgTemplateRequest

    client.get_token()
    wecom.queue("externalcontact/add_msg_template", httpx.ReadTimeout("read timed out"))
    with pytest.raises(E.WecomUnreachable) as info:
        client.add_msg_template(MsgTemplateRequest(external_userid=["wm1"], sender="u", text="hi"))
    assert "not resent" in str(info.value)
    assert len(wecom.calls("externalcontact/add_msg_template")) == 1
    # a connection that never opened is safe to retry
    wecom.queue(
        "externalcontact/add_msg_template",
        httpx.ConnectError("refused"),
        {"errcode": 0, "msgid": "msgA", "fail_list": ["wm2"]},
    )
    created = client.add_msg_template(
        MsgTemplateRequest(external_userid=["wm1", "wm2"], sender="u", text="hi")
    )
    assert (created.msgid, created.fail_list) == ("msgA", ["wm2"])
    assert len(wecom.calls("externalcontact/add_msg_template")) == 3


def test_every_call_is_logged_without_token_or_secret(
    client: WecomClient, wecom: ScriptedWecom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wecom.queue("externalcontact/list", {"errcode": 42001}, {"errcode": 0, "external_userid": []})
    wecom.queue("externalcontact/mark_tag", {"errcode": 84061, "errmsg": "not friend"})
    client.list_external_contacts("u")
    with pytest.raises(E.NotFriend):
        client.mark_tag("u", "wm", add=["t"])
    mine = [r for r in caplog.records if r.name == "siyu.wecom.client"]
    assert [(r.wecom_api, r.errcode) for r in mine] == [  # type: ignore[attr-defined]
        ("gettoken", 0),
        ("externalcontact/list", 42001),
        ("gettoken", 0),
        ("externalcontact/list", 0),
        ("externalcontact/mark_tag", 84061),
    ]
    assert all(isinstance(r.ms, float) for r in mine)  # type: ignore[attr-defined]
    assert "api=externalcontact/mark_tag errcode=84061 ms=" in caplog.text
    # httpx logs the request URL (with the token / secret in its query) — it must arrive redacted
    assert any(r.name == "httpx" for r in caplog.records)
    assert "access_token=***" in caplog.text
    assert "corpsecret=***" in caplog.text
    for leaked in (SECRET, "TOKEN-1-x", "TOKEN-2-x"):
        assert leaked not in caplog.text
        assert all(leaked not in str(r.__dict__) for r in caplog.records)
    assert SECRET not in repr(client)


def test_get_external_contact_joins_follow_user_pages(client: WecomClient, wecom: ScriptedWecom) -> None:
    contact = {"external_userid": "wm1", "name": "张三", "type": 1, "unionid": "ou1", "extra_field": 1}
    wecom.queue(
        "externalcontact/get",
        {
            "errcode": 0,
            "external_contact": contact,
            "follow_user": [
                {"userid": "a", "createtime": 10, "tags": [{"tag_id": "t1", "type": 1}], "state": "s1"}
            ],
            "next_cursor": "c2",
        },
        {
            "errcode": 0,
            "external_contact": contact,
            "follow_user": [{"userid": "b", "remark_mobiles": ["138"], "add_way": 1}],
            "next_cursor": "",
        },
    )
    detail = client.get_external_contact("wm1")
    assert detail.external_contact.name == "张三" and detail.external_contact.unionid == "ou1"
    assert [f.userid for f in detail.follow_user] == ["a", "b"]
    assert detail.follow_user[0].tag_id == ["t1"] and detail.follow_user[0].state == "s1"
    follow_b = detail.follow_of("b")
    assert follow_b is not None and follow_b.remark_mobiles == ["138"]
    assert [row.follow_info.userid for row in detail.rows()] == ["a", "b"]
    cursors = [r.url.params.get("cursor") for r in wecom.calls("externalcontact/get")]
    assert cursors == [None, "c2"]


def test_a_repeated_cursor_stops_the_iteration(client: WecomClient, wecom: ScriptedWecom) -> None:
    wecom.default["externalcontact/batch/get_by_user"] = lambda r: {
        "errcode": 0,
        "external_contact_list": [],
        "next_cursor": "same",
    }
    with pytest.raises(E.WecomError, match="repeated"):
        list(client.iter_contacts_by_user(["a"]))
    assert len(wecom.calls("externalcontact/batch/get_by_user")) == 2


def test_iter_contacts_by_user_chunks_userids_and_follows_cursors(
    client: WecomClient, wecom: ScriptedWecom
) -> None:
    def answer(request: httpx.Request) -> dict[str, Any]:
        body = body_of(request)
        assert len(body["userid_list"]) <= 100 and body["limit"] == 100
        nxt = "" if body["cursor"] else "p2"
        row = {"external_contact": {"external_userid": f"wm-{body['userid_list'][0]}-{body['cursor']}"}}
        row["follow_info"] = {"userid": body["userid_list"][0]}
        return {"errcode": 0, "external_contact_list": [row], "next_cursor": nxt}

    wecom.default["externalcontact/batch/get_by_user"] = answer
    pages = list(client.iter_contacts_by_user([f"u{i}" for i in range(250)]))
    assert len(pages) == 6  # 3 chunks x 2 pages
    sent = [body_of(r) for r in wecom.calls("externalcontact/batch/get_by_user")]
    assert [len(b["userid_list"]) for b in sent] == [100, 100, 100, 100, 50, 50]
    assert [b["cursor"] for b in sent] == ["", "p2"] * 3
    assert pages[1].items[0].external_contact.external_userid == "wm-u0-p2"
    with pytest.raises(ValueError):
        client.batch_get_by_user([f"u{i}" for i in range(101)])


def test_behavior_rows_tolerate_missing_reply_figures(client: WecomClient, wecom: ScriptedWecom) -> None:
    from datetime import date

    wecom.queue(
        "externalcontact/get_user_behavior_data",
        {
            "errcode": 0,
            "behavior_data": [
                {
                    "stat_time": 1700064000,
                    "chat_cnt": 2,
                    "message_cnt": 5,
                    "reply_percentage": 60.25,
                    "avg_reply_time": 3,
                },
                {
                    "stat_time": 1700150400,
                    "new_apply_cnt": 1,
                    "new_contact_cnt": 1,
                    "negative_feedback_cnt": 0,
                },
            ],
        },
    )
    rows = client.get_user_behavior_data(["u1"], date(2023, 11, 16), date(2023, 11, 17))
    body = body_of(wecom.calls("externalcontact/get_user_behavior_data")[0])
    # Beijing midnight of each day
    assert body == {"userid": ["u1"], "start_time": 1700064000, "end_time": 1700150400}
    assert rows[0].reply_percentage == 60.25 and rows[0].avg_reply_time == 3
    assert rows[1].reply_percentage is None and rows[1].avg_reply_time is None and rows[1].chat_cnt == 0
    assert [r.day for r in rows] == [date(2023, 11, 16), date(2023, 11, 17)]


def test_request_bodies_match_the_wecom_shapes(client: WecomClient, wecom: ScriptedWecom) -> None:
    from siyu.channels.wecom.schemas import ContactWayRequest, MomentTaskRequest

    wecom.queue(
        "externalcontact/add_contact_way", {"errcode": 0, "config_id": "cfg1", "qr_code": "https://qr"}
    )
    created = client.add_contact_way(
        ContactWayRequest(type=2, state="poster01", user=["a", "b"], remark="门店")
    )
    assert (created.config_id, created.qr_code) == ("cfg1", "https://qr")
    assert body_of(wecom.calls("externalcontact/add_contact_way")[0]) == {
        "type": 2,
        "scene": 2,
        "remark": "门店",
        "skip_verify": True,
        "state": "poster01",
        "user": ["a", "b"],
    }
    client.update_contact_way("cfg1", remark="新", user=["c"])
    assert body_of(wecom.calls("externalcontact/update_contact_way")[0]) == {
        "config_id": "cfg1",
        "remark": "新",
        "user": ["c"],
    }
    client.send_welcome_msg("WC1", "你好")
    assert body_of(wecom.calls("externalcontact/send_welcome_msg")[0]) == {
        "welcome_code": "WC1",
        "text": {"content": "你好"},
    }
    wecom.queue("externalcontact/add_moment_task", {"errcode": 0, "jobid": "job1"})
    assert (
        client.add_moment_task(MomentTaskRequest(text="新品", sender_userids=["a"], tag_ids=["t1"])) == "job1"
    )
    assert body_of(wecom.calls("externalcontact/add_moment_task")[0]) == {
        "text": {"content": "新品"},
        "visible_range": {"sender_list": {"user_list": ["a"]}, "external_contact_list": {"tag_list": ["t1"]}},
    }
    wecom.queue(
        "externalcontact/get_moment_task_result",
        {
            "errcode": 0,
            "status": 3,
            "type": "add_moment_task",
            "result": {
                "errcode": 0,
                "moment_id": "mom1",
                "invalid_sender_list": {"user_list": ["zz"]},
                "invalid_external_contact_list": {"tag_list": ["tx"]},
            },
        },
    )
    result = client.get_moment_task_result("job1")
    assert (result.status, result.moment_id) == (3, "mom1")
    assert result.invalid_sender_list == ["zz"] and result.invalid_external_contact_list == ["tx"]
    client.mark_tag("u", "wm", add=(), remove=())
    assert wecom.calls("externalcontact/mark_tag") == []


def test_transfers_go_in_chunks_of_100(client: WecomClient, wecom: ScriptedWecom) -> None:
    def answer(request: httpx.Request) -> dict[str, Any]:
        ids = body_of(request)["external_userid"]
        return {"errcode": 0, "customer": [{"external_userid": x, "errcode": 0} for x in ids]}

    wecom.default["externalcontact/transfer_customer"] = answer
    ids = [f"wm{i}" for i in range(250)]
    items = client.transfer_customer("a", "b", ids, transfer_success_msg="您好")
    assert [i.external_userid for i in items] == ids
    sent = [body_of(r) for r in wecom.calls("externalcontact/transfer_customer")]
    assert [len(b["external_userid"]) for b in sent] == [100, 100, 50]
    assert all(b["transfer_success_msg"] == "您好" and b["handover_userid"] == "a" for b in sent)
    wecom.queue(
        "externalcontact/resigned/transfer_result",
        {
            "errcode": 0,
            "customer": [{"external_userid": "wm1", "status": 1, "takeover_time": 99}],
            "next_cursor": "",
        },
    )
    page = client.transfer_result("a", "b", resigned=True)
    assert page.items[0].status == 1 and page.items[0].takeover_time == 99 and page.next_cursor == ""


def test_token_cache_refreshes_single_flight() -> None:
    cache = TokenCache()
    fetches: list[int] = []
    gate = threading.Event()

    def fetch() -> tuple[str, int]:
        gate.wait(1)
        fetches.append(1)
        return "tok", 7200

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", fetch))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join()
    assert results == ["tok"] * 8
    assert len(fetches) == 1


def test_token_cache_expiry_margin_and_stale_invalidation() -> None:
    now = [1000.0]
    cache = TokenCache(margin=300, clock=lambda: now[0])
    issued = iter(["t1", "t2", "t3"])

    def fetch() -> tuple[str, int]:
        return next(issued), 7200

    assert cache.get("k", fetch) == "t1"
    now[0] += 7200 - 301
    assert cache.get("k", fetch) == "t1"
    now[0] += 2  # inside the margin: refreshed before WeCom expires it
    assert cache.get("k", fetch) == "t2"
    cache.invalidate("k", "t1")  # a peer's stale token does not drop the fresh one
    assert cache.get("k", fetch) == "t2"
    cache.invalidate("k", "t2")
    assert cache.get("k", fetch) == "t3"


def test_clients_share_a_token_per_app() -> None:
    wecom = ScriptedWecom()
    cache = TokenCache()
    transport = httpx.MockTransport(wecom.handler)
    with (
        WecomClient("wwcorp", SECRET, base_url=BASE, transport=transport, tokens=cache) as one,
        WecomClient("wwcorp", SECRET, base_url=BASE, transport=transport, tokens=cache) as two,
        WecomClient("wwcorp", "other-secret", base_url=BASE, transport=transport, tokens=cache) as other,
    ):
        assert one.get_token() == two.get_token() == "TOKEN-1-x"
        assert other.get_token() == "TOKEN-2-x"


def test_rate_limiter_keeps_every_minute_under_the_limit() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(per_minute=120, per_hour=None, clock=lambda: now[0], sleep=sleep)
    stamps: list[float] = []
    for _ in range(600):
        limiter.acquire("corp api")
        stamps.append(now[0])
        now[0] += 0.001  # the call itself
    # any sliding 60-second window holds at most the per-minute limit
    worst = max(sum(1 for s in stamps if start <= s < start + 60) for start in stamps)
    assert 100 <= worst <= 120
    assert limiter.waited > 0
    # another API has its own bucket
    before = now[0]
    limiter.acquire("corp other")
    assert now[0] == before


def test_client_calls_pass_through_the_limiter(wecom: ScriptedWecom) -> None:
    keys: list[str] = []

    class Recording(RateLimiter):
        def acquire(self, key: str) -> float:
            keys.append(key)
            return 0.0

    with WecomClient(
        "wwcorp", SECRET, base_url=BASE, transport=httpx.MockTransport(wecom.handler), limiter=Recording()
    ) as c:
        c.tokens = TokenCache()
        c.list_external_contacts("u")
    assert keys == ["wwcorp gettoken", "wwcorp externalcontact/list"]


def test_gettoken_busy_is_retried_but_bounded(
    client: WecomClient, wecom: ScriptedWecom, sleeps: list[float]
) -> None:
    wecom.queue("gettoken", {"errcode": 45033}, {"errcode": -1})
    assert client.get_token() == "TOKEN-1-x"
    assert sleeps == [0.5, 1.0]
    wecom.default["gettoken"] = lambda r: {"errcode": 45033, "errmsg": "concurrent"}
    client.tokens.clear()
    with pytest.raises(E.RateLimited) as info:
        client.get_token()
    assert info.value.api == "gettoken"
    assert len(wecom.calls("gettoken")) == 2 + 1 + 4


def test_default_limits_stay_under_wecoms_documented_ones() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep)
    stamps: list[float] = []
    for _ in range(15_000):
        limiter.acquire("wwcorp externalcontact/groupchat/get")
        stamps.append(now[0])
        now[0] += 0.0001
    # two pointers: the most calls inside any sliding 60 s window
    worst, left = 0, 0
    for right, stamp in enumerate(stamps):
        while stamp - stamps[left] >= 60:
            left += 1
        worst = max(worst, right - left + 1)
    assert worst <= 6_000 < 10_000  # WeCom: 10,000 per minute per API (DOC/90454)
    assert worst >= 3_000  # and the limiter is not needlessly slow
    hours = now[0] / 3600
    assert len(stamps) / max(hours, 1 / 60) <= 150_000
