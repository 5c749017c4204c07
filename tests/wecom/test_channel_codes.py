"""Channel codes: CRUD with WeCom's contact way (stub client), and the funnel reconciled with raw rows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models import ChannelMembership, Customer, Order, OrgUnit, Staff, Tag, TagGroup
from siyu.models.enums import AcquisitionSource, Channel, OrderChannel
from siyu.models.wecom import ChannelCode
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.wecom.channel_code_schemas import ChannelCodeIn, ChannelCodeUpdate
from siyu.wecom.channel_code_service import code_stats, create_code, deactivate_code, list_codes, update_code

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


class StubClient:
    """Records contact-way calls (the real client is tested against the fake server elsewhere)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def add_contact_way(self, request: Any) -> Any:
        from siyu.channels.wecom.schemas import ContactWayCreated

        self.calls.append(("add", request))
        return ContactWayCreated(config_id=f"cfg{len(self.calls)}", qr_code="https://qr.example/x.png")

    def update_contact_way(self, config_id: str, request: Any) -> None:
        self.calls.append(("update", (config_id, request)))

    def del_contact_way(self, config_id: str) -> None:
        self.calls.append(("del", config_id))


def _org(session: Session) -> tuple[int, list[int]]:
    store = OrgUnit(kind="store", code="S1", name="南京西路店", path="/1/", depth=0)
    session.add(store)
    session.flush()
    staff = [Staff(code=f"G{i}", name=f"导购{i}", unit_id=store.id, wecom_userid=f"u{i}") for i in range(3)]
    staff.append(Staff(code="G9", name="无企微", unit_id=store.id))
    session.add_all(staff)
    session.flush()
    return store.id, [s.id for s in staff]


def _data(code: str, staff_ids: list[int], **extra: Any) -> ChannelCodeIn:
    return ChannelCodeIn(code=code, name=f"{code} 名称", staff_ids=staff_ids, **extra)


def test_create_update_deactivate_reach_wecom(session: Session) -> None:
    store_id, staff = _org(session)
    group = TagGroup(name="渠道")
    session.add(group)
    session.flush()
    tag = Tag(group_id=group.id, name="海报")
    session.add(tag)
    session.flush()
    wecom = StubClient()
    row = create_code(
        session,
        SYSTEM_ACTOR,
        _data("POSTER", staff[:2], tag_ids=[tag.id], store_id=store_id),
        client=wecom,  # type: ignore[arg-type]
    )
    kind, request = wecom.calls[0]
    assert kind == "add" and request.state == "POSTER" and request.user == ["u0", "u1"] and request.type == 2
    assert (row.config_id, row.active, row.tag_ids) == ("cfg1", True, [tag.id])
    update_code(session, SYSTEM_ACTOR, row.id, ChannelCodeUpdate(staff_ids=[staff[2]]), client=wecom)  # type: ignore[arg-type]
    kind, (config_id, request) = wecom.calls[1]
    assert (kind, config_id, request.user, request.type, request.state) == (
        "update",
        "cfg1",
        ["u2"],
        1,
        "POSTER",
    )
    # A change WeCom does not hold (the campaign) does not call WeCom.
    update_code(session, SYSTEM_ACTOR, row.id, ChannelCodeUpdate(ad_campaign="618"), client=wecom)  # type: ignore[arg-type]
    assert len(wecom.calls) == 2 and row.ad_campaign == "618"
    deactivate_code(session, SYSTEM_ACTOR, row.id, client=wecom)  # type: ignore[arg-type]
    assert wecom.calls[2] == ("del", "cfg1") and row.active is False
    deactivate_code(session, SYSTEM_ACTOR, row.id, client=wecom)  # type: ignore[arg-type]
    assert len(wecom.calls) == 3  # already off: no second delete


