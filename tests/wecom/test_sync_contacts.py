"""contacts.upsert_contacts / close_follow: customers, identities, memberships, tags, events from WeCom rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.channels.wecom.schemas import ContactWithFollow
from siyu.models import (
    ChannelCode,
    ChannelMembership,
    Customer,
    CustomerIdentity,
    CustomerTag,
    Event,
    OrgUnit,
    Staff,
    Tag,
    TagGroup,
)
from siyu.models.enums import AcquisitionSource, IdentityKind, LeaveReason, OrgUnitKind
from siyu.wecom.contacts import close_follow, upsert_contacts

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
T_ADD = int(datetime(2026, 11, 19, 10, 0, tzinfo=UTC).timestamp())


def _row(ext: str, userid: str, **follow: Any) -> ContactWithFollow:
    contact = {"external_userid": ext, "name": follow.pop("name", "客户" + ext), "gender": 1}
    if "unionid" in follow:
        contact["unionid"] = follow.pop("unionid")
    info: dict[str, Any] = {"userid": userid, "createtime": T_ADD, "add_way": 1, **follow}
    return ContactWithFollow.model_validate({"external_contact": contact, "follow_info": info})


def _world(s: Session) -> dict[str, int]:
    store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
    s.add(store)
    s.flush()
    a = Staff(code="G1", name="导购甲", unit_id=store.id, wecom_userid="u1")
    b = Staff(code="G2", name="导购乙", unit_id=store.id, wecom_userid="u2")
    group = TagGroup(name="企微标签", wecom_group_id="etG1")
    s.add_all([a, b, group])
    s.flush()
    vip = Tag(group_id=group.id, name="VIP", wecom_tag_id="etT1")
    local = Tag(group_id=group.id, name="本地")
    s.add_all([vip, local])
    code = ChannelCode(
        code="poster01",
        name="门店海报",
        source_detail="门店海报",
        store_id=store.id,
        staff_ids=[a.id],
        tag_ids=[],
    )
    s.add(code)
    s.flush()
    return {"store": store.id, "a": a.id, "b": b.id, "vip": vip.id, "local": local.id}


def _count(s: Session, stmt: Any) -> int:
    return int(s.scalar(stmt) or 0)


def test_upsert_creates_customers_memberships_tags_and_events(session: Session) -> None:
    w = _world(session)
    rows = [
        _row("wm1", "u1", state="poster01", tag_id=["etT1", "etUnknown"], remark_mobiles=["13800000001"]),
        _row("wm1", "u2", remark="老客"),
        _row("wm2", "u1", remark_mobiles=["not a phone"]),
        _row("wm3", "ghost"),
    ]
    r = upsert_contacts(session, rows, NOW)
    assert sorted(r.customer_ids_by_external) == ["wm1", "wm2", "wm3"]
    assert len(r.new_customer_ids) == 3
    assert r.unknown_userids == ["ghost"]
    assert len(r.new_membership_ids) == 3  # wm3's member is unknown: no membership invented
    assert r.phones_added == 1 and r.phones_conflicting == []
    c1 = session.get(Customer, r.customer_ids_by_external["wm1"])
    assert c1 is not None
    assert c1.source is AcquisitionSource.store and c1.source_channel_code == "poster01"
    assert c1.home_store_id == w["store"] and c1.owner_staff_id == w["a"]
    assert c1.first_seen_at == datetime.fromtimestamp(T_ADD, UTC) and c1.gender == "male"
    # Brute force over raw rows.
    idents = session.execute(select(CustomerIdentity.kind, CustomerIdentity.value)).all()
    assert sorted((k.value, v) for k, v in idents) == [
        ("phone", "+8613800000001"),
        ("wecom_external_userid", "wm1"),
        ("wecom_external_userid", "wm2"),
        ("wecom_external_userid", "wm3"),
    ]
    ms = session.execute(
        select(ChannelMembership.customer_id, ChannelMembership.staff_id, ChannelMembership.channel_code)
    ).all()
    assert sorted(ms) == sorted(
        [
            (c1.id, w["a"], "poster01"),
            (c1.id, w["b"], None),
            (r.customer_ids_by_external["wm2"], w["a"], None),
        ]
    )
    assert session.execute(select(CustomerTag.customer_id, CustomerTag.tag_id)).all() == [(c1.id, w["vip"])]
    joined = session.execute(select(Event.subject_id, Event.data).where(Event.kind == "joined_channel")).all()
    assert sorted(j[0] for j in joined) == sorted(r.new_membership_ids)
    assert {j[1]["channel_code"] for j in joined} == {"poster01", None}
    tagged = session.execute(select(Event.data).where(Event.kind == "tagged")).scalars().all()
    assert [t["by"] for t in tagged] == ["wecom"]

    # Idempotent: the same rows again change nothing but a remark refresh.
    again = upsert_contacts(session, [*rows[:1], _row("wm1", "u2", remark="新备注"), *rows[2:]], NOW)
    assert again.new_customer_ids == [] and again.new_membership_ids == [] and again.tags_added == 0
    assert again.memberships_updated == 1
    assert _count(session, select(func.count()).select_from(ChannelMembership)) == 3
    assert _count(session, select(func.count()).select_from(Event).where(Event.kind == "joined_channel")) == 3
    remark = session.scalar(
        select(ChannelMembership.remark).where(
            ChannelMembership.customer_id == c1.id, ChannelMembership.staff_id == w["b"]
        )
    )
    assert remark == "新备注"


def test_phone_owned_by_another_customer_is_reported_not_merged(session: Session) -> None:
    _world(session)
    other = Customer(source=AcquisitionSource.order, first_seen_at=NOW)
    session.add(other)
    session.flush()
    session.add(CustomerIdentity(customer_id=other.id, kind=IdentityKind.phone, value="+8613800000009"))
    session.flush()
    r = upsert_contacts(session, [_row("wm9", "u1", remark_mobiles=["138 0000 0009"])], NOW)
    mine = r.customer_ids_by_external["wm9"]
    assert mine != other.id
    assert r.phones_added == 0 and r.phones_conflicting == [("+8613800000009", mine, other.id)]
    owner = session.scalar(
        select(CustomerIdentity.customer_id).where(CustomerIdentity.value == "+8613800000009")
    )
    assert owner == other.id


def test_unionid_links_an_existing_customer(session: Session) -> None:
    _world(session)
    known = Customer(source=AcquisitionSource.order, first_seen_at=NOW)
    session.add(known)
    session.flush()
    session.add(CustomerIdentity(customer_id=known.id, kind=IdentityKind.unionid, value="un1"))
    session.flush()
    r = upsert_contacts(session, [_row("wm5", "u1", unionid="un1")], NOW)
    assert r.customer_ids_by_external == {"wm5": known.id} and r.new_customer_ids == []
    ext = session.scalar(select(CustomerIdentity.customer_id).where(CustomerIdentity.value == "wm5"))
    assert ext == known.id


def test_replace_tags_removes_linked_tags_gone_from_every_follow(session: Session) -> None:
    w = _world(session)
    r = upsert_contacts(session, [_row("wm1", "u1", tag_id=["etT1"])], NOW)
    cid = r.customer_ids_by_external["wm1"]
    session.add(CustomerTag(customer_id=cid, tag_id=w["local"], applied_by="system", applied_at=NOW))
    session.flush()
    r2 = upsert_contacts(session, [_row("wm1", "u1", tag_id=[])], NOW, source="callback", replace_tags=True)
    assert r2.tags_removed == 1
    left = session.execute(select(CustomerTag.tag_id).where(CustomerTag.customer_id == cid)).scalars().all()
    assert left == [w["local"]]  # a local-only tag is not WeCom's to remove
    assert _count(session, select(func.count()).select_from(Event).where(Event.kind == "untagged")) == 1


def test_close_follow_closes_once_with_event(session: Session) -> None:
    w = _world(session)
    r = upsert_contacts(session, [_row("wm1", "u1"), _row("wm1", "u2")], NOW)
    closed = close_follow(session, "u1", "wm1", LeaveReason.customer_deleted_staff, NOW)
    assert len(closed) == 1
    assert close_follow(session, "u1", "wm1", LeaveReason.customer_deleted_staff, NOW) == []
    assert close_follow(session, "nobody", "wm1", LeaveReason.customer_deleted_staff, NOW) == []
    row = session.get(ChannelMembership, closed[0])
    assert (
        row is not None and row.staff_id == w["a"] and row.leave_reason is LeaveReason.customer_deleted_staff
    )
    assert row.customer_id == r.customer_ids_by_external["wm1"]
    left = session.execute(select(Event.subject_id, Event.data).where(Event.kind == "left_channel")).all()
    assert left == [(closed[0], {"channel": "wecom", "reason": "customer_deleted_staff"})]
    # A later re-add opens a new membership.
    again = upsert_contacts(session, [_row("wm1", "u1")], NOW)
    assert len(again.new_membership_ids) == 1
