"""FakeTransport answers the product's WecomClient in-process, exactly as the HTTP fake does."""

from __future__ import annotations

import httpx

from fake_wecom.corp import FakeCorp
from fake_wecom.server import FakeServer
from fake_wecom.transport import FakeTransport
from siyu.channels.wecom.client import WecomClient
from siyu.channels.wecom.tokens import TokenCache

BASE = "http://fake.invalid/cgi-bin"


def test_wecom_client_over_the_in_process_transport_reads_every_follow() -> None:
    corp = FakeCorp()
    corp.seed(staff=4, customers=300, seed=5)
    with WecomClient(
        corp.corp_id, corp.secret, base_url=BASE, transport=FakeTransport(corp), tokens=TokenCache()
    ) as c:
        userids = c.get_follow_user_list()
        pairs = [
            (i.follow_info.userid, i.external_contact.external_userid)
            for p in c.iter_contacts_by_user(userids)
            for i in p.items
        ]
    assert userids == list(corp.staff)
    assert sorted(pairs) == sorted((u, e) for u, fs in corp.follows_by_user.items() for e in fs)
    assert corp.call_counts()["gettoken"] == 1


def test_transport_and_http_app_answer_alike(fake_wecom: FakeServer) -> None:
    corp = fake_wecom.corp
    corp.seed(staff=2, customers=20, seed=2)
    tok, _ = corp.issue_token(corp.now())
    body = {"userid_list": ["staff0001", "staff0002"], "limit": 7}
    with httpx.Client(transport=FakeTransport(corp)) as local, httpx.Client() as remote:
        a = local.post(
            f"{BASE}/externalcontact/batch/get_by_user", params={"access_token": tok}, json=body
        ).json()
        b = remote.post(
            f"{fake_wecom.base_url}/externalcontact/batch/get_by_user",
            params={"access_token": tok},
            json=body,
        ).json()
        assert a == b and len(a["external_contact_list"]) == 7
        assert (
            local.post(f"{BASE}/externalcontact/mark_tag", params={"access_token": tok}, content=b"{").json()[
                "errcode"
            ]
            == 40058
        )
        assert local.get("http://fake.invalid/elsewhere").status_code == 404