def test_create_refusals(session: Session) -> None:
    _store, staff = _org(session)
    wecom = StubClient()
    with pytest.raises(Invalid, match="WeCom userid"):
        create_code(session, SYSTEM_ACTOR, _data("NOUSER", [staff[3]]), client=wecom)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="staff"):
        create_code(session, SYSTEM_ACTOR, _data("GHOST", [999_999]), client=wecom)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="tags"):
        create_code(session, SYSTEM_ACTOR, _data("NOTAG", [staff[0]], tag_ids=[424242]), client=wecom)  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="journey_id"):
        create_code(session, SYSTEM_ACTOR, _data("NOJ", [staff[0]], journey_id=77), client=wecom)  # type: ignore[arg-type]
    exclusive = TagGroup(name="阶段", exclusive=True)
    session.add(exclusive)
    session.flush()
    pair = [Tag(group_id=exclusive.id, name="孕期"), Tag(group_id=exclusive.id, name="0-6月")]
    session.add_all(pair)
    session.flush()
    with pytest.raises(Invalid, match="exclusive tag group 阶段"):
        create_code(
            session, SYSTEM_ACTOR, _data("CLASH", [staff[0]], tag_ids=[t.id for t in pair]), client=wecom
        )  # type: ignore[arg-type]
    assert wecom.calls == []
    # Without a WeCom app the code lives in Siyu only (demo, or set up before WeCom).
    local = create_code(session, SYSTEM_ACTOR, _data("LOCAL", [staff[3]]))
    assert local.config_id is None
    with pytest.raises(Conflict, match="already exists"):
        create_code(session, SYSTEM_ACTOR, _data("LOCAL", [staff[0]]))
    reader = Actor(account_id=None, username="r", role=PermissionRole.analyst, scope=DataScope.all)
    with pytest.raises(Forbidden):
        create_code(session, reader, _data("RO", [staff[0]]))


def test_funnel_reconciles_with_raw_rows(session: Session) -> None:
    store_id, staff = _org(session)
    codes = ["A", "B", "C"]
    for c in codes:
        create_code(session, SYSTEM_ACTOR, _data(c, [staff[0]]))
    rng = random.Random(7)
    session.execute(
        insert(Customer),
        [
            {
                "name": f"客{i}",
                "source": AcquisitionSource.organic,
                "first_seen_at": T0,
                "owner_staff_id": staff[i % 3],
                "home_store_id": store_id,
            }
            for i in range(60)
        ],
    )
    cids = sorted(session.scalars(select(Customer.id)))
    memberships: list[dict[str, Any]] = []
    for cid in cids:
        for _ in range(rng.randint(0, 2)):
            joined = T0 + timedelta(days=rng.randint(0, 20))
            memberships.append(
                {
                    "customer_id": cid,
                    "channel": rng.choice([Channel.wecom, Channel.wecom, Channel.group]),
                    "staff_id": rng.choice(staff[:3]),
                    "joined_at": joined,
                    "left_at": joined + timedelta(days=3) if rng.random() < 0.3 else None,
                    "channel_code": rng.choice([*codes, None, "OTHER"]),
                }
            )
    session.execute(insert(ChannelMembership), memberships)
    orders = [
        {
            "source": "t",
            "external_no": f"o{n}",
            "customer_id": rng.choice(cids),
            "channel": OrderChannel.store,
            "amount_fen": 100,
            "paid_at": T0 + timedelta(days=rng.randint(-5, 25)),
        }
        for n in range(80)
    ]
    session.execute(insert(Order), orders)
    session.flush()

    def brute(actor_staff: int | None) -> dict[str, tuple[int, int, int]]:
        out: dict[str, tuple[int, int, int]] = {}
        owner = {c.id: c.owner_staff_id for c in session.scalars(select(Customer))}
        mine = {
            m["customer_id"] for m in memberships if m["staff_id"] == actor_staff and m["left_at"] is None
        }
        for code in codes:
            rows = [
                m
                for m in memberships
                if m["channel"] == Channel.wecom
                and m["channel_code"] == code
                and (
                    actor_staff is None or owner[m["customer_id"]] == actor_staff or m["customer_id"] in mine
                )
            ]
            if not rows:
                continue
            added = {m["customer_id"] for m in rows}
            following = {m["customer_id"] for m in rows if m["left_at"] is None}
            first = {c: min(m["joined_at"] for m in rows if m["customer_id"] == c) for c in added}
            ordered = {
                o["customer_id"]
                for o in orders
                if o["customer_id"] in first and o["paid_at"] >= first[o["customer_id"]]
            }
            out[code] = (len(added), len(following), len(ordered))
        return out

    expected = brute(None)
    assert code_stats(session, SYSTEM_ACTOR, codes) == expected
    assert sum(v[0] for v in expected.values()) > 10 and any(v[2] for v in expected.values())
    listed = {o.code: (o.adds, o.following, o.ordered) for o in list_codes(session, SYSTEM_ACTOR)}
    assert listed == {c: expected.get(c, (0, 0, 0)) for c in codes}
    guide = Actor(
        account_id=None, username="g", role=PermissionRole.guide, scope=DataScope.self_, staff_id=staff[1]
    )
    assert code_stats(session, guide, codes) == brute(staff[1])


