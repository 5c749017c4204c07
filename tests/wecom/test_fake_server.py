"""The fake WeCom server's API: tokens, paging, batch sizes, error codes, rate limit, fault injection."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fake_wecom.server import FakeServer


def token(fake: FakeServer) -> str:
    body = httpx.get(
        f"{fake.base_url}/gettoken", params={"corpid": "wwfakecorp", "corpsecret": "fake-secret"}
    ).json()
    assert body["errcode"] == 0, body
    return str(body["access_token"])


def post(fake: FakeServer, api: str, tok: str | None = None, **body: Any) -> dict[str, Any]:
    params = {"access_token": tok or token(fake)}
    return dict(httpx.post(f"{fake.base_url}/{api}", params=params, json=body).json())


def get(fake: FakeServer, api: str, tok: str | None = None, **params: Any) -> dict[str, Any]:
    return dict(
        httpx.get(f"{fake.base_url}/{api}", params={"access_token": tok or token(fake), **params}).json()
    )


def test_gettoken_rejects_wrong_corp_and_secret(fake_wecom: FakeServer) -> None:
    bad_secret = httpx.get(
        f"{fake_wecom.base_url}/gettoken", params={"corpid": "wwfakecorp", "corpsecret": "x"}
    ).json()
    bad_corp = httpx.get(
        f"{fake_wecom.base_url}/gettoken", params={"corpid": "ww0", "corpsecret": "fake-secret"}
    ).json()
    assert bad_secret["errcode"] == 40001
    assert bad_corp["errcode"] == 40013
    assert token(fake_wecom)


def test_token_missing_bogus_expired_revoked(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    api = "externalcontact/get_follow_user_list"
    assert httpx.get(f"{fake_wecom.base_url}/{api}").json()["errcode"] == 41001
    assert get(fake_wecom, api, tok="nope")["errcode"] == 40014
    tok = token(fake_wecom)
    assert get(fake_wecom, api, tok=tok) == {"errcode": 0, "errmsg": "ok", "follow_user": ["u1"]}
    corp.advance(7200)
    assert get(fake_wecom, api, tok=tok)["errcode"] == 42001
    tok = token(fake_wecom)
    corp.revoke_tokens()
    assert get(fake_wecom, api, tok=tok)["errcode"] == 40014


def test_token_ttl_is_configurable(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.token_ttl = 5
    corp.add_staff("u1")
    tok = token(fake_wecom)
    corp.advance(4.5)
    assert get(fake_wecom, "externalcontact/get_follow_user_list", tok=tok)["errcode"] == 0
    corp.advance(1)
    assert get(fake_wecom, "externalcontact/get_follow_user_list", tok=tok)["errcode"] == 42001


def test_batch_get_by_user_pages_every_follow_exactly_once(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.seed(staff=5, customers=700, seed=3)
    tok = token(fake_wecom)
    userids = list(corp.staff)
    seen: list[tuple[str, str]] = []
    cursor, pages = "", 0
    while True:
        body = post(
            fake_wecom,
            "externalcontact/batch/get_by_user",
            tok,
            userid_list=userids,
            cursor=cursor,
            limit=100,
        )
        assert body["errcode"] == 0, body
        assert len(body["external_contact_list"]) <= 100
        seen.extend(
            (r["follow_info"]["userid"], r["external_contact"]["external_userid"])
            for r in body["external_contact_list"]
        )
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    brute = {(u, e) for u, follows in corp.follows_by_user.items() for e in follows}
    assert len(seen) == len(set(seen)) == len(brute)
    assert set(seen) == brute
    assert pages == -(-len(brute) // 100)


def test_batch_sizes_and_bad_cursor(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.seed(staff=2, customers=5)
    tok = token(fake_wecom)
    too_many = [f"u{i}" for i in range(101)]
    assert (
        post(fake_wecom, "externalcontact/batch/get_by_user", tok, userid_list=too_many)["errcode"] == 81017
    )
    assert (
        post(fake_wecom, "externalcontact/batch/get_by_user", tok, userid_list=["staff0001"], limit=101)[
            "errcode"
        ]
        == 40058
    )
    bad = post(
        fake_wecom, "externalcontact/batch/get_by_user", tok, userid_list=["staff0001"], cursor="garbage!"
    )
    assert bad["errcode"] == 40058
    assert (
        post(fake_wecom, "externalcontact/batch/get_by_user", tok, userid_list=["nobody"])["errcode"] == 40003
    )


def test_get_contact_pages_follow_users_and_unknown_ids(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    for u in ("u1", "u2", "u3"):
        corp.add_staff(u)
    ext = corp.add_contact("张三").external_userid
    for u in ("u1", "u2", "u3"):
        corp.add_follow(u, ext, 1_700_000_000, remark=f"r-{u}")
    corp.follow_page_size = 2
    tok = token(fake_wecom)
    first = get(fake_wecom, "externalcontact/get", tok, external_userid=ext)
    assert [f["userid"] for f in first["follow_user"]] == ["u1", "u2"]
    second = get(fake_wecom, "externalcontact/get", tok, external_userid=ext, cursor=first["next_cursor"])
    assert [f["userid"] for f in second["follow_user"]] == ["u3"]
    assert second["next_cursor"] == ""
    assert get(fake_wecom, "externalcontact/get", tok, external_userid="wmnope")["errcode"] == 40096
    corp.staff["u1"].visible = False
    assert get(fake_wecom, "externalcontact/list", tok, userid="u1")["errcode"] == 60011


def test_rate_limit_per_api_per_minute(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    corp.rate_limit_per_minute = 5
    # Start at a minute boundary so the five calls share one window.
    corp.advance(60 - corp.now() % 60 + 0.001)
    tok = token(fake_wecom)
    codes = [get(fake_wecom, "externalcontact/list", tok, userid="u1")["errcode"] for _ in range(6)]
    assert codes == [0, 0, 0, 0, 0, 45009]
    assert (
        get(fake_wecom, "externalcontact/get_follow_user_list", tok)["errcode"] == 0
    )  # the limit is per API
    corp.advance(60)
    assert get(fake_wecom, "externalcontact/list", tok, userid="u1")["errcode"] == 0
    assert corp.max_calls_per_minute("externalcontact/list") == 6
    assert corp.call_counts()["externalcontact/list"] == 7


def test_fail_next_injects_then_recovers(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    tok = token(fake_wecom)
    corp.fail_next("externalcontact/get_follow_user_list", -1, times=2)
    corp.fail_next("gettoken", 45033)
    codes = [get(fake_wecom, "externalcontact/get_follow_user_list", tok)["errcode"] for _ in range(3)]
    assert codes == [-1, -1, 0]
    assert (
        httpx.get(
            f"{fake_wecom.base_url}/gettoken", params={"corpid": "wwfakecorp", "corpsecret": "fake-secret"}
        ).json()["errcode"]
        == 45033
    )
    log = [(c.api, c.errcode) for c in corp.calls if c.api != "gettoken"]
    assert log == [("externalcontact/get_follow_user_list", -1)] * 2 + [
        ("externalcontact/get_follow_user_list", 0)
    ]


def test_unknown_api_and_bad_json(fake_wecom: FakeServer) -> None:
    tok = token(fake_wecom)
    assert post(fake_wecom, "externalcontact/nope", tok)["errcode"] == 40058
    raw = httpx.post(
        f"{fake_wecom.base_url}/externalcontact/mark_tag", params={"access_token": tok}, content=b"{not json"
    )
    assert raw.json()["errcode"] == 40058


def test_corp_tags_and_mark_tag(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    ext = corp.add_contact("李四").external_userid
    corp.add_follow("u1", ext)
    tok = token(fake_wecom)
    created = post(
        fake_wecom,
        "externalcontact/add_corp_tag",
        tok,
        group_name="会员",
        tag=[{"name": "金卡"}, {"name": "银卡"}],
    )
    assert created["errcode"] == 0
    gold, silver = (t["id"] for t in created["tag_group"]["tag"])
    dup = post(
        fake_wecom,
        "externalcontact/add_corp_tag",
        tok,
        group_id=created["tag_group"]["group_id"],
        tag=[{"name": "金卡"}],
    )
    assert dup["errcode"] == 40071
    assert (
        post(
            fake_wecom,
            "externalcontact/mark_tag",
            tok,
            userid="u1",
            external_userid=ext,
            add_tag=[gold, silver],
        )["errcode"]
        == 0
    )
    assert (
        post(
            fake_wecom, "externalcontact/mark_tag", tok, userid="u1", external_userid=ext, remove_tag=[silver]
        )["errcode"]
        == 0
    )
    assert corp.follow("u1", ext).tag_ids == [gold]  # type: ignore[union-attr]
    assert (
        post(
            fake_wecom, "externalcontact/mark_tag", tok, userid="u1", external_userid=ext, add_tag=["etnope"]
        )["errcode"]
        == 40068
    )
    assert (
        post(fake_wecom, "externalcontact/mark_tag", tok, userid="u1", external_userid=ext)["errcode"]
        == 40058
    )
    other = corp.add_contact("王五").external_userid
    assert (
        post(fake_wecom, "externalcontact/mark_tag", tok, userid="u1", external_userid=other, add_tag=[gold])[
            "errcode"
        ]
        == 84061
    )
    listed = post(fake_wecom, "externalcontact/get_corp_tag_list", tok, tag_id=[gold])
    assert [[t["name"] for t in g["tag"]] for g in listed["tag_group"]] == [["金卡"]]
    assert post(fake_wecom, "externalcontact/edit_corp_tag", tok, id=gold, name="黑金")["errcode"] == 0
    assert post(fake_wecom, "externalcontact/del_corp_tag", tok, tag_id=[gold])["errcode"] == 0
    assert corp.follow("u1", ext).tag_ids == []  # type: ignore[union-attr]
    assert [t.name for t in corp.tags.values()] == ["银卡"]


def test_contact_way_crud_and_state_limit(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.add_staff("u1")
    corp.add_staff("u2")
    tok = token(fake_wecom)
    long_state = post(
        fake_wecom, "externalcontact/add_contact_way", tok, type=2, scene=2, user=["u1"], state="x" * 31
    )
    assert long_state["errcode"] == 40058
    made = post(
        fake_wecom,
        "externalcontact/add_contact_way",
        tok,
        type=2,
        scene=2,
        user=["u1", "u2"],
        state="store_poster",
    )
    assert made["errcode"] == 0 and made["qr_code"].startswith("https://")
    way = post(fake_wecom, "externalcontact/get_contact_way", tok, config_id=made["config_id"])["contact_way"]
    assert way["state"] == "store_poster" and way["user"] == ["u1", "u2"]
    assert (
        post(
            fake_wecom,
            "externalcontact/update_contact_way",
            tok,
            config_id=made["config_id"],
            state="poster2",
        )["errcode"]
        == 0
    )
    assert corp.contact_ways[made["config_id"]].state == "poster2"
    single = post(fake_wecom, "externalcontact/add_contact_way", tok, type=1, scene=2, user=["u1", "u2"])
    assert single["errcode"] == 40058
    assert (
        post(fake_wecom, "externalcontact/del_contact_way", tok, config_id=made["config_id"])["errcode"] == 0
    )
    assert (
        post(fake_wecom, "externalcontact/get_contact_way", tok, config_id=made["config_id"])["errcode"]
        == 40058
    )


@pytest.mark.parametrize("n_staff", [3])
def test_groupchat_list_needs_owner_filter_in_big_corps(fake_wecom: FakeServer, n_staff: int) -> None:
    corp = fake_wecom.corp
    corp.seed(staff=n_staff, customers=60, groups=6)
    tok = token(fake_wecom)
    everything = post(fake_wecom, "externalcontact/groupchat/list", tok, limit=4)
    assert (
        everything["errcode"] == 0 and len(everything["group_chat_list"]) == 4 and everything["next_cursor"]
    )
    owned = post(
        fake_wecom, "externalcontact/groupchat/list", tok, owner_filter={"userid_list": ["staff0001"]}
    )
    chat_ids = [g["chat_id"] for g in owned["group_chat_list"]]
    assert chat_ids == [g.chat_id for g in corp.groups.values() if g.owner == "staff0001"]
    detail = post(fake_wecom, "externalcontact/groupchat/get", tok, chat_id=chat_ids[0], need_name=1)[
        "group_chat"
    ]
    assert len(detail["member_list"]) == len(corp.groups[chat_ids[0]].members)
    assert {m["type"] for m in detail["member_list"]} == {1, 2}
    corp.groupchat_list_requires_owner_above = n_staff - 1
    assert post(fake_wecom, "externalcontact/groupchat/list", tok)["errcode"] == 81017
    assert post(fake_wecom, "externalcontact/groupchat/get", tok, chat_id="wrnope")["errcode"] == 40050


def test_behavior_data_aggregates_several_users_and_bounds_ranges(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.seed(staff=3, customers=50)
    tok = token(fake_wecom)
    end = int(corp.now()) - 86400
    start = end - 6 * 86400
    rows = {
        u: post(
            fake_wecom,
            "externalcontact/get_user_behavior_data",
            tok,
            userid=[u],
            start_time=start,
            end_time=end,
        )["behavior_data"]
        for u in ("staff0001", "staff0002")
    }
    both = post(
        fake_wecom,
        "externalcontact/get_user_behavior_data",
        tok,
        userid=["staff0001", "staff0002"],
        start_time=start,
        end_time=end,
    )
    assert len(both["behavior_data"]) == 7
    for i, agg in enumerate(both["behavior_data"]):
        assert agg["chat_cnt"] == rows["staff0001"][i]["chat_cnt"] + rows["staff0002"][i]["chat_cnt"]
        assert (
            agg["new_contact_cnt"]
            == rows["staff0001"][i]["new_contact_cnt"] + rows["staff0002"][i]["new_contact_cnt"]
        )
    for row in rows["staff0001"]:
        assert ("reply_percentage" in row) == (row["chat_cnt"] > 0)
    too_long = post(
        fake_wecom,
        "externalcontact/get_user_behavior_data",
        tok,
        userid=["staff0001"],
        start_time=end - 30 * 86400,
        end_time=end,
    )
    assert too_long["errcode"] == 40058
    too_old = post(
        fake_wecom,
        "externalcontact/get_user_behavior_data",
        tok,
        userid=["staff0001"],
        start_time=end - 200 * 86400,
        end_time=end - 190 * 86400,
    )
    assert too_old["errcode"] == 40058


def test_seed_is_deterministic() -> None:
    from fake_wecom.corp import FakeCorp

    a, b = FakeCorp(), FakeCorp()
    a.seed(staff=4, customers=200, groups=3, seed=7)
    b.seed(staff=4, customers=200, groups=3, seed=7)

    def snapshot(c: FakeCorp) -> list[tuple[str, str, str, int, tuple[str, ...]]]:
        return sorted(
            (f.userid, f.external_userid, f.state, f.add_way, tuple(f.remark_mobiles))
            for fs in c.follows_by_user.values()
            for f in fs.values()
        )

    assert snapshot(a) == snapshot(b)
    assert len(a.contacts) == 200 and len(a.groups) == 3


def test_concurrent_calls_over_the_limit_get_45033(fake_wecom: FakeServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    corp = fake_wecom.corp
    corp.add_staff("u1")
    tok = token(fake_wecom)
    corp.latency = 0.3
    corp.max_concurrent_per_api = 1
    with ThreadPoolExecutor(3) as pool:
        codes = sorted(
            pool.map(lambda _: get(fake_wecom, "externalcontact/list", tok, userid="u1")["errcode"], range(3))
        )
    assert codes[0] == 0 and 45033 in codes
    corp.max_concurrent_per_api = None
    with ThreadPoolExecutor(3) as pool:
        codes = list(
            pool.map(lambda _: get(fake_wecom, "externalcontact/list", tok, userid="u1")["errcode"], range(3))
        )
    assert codes == [0, 0, 0]


def test_unassigned_list_holds_resigned_members_customers(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.add_staff("gone", resigned=True)
    corp.add_staff("here")
    exts = [corp.add_contact(f"c{i}").external_userid for i in range(3)]
    for ext in exts[:2]:
        corp.add_follow("gone", ext)
    corp.add_follow("here", exts[2])
    body = post(fake_wecom, "externalcontact/get_unassigned_list", page_size=1)
    assert body["info"][0]["external_userid"] == exts[0] and not body["is_last"]
    rest = post(fake_wecom, "externalcontact/get_unassigned_list", cursor=body["next_cursor"], page_size=1)
    assert [r["external_userid"] for r in rest["info"]] == [exts[1]] and rest["is_last"]


def test_hourly_limit_and_resigned_groups(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.seed(staff=2, customers=30, groups=4)
    corp.rate_limit_per_hour = 3
    corp.advance(3600 - corp.now() % 3600 + 0.001)
    tok = token(fake_wecom)
    codes = []
    for _ in range(4):
        codes.append(get(fake_wecom, "externalcontact/get_follow_user_list", tok)["errcode"])
        corp.advance(61)  # a new minute each time: only the hourly budget binds
    assert codes == [0, 0, 0, 45009]
    corp.rate_limit_per_hour = 150_000
    corp.resign("staff0001")
    assert corp.staff["staff0001"].resigned
    body = post(fake_wecom, "externalcontact/groupchat/list", status_filter=1)
    assert {g["chat_id"] for g in body["group_chat_list"]} == {
        g.chat_id for g in corp.groups.values() if g.owner == "staff0001"
    }
    assert all(g["status"] == 1 for g in body["group_chat_list"]) and body["group_chat_list"]
