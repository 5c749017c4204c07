"""Full / incremental / resumed sync runs against the fake WeCom server, reconciled with the fake's state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fake_wecom.server import FakeServer
from siyu.channels.wecom.client import WecomClient
from siyu.channels.wecom.errors import PermissionDenied
from siyu.models import (
    ChannelMembership,
    ChatGroup,
    CustomerIdentity,
    CustomerTag,
    Event,
    OrgUnit,
    Staff,
    Tag,
    TagGroup,
    WecomBehaviorSnapshot,
    WecomGroupStatSnapshot,
    WecomSyncRun,
)
from siyu.models.enums import Channel, IdentityKind, LeaveReason, OrgUnitKind
from siyu.models.wecom import SyncStatus
from siyu.wecom import sync_service
from siyu.wecom.sync_service import sync_now

STAFF = 6
LINKED = 5  # staff0006 exists on WeCom but not in Siyu: reported, never invented


class Crash(BaseException):
    """Stands in for kill -9: not an Exception, so drive() does not mark the run failed."""


@pytest.fixture
def corp_client(fake_wecom: FakeServer) -> Iterator[WecomClient]:
    fake_wecom.corp.seed(staff=STAFF, customers=300, groups=4, seed=3)
    with WecomClient(fake_wecom.corp.corp_id, fake_wecom.corp.secret, base_url=fake_wecom.base_url) as client:
        yield client


def _staff(session: Session) -> None:
    store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
    session.add(store)
    session.flush()
    for i in range(1, LINKED + 1):
        session.add(Staff(code=f"G{i}", name=f"导购{i}", unit_id=store.id, wecom_userid=f"staff{i:04d}"))
    session.commit()


def _truth(fake: FakeServer) -> set[tuple[str, str]]:
    linked = {f"staff{i:04d}" for i in range(1, LINKED + 1)}
    return {(ext, u) for u, follows in fake.corp.follows_by_user.items() if u in linked for ext in follows}


def _ours(session: Session) -> list[tuple[str, str]]:
    m = ChannelMembership
    rows = session.execute(
        select(CustomerIdentity.value, Staff.wecom_userid)
        .join(m, m.customer_id == CustomerIdentity.customer_id)
        .join(Staff, Staff.id == m.staff_id)
        .where(
            CustomerIdentity.kind == IdentityKind.wecom_external_userid,
            m.channel == Channel.wecom,
            m.left_at.is_(None),
        )
    ).all()
    return sorted((e, str(u)) for e, u in rows)


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_full_sync_matches_the_fake_corp(
    session: Session, fake_wecom: FakeServer, corp_client: WecomClient
) -> None:
    _staff(session)
    run = sync_now(session, corp_client, "full", session.commit)
    assert run.status is SyncStatus.done and run.stage == "done"
    truth = _truth(fake_wecom)
    ours = _ours(session)
    assert len(ours) == len(set(ours)) and set(ours) == truth  # one open membership per follow
    assert run.counts["staff"] == LINKED and run.counts["unknown_userids"] == 1
    assert run.checkpoint["unknown_userids"] == ["staff0006"]
    assert run.counts["follows"] == len(truth)
    # Every corp tag is linked to exactly one local tag.
    assert _count(session, Tag) == len(fake_wecom.corp.tags)
    assert set(session.scalars(select(Tag.wecom_tag_id))) == set(fake_wecom.corp.tags)
    # Local tags equal the corp tags on the followed pairs (brute force over the fake's follows).
    ext_tags = {
        (f.external_userid, t)
        for u, fs in fake_wecom.corp.follows_by_user.items()
        if u in {x for _, x in truth}
        for f in fs.values()
        for t in f.tag_ids
    }
    ours_tags = session.execute(
        select(CustomerIdentity.value, Tag.wecom_tag_id)
        .join(CustomerTag, CustomerTag.customer_id == CustomerIdentity.customer_id)
        .join(Tag, Tag.id == CustomerTag.tag_id)
        .where(CustomerIdentity.kind == IdentityKind.wecom_external_userid)
    ).all()
    assert set(ours_tags) == ext_tags
    assert _count(session, ChatGroup) == sum(
        1 for g in fake_wecom.corp.groups.values() if g.owner <= "staff0005"
    )
    assert _count(session, WecomBehaviorSnapshot) == LINKED * 180
    assert _count(session, WecomGroupStatSnapshot) == LINKED * 30
    calls = fake_wecom.corp.call_counts()
    assert run.api_calls == sum(calls.values())  # the run's count is the fake's call log (gettoken included)
    joined = session.scalar(select(func.count()).select_from(Event).where(Event.kind == "joined_channel"))
    assert joined == _count(session, ChannelMembership)

    # A second full sync after a follow disappeared on WeCom (no callback) closes exactly that one.
    ext, userid = sorted(truth)[0]
    fake_wecom.corp.remove_follow(userid, ext)
    before_calls = sum(fake_wecom.corp.call_counts().values())
    run2 = sync_now(session, corp_client, "full", session.commit)
    assert run2.counts["follows_closed"] == 1 and run2.counts.get("customers_new", 0) == 0
    assert set(_ours(session)) == truth - {(ext, userid)}
    left = session.scalar(
        select(ChannelMembership.leave_reason).where(ChannelMembership.left_at.is_not(None))
    )
    assert left is LeaveReason.other
    # Snapshots are only fetched for missing days: the second run asks no behaviour day again.
    assert run2.counts.get("behaviour_days", 0) == 0
    assert sum(fake_wecom.corp.call_counts().values()) - before_calls < run.api_calls


def test_killed_run_resumes_to_the_same_rows(
    session: Session, fake_wecom: FakeServer, corp_client: WecomClient
) -> None:
    _staff(session)
    pages = 0

    def dying_commit() -> None:
        nonlocal pages
        run = session.scalars(select(WecomSyncRun)).first()
        if run is not None and run.stage == "contacts" and run.checkpoint.get("cursor"):
            pages += 1
            if pages == 3:  # the third page is lost with the process, two are committed
                session.rollback()
                raise Crash
        session.commit()

    with pytest.raises(Crash):
        sync_now(session, corp_client, "full", dying_commit)
    session.rollback()
    stuck = session.scalars(select(WecomSyncRun)).one()
    assert stuck.status is SyncStatus.running and stuck.stage == "contacts"
    assert stuck.checkpoint.get("chunk", 0) == 0 and stuck.checkpoint.get("cursor")  # mid-way, a page saved
    done_before = stuck.progress_done
    assert 0 < done_before < len(_truth(fake_wecom))
    # Still alive by heartbeat: not resumable yet; with a zero staleness it is.
    assert sync_service.resumable_run(session, stuck.heartbeat_at) is None
    run = sync_now(session, corp_client, "full", session.commit, resume=True, stale_after=timedelta(0))
    assert run.id == stuck.id and run.status is SyncStatus.done
    ours = _ours(session)
    assert len(ours) == len(set(ours)) and set(ours) == _truth(fake_wecom)
    assert run.counts["follows"] == len(_truth(fake_wecom))  # no page counted twice
    identities = session.execute(select(CustomerIdentity.kind, CustomerIdentity.value)).all()
    assert len(identities) == len(set(identities))
    joined = session.scalar(select(func.count()).select_from(Event).where(Event.kind == "joined_channel"))
    assert joined == _count(session, ChannelMembership)


def test_incremental_picks_up_follows_added_without_callback(
    session: Session, fake_wecom: FakeServer, corp_client: WecomClient
) -> None:
    _staff(session)
    sync_now(session, corp_client, "full", session.commit)
    corp = fake_wecom.corp
    new = corp.add_contact("新朋友").external_userid
    corp.add_follow("staff0002", new, int(corp.now()), state="store_poster")
    run = sync_now(session, corp_client, "incremental", session.commit)
    assert run.status is SyncStatus.done and run.counts["staff_changed"] == 1
    assert set(_ours(session)) == _truth(fake_wecom)
    code = session.scalar(
        select(ChannelMembership.channel_code)
        .join(CustomerIdentity, CustomerIdentity.customer_id == ChannelMembership.customer_id)
        .where(CustomerIdentity.value == new)
    )
    assert code == "store_poster"


def test_failed_run_is_marked_and_resumable(
    session: Session, fake_wecom: FakeServer, corp_client: WecomClient
) -> None:
    _staff(session)
    fake_wecom.corp.fail_next("externalcontact/get_corp_tag_list", 60011, times=1)
    with pytest.raises(PermissionDenied):
        sync_now(session, corp_client, "full", session.commit)
    failed = session.scalars(select(WecomSyncRun)).one()
    assert failed.status is SyncStatus.failed and failed.stage == "tags" and "tags" in (failed.error or "")
    run = sync_now(session, corp_client, "full", session.commit, resume=True)
    assert run.id == failed.id and run.status is SyncStatus.done
    assert _count(session, TagGroup) == len(fake_wecom.corp.tag_groups)


def test_groups_and_snapshots_reconcile_with_the_fake(
    session: Session, fake_wecom: FakeServer, corp_client: WecomClient
) -> None:
    from fake_wecom.api_groups import behavior_row
    from siyu.channels.wecom.schemas import day_to_epoch

    _staff(session)
    sync_now(session, corp_client, "full", session.commit)
    corp = fake_wecom.corp
    linked = {f"staff{i:04d}" for i in range(1, LINKED + 1)}
    # Open group memberships = external members of the linked owners' chats (brute force over the fake).
    truth = {
        (chat.chat_id, m.userid, m.join_scene)
        for chat in corp.groups.values()
        if chat.owner in linked
        for m in chat.members
        if m.type == 2
    }
    m = ChannelMembership
    ours = session.execute(
        select(ChatGroup.external_id, CustomerIdentity.value, m.join_scene)
        .join(m, m.group_id == ChatGroup.id)
        .join(CustomerIdentity, CustomerIdentity.customer_id == m.customer_id)
        .where(m.left_at.is_(None), CustomerIdentity.kind == IdentityKind.wecom_external_userid)
    ).all()
    assert len(ours) == len(truth) and set(ours) == truth
    # One member leaves without a callback: the next full sync closes exactly that membership.
    chat = next(c for c in corp.groups.values() if c.owner in linked and any(x.type == 2 for x in c.members))
    gone = next(x for x in chat.members if x.type == 2)
    chat.members.remove(gone)
    run = sync_now(session, corp_client, "full", session.commit)
    assert run.counts["group_leaves"] == 1
    reason = session.scalar(select(m.leave_reason).where(m.group_id.is_not(None), m.left_at.is_not(None)))
    assert reason is LeaveReason.left_group
    # A behaviour snapshot equals the fake's own row for that member and day.
    snap = session.scalars(
        select(WecomBehaviorSnapshot).order_by(WecomBehaviorSnapshot.day.desc()).limit(1)
    ).one()
    userid = session.scalar(select(Staff.wecom_userid).where(Staff.id == snap.staff_id))
    row = behavior_row(corp, str(userid), day_to_epoch(snap.day))
    assert (
        snap.chat_cnt,
        snap.message_cnt,
        snap.new_contact_cnt,
        snap.reply_percentage,
        snap.avg_reply_time,
    ) == (
        row["chat_cnt"],
        row["message_cnt"],
        row["new_contact_cnt"],
        row.get("reply_percentage"),
        row.get("avg_reply_time"),
    )


def test_new_run_refused_while_alive_and_closes_abandoned_ones(session: Session) -> None:
    from siyu.errors import Conflict

    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    first = sync_service.start_run(session, "full", now)
    with pytest.raises(Conflict, match="still running"):
        sync_service.start_run(session, "incremental", now + timedelta(seconds=30))
    later = now + sync_service.STALE_AFTER + timedelta(seconds=1)
    second = sync_service.start_run(session, "incremental", later)
    assert first.status is SyncStatus.failed and f"superseded by run {second.id}" in (first.error or "")
    assert second.status is SyncStatus.running
    assert sync_service.list_runs(session)[0].id == second.id
