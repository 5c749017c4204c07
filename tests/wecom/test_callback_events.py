"""Processing stored callbacks: contacts, follows, transfers, group chats, corp tags, retries (stub client)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.channels.wecom.events import parse_event
from siyu.channels.wecom.schemas import CorpTagGroup, ExternalContactDetail, GroupChat
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
)
from siyu.models.enums import Channel, IdentityKind, LeaveReason, OrgUnitKind
from siyu.models.wecom import (
    CallbackStatus,
    HandoverBatch,
    HandoverTransfer,
    TransferKind,
    TransferStatus,
    WecomCallbackEvent,
)
from siyu.wecom.callback_api import store_event
from siyu.wecom.callback_service import MAX_ATTEMPTS, process_one, process_pending

if TYPE_CHECKING:
    from siyu.channels.wecom.client import WecomClient

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
T0 = int(NOW.timestamp()) - 5


class StubClient:
    """Just the calls callback processing makes, answering from dicts; counts calls."""

    def __init__(self) -> None:
        self.contacts: dict[str, dict[str, Any]] = {}
        self.chats: dict[str, dict[str, Any]] = {}
        self.tag_groups: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.fail_with: Exception | None = None

    def get_external_contact(self, external_userid: str) -> ExternalContactDetail:
        self.calls.append("get_external_contact")
        if self.fail_with:
            raise self.fail_with
        return ExternalContactDetail.model_validate(self.contacts[external_userid])

    def get_group_chat(self, chat_id: str, need_name: bool = True) -> GroupChat:
        self.calls.append("get_group_chat")
        return GroupChat.model_validate(self.chats[chat_id])

    def get_corp_tag_list(self, tag_ids: Any = (), group_ids: Any = ()) -> list[CorpTagGroup]:
        self.calls.append("get_corp_tag_list")
        return [CorpTagGroup.model_validate(g) for g in self.tag_groups]

    def mark_tag(self, *a: Any, **k: Any) -> None:
        self.calls.append("mark_tag")

    def send_welcome_msg(self, *a: Any, **k: Any) -> None:
        self.calls.append("send_welcome_msg")

    def close(self) -> None:
        pass

    def factory(self, _session: Session) -> WecomClient:
        """Stands in for credentials.client_for."""
        return cast("WecomClient", self)


def _xml(event: str, change: str | None = None, create_time: int = T0, **fields: str) -> bytes:
    parts = [
        "<xml><ToUserName>wwcorp</ToUserName><FromUserName>sys</FromUserName>",
        f"<CreateTime>{create_time}</CreateTime><MsgType>event</MsgType><Event>{event}</Event>",
    ]
    if change:
        parts.append(f"<ChangeType>{change}</ChangeType>")
    parts += [f"<{k}>{v}</{k}>" for k, v in fields.items()]
    parts.append("</xml>")
    return "".join(parts).encode()


def _store(s: Session, xml: bytes) -> int:
    event_id = store_event(s, parse_event(xml), NOW)
    assert event_id is not None
    return event_id


def _world(s: Session) -> dict[str, int]:
    store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
    s.add(store)
    s.flush()
    a = Staff(code="G1", name="导购甲", unit_id=store.id, wecom_userid="u1")
    b = Staff(code="G2", name="导购乙", unit_id=store.id, wecom_userid="u2")
    s.add_all([a, b])
    s.flush()
    return {"store": store.id, "a": a.id, "b": b.id}


def _contact(ext: str, *follows: tuple[str, str]) -> dict[str, Any]:
    return {
        "external_contact": {"external_userid": ext, "name": "客户" + ext, "gender": 2},
        "follow_user": [
            {"userid": u, "createtime": T0, "add_way": 1, "state": st, "remark": "r-" + u}
            for u, st in follows
        ],
    }


def _run(s: Session, event_id: int, stub: StubClient) -> CallbackStatus | None:
    status = process_one(s, event_id, NOW, client_factory=stub.factory)
    s.expire_all()  # the service updates in bulk (synchronize_session=False): reload what the test reads
    return status


def _open_memberships(s: Session, channel: Channel = Channel.wecom) -> list[ChannelMembership]:
    return list(
        s.scalars(
            select(ChannelMembership).where(
                ChannelMembership.channel == channel, ChannelMembership.left_at.is_(None)
            )
        )
    )


def test_add_edit_and_deletes(session: Session) -> None:
    w = _world(session)
    stub = StubClient()
    stub.contacts["wmA"] = _contact("wmA", ("u1", "nocode"))
    add = _store(
        session,
        _xml(
            "change_external_contact",
            "add_external_contact",
            UserID="u1",
            ExternalUserID="wmA",
            State="nocode",
        ),
    )
    assert _run(session, add, stub) == CallbackStatus.done
    assert _run(session, add, stub) is None  # already done: a second run does nothing
    ident = session.scalars(select(CustomerIdentity).where(CustomerIdentity.value == "wmA")).one()
    assert ident.kind == IdentityKind.wecom_external_userid
    (m,) = _open_memberships(session)
    assert (m.customer_id, m.staff_id, m.channel_code, m.remark) == (
        ident.customer_id,
        w["a"],
        "nocode",
        "r-u1",
    )
    # The customer also adds u2: edit/add refreshes from externalcontact/get (both follows).
    stub.contacts["wmA"] = _contact("wmA", ("u1", "nocode"), ("u2", ""))
    edit = _store(
        session,
        _xml("change_external_contact", "edit_external_contact", T0 + 1, UserID="u2", ExternalUserID="wmA"),
    )
    assert _run(session, edit, stub) == CallbackStatus.done
    assert len(_open_memberships(session)) == 2
    # u1 deletes the customer; the customer deletes u2.
    d1 = _store(
        session,
        _xml("change_external_contact", "del_external_contact", T0 + 2, UserID="u1", ExternalUserID="wmA"),
    )
    d2 = _store(
        session, _xml("change_external_contact", "del_follow_user", T0 + 3, UserID="u2", ExternalUserID="wmA")
    )
    assert _run(session, d1, stub) == _run(session, d2, stub) == CallbackStatus.done
    closed = {
        r.staff_id: r
        for r in session.scalars(select(ChannelMembership).where(ChannelMembership.left_at.is_not(None)))
    }
    assert closed[w["a"]].leave_reason == LeaveReason.staff_deleted_customer
    assert closed[w["b"]].leave_reason == LeaveReason.customer_deleted_staff
    assert closed[w["a"]].left_at == datetime.fromtimestamp(T0 + 2, UTC)
    left = session.scalar(select(func.count()).select_from(Event).where(Event.kind == "left_channel"))
    assert left == 2
    assert stub.calls.count("get_external_contact") == 2


def test_failures_retry_then_fail_and_unknown_is_ignored(session: Session) -> None:
    _world(session)
    stub = StubClient()
    stub.fail_with = RuntimeError("WeCom unreachable")
    ev = _store(
        session, _xml("change_external_contact", "edit_external_contact", UserID="u1", ExternalUserID="wmX")
    )
    for attempt in range(1, MAX_ATTEMPTS):
        assert _run(session, ev, stub) == CallbackStatus.pending
        row = session.get_one(WecomCallbackEvent, ev)
        assert row.attempts == attempt and "WeCom unreachable" in (row.error or "")
    assert _run(session, ev, stub) == CallbackStatus.failed
    other = _store(session, _xml("msg_audit_approved", None))
    assert _run(session, other, stub) == CallbackStatus.ignored
    assert "not handled" in (session.get_one(WecomCallbackEvent, other).error or "")
    # The worker picks only pending events past the grace period.
    fresh = _store(
        session, _xml("change_external_contact", "del_follow_user", T0 + 9, UserID="u1", ExternalUserID="wmX")
    )
    assert process_pending(session, NOW, client_factory=stub.factory)["claimed"] == 0
    counts = process_pending(session, NOW + timedelta(minutes=1), client_factory=stub.factory)
    assert counts == {"claimed": 1, "done": 1, "ignored": 0, "failed": 0, "retry": 0}
    assert session.get_one(WecomCallbackEvent, fresh).status == CallbackStatus.done


def test_transfer_fail_marks_the_open_transfer(session: Session) -> None:
    w = _world(session)
    stub = StubClient()
    stub.contacts["wmT"] = _contact("wmT", ("u1", ""))
    _run(
        session,
        _store(
            session,
            _xml("change_external_contact", "add_external_contact", UserID="u1", ExternalUserID="wmT"),
        ),
        stub,
    )
    cid = session.scalars(select(CustomerIdentity.customer_id).where(CustomerIdentity.value == "wmT")).one()
    batch = HandoverBatch(kind=TransferKind.onjob, handover_staff_id=w["a"], takeover_staff_id=w["b"])
    session.add(batch)
    session.flush()
    t = HandoverTransfer(
        batch_id=batch.id,
        customer_id=cid,
        external_userid="wmT",
        status=TransferStatus.requested,
        requested_at=NOW,
    )
    session.add(t)
    session.flush()
    ev = _store(
        session,
        _xml(
            "change_external_contact",
            "transfer_fail",
            T0 + 1,
            UserID="u2",
            ExternalUserID="wmT",
            FailReason="customer_refused",
        ),
    )
    assert _run(session, ev, stub) == CallbackStatus.done
    session.refresh(t)
    assert t.status == TransferStatus.refused and "customer_refused" in (t.reason or "")
    again = _store(
        session,
        _xml(
            "change_external_contact",
            "transfer_fail",
            T0 + 2,
            UserID="u2",
            ExternalUserID="wmT",
            FailReason="customer_limit_exceed",
        ),
    )
    assert _run(session, again, stub) == CallbackStatus.ignored  # nothing open any more


def test_group_create_update_dismiss(session: Session) -> None:
    w = _world(session)
    stub = StubClient()
    for ext in ("wm1", "wm2", "wm3"):
        stub.contacts[ext] = _contact(ext, ("u1", ""))
        _run(
            session,
            _store(
                session,
                _xml("change_external_contact", "add_external_contact", UserID="u1", ExternalUserID=ext),
            ),
            stub,
        )

    def chat(members: list[str]) -> dict[str, Any]:
        return {
            "chat_id": "wrG1",
            "name": "VIP群",
            "owner": "u1",
            "create_time": T0,
            "member_list": [{"userid": "u1", "type": 1, "join_time": T0, "join_scene": 1}]
            + [{"userid": m, "type": 2, "join_time": T0, "join_scene": 3} for m in members]
            + [{"userid": "wmSTRANGER", "type": 2, "join_time": T0, "join_scene": 2}],
        }

    stub.chats["wrG1"] = chat(["wm1", "wm2"])
    assert (
        _run(session, _store(session, _xml("change_external_chat", "create", ChatId="wrG1")), stub)
        == CallbackStatus.done
    )
    group = session.scalars(select(ChatGroup)).one()
    assert (group.name, group.owner_staff_id, group.unit_id) == ("VIP群", w["a"], w["store"])
    members = _open_memberships(session, Channel.group)
    assert len(members) == 2 and {m.join_scene for m in members} == {3}
    # wm2 is removed by the owner, wm3 joins.
    stub.chats["wrG1"] = chat(["wm1", "wm3"])
    upd = _store(
        session,
        _xml(
            "change_external_chat", "update", T0 + 1, ChatId="wrG1", UpdateDetail="del_member", QuitScene="1"
        ),
    )
    assert _run(session, upd, stub) == CallbackStatus.done
    gone = session.scalars(
        select(ChannelMembership).where(
            ChannelMembership.channel == Channel.group, ChannelMembership.left_at.is_not(None)
        )
    ).one()
    assert gone.leave_reason == LeaveReason.removed_from_group
    assert len(_open_memberships(session, Channel.group)) == 2
    dismiss = _store(session, _xml("change_external_chat", "dismiss", T0 + 2, ChatId="wrG1"))
    assert _run(session, dismiss, stub) == CallbackStatus.done
    session.refresh(group)
    assert group.dismissed_at is not None and _open_memberships(session, Channel.group) == []
    # Brute force: group memberships ever = 3 (wm1, wm2, wm3); joined events for group = 3.
    assert (
        session.scalar(
            select(func.count())
            .select_from(ChannelMembership)
            .where(ChannelMembership.channel == Channel.group)
        )
        == 3
    )


def test_corp_tag_events(session: Session) -> None:
    _world(session)
    stub = StubClient()
    local_group = TagGroup(name="肤质")
    session.add(local_group)
    session.flush()
    local_tag = Tag(group_id=local_group.id, name="干皮")
    session.add(local_tag)
    session.flush()
    stub.tag_groups = [
        {
            "group_id": "etG9",
            "group_name": "肤质",
            "tag": [{"id": "etT1", "name": "干皮"}, {"id": "etT2", "name": "油皮"}],
        }
    ]
    ev = _store(session, _xml("change_external_tag", "create", Id="etT2", TagType="tag"))
    assert _run(session, ev, stub) == CallbackStatus.done
    session.refresh(local_group)
    session.refresh(local_tag)
    assert local_group.wecom_group_id == "etG9" and local_tag.wecom_tag_id == "etT1"  # linked, not duplicated
    assert session.scalar(select(Tag.name).where(Tag.wecom_tag_id == "etT2")) == "油皮"
    stub.tag_groups[0]["tag"][1]["name"] = "混油皮"
    _run(
        session,
        _store(session, _xml("change_external_tag", "update", T0 + 1, Id="etT2", TagType="tag")),
        stub,
    )
    assert session.scalar(select(Tag.name).where(Tag.wecom_tag_id == "etT2")) == "混油皮"
    _run(
        session,
        _store(session, _xml("change_external_tag", "delete", T0 + 2, Id="etT2", TagType="tag")),
        stub,
    )
    assert (
        session.scalar(
            select(func.count()).select_from(Tag).where(Tag.name == "混油皮", Tag.wecom_tag_id.is_(None))
        )
        == 1
    )
    shuffle = _store(session, _xml("change_external_tag", "shuffle", T0 + 3, Id="etG9", TagType="tag_group"))
    assert _run(session, shuffle, stub) == CallbackStatus.ignored
    assert session.scalar(select(func.count()).select_from(CustomerTag)) == 0
    # Another corp group with the same name (and a same-named tag): created under a suffixed name, no clash.
    stub.tag_groups = [{"group_id": "etG7", "group_name": "肤质", "tag": [{"id": "etT7", "name": "干皮"}]}]
    clash = _store(session, _xml("change_external_tag", "create", T0 + 4, Id="etG7", TagType="tag_group"))
    assert _run(session, clash, stub) == CallbackStatus.done
    names = {gid: name for gid, name in session.execute(select(TagGroup.wecom_group_id, TagGroup.name))}
    assert names["etG9"] == "肤质" and names["etG7"] == "肤质 (etG7)"
    assert session.scalar(select(Tag.name).where(Tag.wecom_tag_id == "etT7")) == "干皮"