def test_api_create_validates_and_lists(client: TestClient, auth: dict[str, str], session: Session) -> None:
    _store, staff = _org(session)
    session.commit()
    bad = client.post(
        "/api/v1/wecom/channel-codes",
        json={"code": "有空格 bad", "name": "x", "staff_ids": [staff[0]]},
        headers=auth,
    )
    assert bad.status_code == 422
    too_long = client.post(
        "/api/v1/wecom/channel-codes",
        json={"code": "A" * 31, "name": "x", "staff_ids": [staff[0]]},
        headers=auth,
    )
    assert too_long.status_code == 422
    ok = client.post(
        "/api/v1/wecom/channel-codes",
        json={"code": "LIVE_0618", "name": "直播间", "staff_ids": [staff[0]]},
        headers=auth,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["config_id"] is None and ok.json()["adds"] == 0
    patched = client.patch(
        f"/api/v1/wecom/channel-codes/{ok.json()['id']}",
        json={"name": "直播间 618", "ad_campaign": "618"},
        headers=auth,
    )
    assert (
        patched.status_code == 200
        and patched.json()["name"] == "直播间 618"
        and patched.json()["code"] == "LIVE_0618"
    )
    frozen = client.patch(
        f"/api/v1/wecom/channel-codes/{ok.json()['id']}", json={"code": "NEW"}, headers=auth
    )
    assert frozen.status_code == 422  # the code is WeCom's state, printed on QR codes: never changed
    listed = client.get("/api/v1/wecom/channel-codes", headers=auth).json()
    assert [c["code"] for c in listed] == ["LIVE_0618"]
    off = client.post(f"/api/v1/wecom/channel-codes/{ok.json()['id']}/deactivate", headers=auth)
    assert off.status_code == 200 and off.json()["active"] is False
    session.expire_all()
    assert session.scalars(select(ChannelCode.active)).one() is False


def test_wecom_refusal_keeps_nothing(
    client: TestClient, auth: dict[str, str], session: Session, fake_wecom: Any
) -> None:
    from siyu.wecom.credentials import save_app

    _store, staff = _org(session)
    fake_wecom.corp.add_staff("u0")
    save_app(
        session,
        SYSTEM_ACTOR,
        corp_id=fake_wecom.corp.corp_id,
        secret=fake_wecom.corp.secret,
        callback_token="tok",
        aes_key="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
        api_base_url=fake_wecom.base_url,
    )
    session.commit()
    fake_wecom.corp.fail_next("externalcontact/add_contact_way", 60011)
    body = {"code": "DENIED", "name": "x", "staff_ids": [staff[0]]}
    refused = client.post("/api/v1/wecom/channel-codes", json=body, headers=auth)
    assert refused.status_code == 502 and "60011" in refused.json()["message"]
    session.expire_all()
    assert session.scalar(select(ChannelCode.id)) is None  # nothing half-created
    ok = client.post("/api/v1/wecom/channel-codes", json=body, headers=auth)
    assert ok.status_code == 201 and ok.json()["config_id"] in fake_wecom.corp.contact_ways
