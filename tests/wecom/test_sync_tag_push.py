"""Tag push: local changes on WeCom-linked tags reach WeCom once, per (member, customer); no echo."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fake_wecom.server import FakeServer
from siyu.channels.wecom.client import WecomClient
from siyu.customers.tags import apply_tags, remove_tags
from siyu.db.types import utcnow
from siyu.models import CustomerIdentity, OrgUnit, Staff, Tag, TagGroup
from siyu.models.enums import OrgUnitKind
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.wecom.sync_service import sync_now
from siyu.wecom.sync_tag_push import push_tags


@pytest.fixture
def synced(session: Session, fake_wecom: FakeServer) -> Iterator[WecomClient]:
    corp = fake_wecom.corp
    corp.seed(staff=3, customers=40, groups=0, seed=5)
    store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
    session.add(store)
    session.flush()
    for i in range(1, 4):
        session.add(Staff(code=f"G{i}", name=f"导购{i}", unit_id=store.id, wecom_userid=f"staff{i:04d}"))
    session.commit()
    with WecomClient(corp.corp_id, corp.secret, base_url=fake_wecom.base_url) as client:
        sync_now(session, client, "full", session.commit)
        yield client


def _customer_of(session: Session, ext: str) -> int:
    return int(session.scalar(select(CustomerIdentity.customer_id).where(CustomerIdentity.value == ext)) or 0)


def test_push_applies_local_changes_on_every_follow(
    session: Session, fake_wecom: FakeServer, synced: WecomClient
) -> None:
    corp = fake_wecom.corp
    now = utcnow()
    first = push_tags(session, synced, now)  # sets the watermark at the present: history is not pushed
    assert first.events == 0 and first.calls == 0
    session.commit()
    # A customer followed by two members, and a VIP tag linked to the corp tag.
    ext = next(e for e, fs in corp.follows_by_ext.items() if len(fs) >= 2)
    vip_wid = next(t.id for t in corp.tags.values() if t.name == "VIP")
    vip = session.scalars(select(Tag).where(Tag.wecom_tag_id == vip_wid)).one()
    cid = _customer_of(session, ext)
    remove_tags(session, SYSTEM_ACTOR, [cid], [vip.id])  # start from a known state
    session.commit()
    push_tags(session, synced, now)
    session.commit()
    assert all(vip_wid not in f.tag_ids for f in corp.follows_by_ext[ext].values())
    corp.reset_calls()

    apply_tags(session, SYSTEM_ACTOR, [cid], [vip.id])
    session.commit()
    result = push_tags(session, synced, now)
    session.commit()
    followers = len(corp.follows_by_ext[ext])
    assert result.calls == followers and result.added == followers and result.errors == []
    assert all(vip_wid in f.tag_ids for f in corp.follows_by_ext[ext].values())
    assert corp.call_counts()["externalcontact/mark_tag"] == followers
    # Nothing new: no call. A sync bringing the tag back writes by=wecom events, which are not pushed.
    again = push_tags(session, synced, now)
    assert again.calls == 0
    sync_now(session, synced, "full", session.commit)
    assert push_tags(session, synced, now).calls == 0

    # Tag then untag before the push: the current state (untagged) is what WeCom gets, once.
    apply_tags(session, SYSTEM_ACTOR, [cid], [vip.id])
    remove_tags(session, SYSTEM_ACTOR, [cid], [vip.id])
    session.commit()
    result = push_tags(session, synced, now)
    assert result.calls == followers and result.removed == followers
    assert all(vip_wid not in f.tag_ids for f in corp.follows_by_ext[ext].values())


def test_local_tags_in_linked_groups_are_created_on_wecom(
    session: Session, fake_wecom: FakeServer, synced: WecomClient
) -> None:
    group = session.scalars(select(TagGroup).where(TagGroup.name == "兴趣")).one()
    session.add(Tag(group_id=group.id, name="健身"))
    session.commit()
    run = sync_now(session, synced, "full", session.commit)
    assert run.counts["tags_pushed"] == 1
    wid = session.scalar(select(Tag.wecom_tag_id).where(Tag.name == "健身"))
    assert wid is not None and fake_wecom.corp.tags[wid].name == "健身"
    assert wid in fake_wecom.corp.tag_groups[str(group.wecom_group_id)].tag_ids
