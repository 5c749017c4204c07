"""on_contact_added: the welcome's 20-second window and failures, attribution, tags, journey entry key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.events import NewEvent, record_events
from siyu.models import (
    ChannelMembership,
    Customer,
    CustomerTag,
    Event,
    Journey,
    JourneyEnrolment,
    JourneyStatus,
    JourneyVersion,
    OrgUnit,
    Script,
    ScriptApproval,
    Staff,
    Tag,
    TagGroup,
)
from siyu.models.enums import AcquisitionSource, Channel
from siyu.models.wecom import ChannelCode, WecomCallbackEvent, WecomWelcome, WelcomeStatus
from siyu.wecom.contacts import ContactUpsertResult
from siyu.wecom.onboarding import on_contact_added

NOW = datetime(2026, 3, 2, 2, 0, 30, tzinfo=UTC)


class StubClient:
    """Records welcome and mark_tag calls; `welcome_error` makes send_welcome_msg raise."""

    def __init__(self, welcome_error: Exception | None = None) -> None:
        self.welcomes: list[tuple[str, str]] = []
        self.marks: list[tuple[str, str, list[str]]] = []
        self.welcome_error = welcome_error

    def send_welcome_msg(self, code: str, text: str, attachments: Any = ()) -> None:
        if self.welcome_error is not None:
            raise self.welcome_error
        self.welcomes.append((code, text))

    def mark_tag(self, userid: str, external_userid: str, add: Any = (), remove: Any = ()) -> None:
        self.marks.append((userid, external_userid, list(add)))


@dataclass
class Setup:
    staff_id: int
    store_id: int
    customer_id: int
    code: ChannelCode
    linked_tag: int
    local_tag: int
    journey_id: int


def _setup(session: Session, *, new_membership: bool = True) -> tuple[Setup, ContactUpsertResult]:
    store = OrgUnit(kind="store", code="S1", name="静安店", path="/1/", depth=0)
    session.add(store)
    session.flush()
    staff = Staff(code="G1", name="小李", unit_id=store.id, wecom_userid="lee")
    group = TagGroup(name="渠道", wecom_group_id="etG")
    session.add_all([staff, group])
    session.flush()
    linked, local = (
        Tag(group_id=group.id, name="海报", wecom_tag_id="etT1"),
        Tag(group_id=group.id, name="本地"),
    )
    script = Script(
        title="欢迎",
        category="welcome",
        body="{name}你好，{guide}在{store}等你",
        approval=ScriptApproval.approved,
    )
    journey = Journey(code="j", name="j", status=JourneyStatus.active, current_version=1)
    session.add_all([linked, local, script, journey])
    session.flush()
    definition = {
        "trigger": {"kind": "channel_code", "channel_code": "P1"},
        "steps": [
            {
                "key": "s0",
                "name": "s0",
                "delay": {"days": 0},
                "actions": [{"kind": "create_task", "title": "t"}],
            }
        ],
        "quiet_hours": None,
    }
    session.add(JourneyVersion(journey_id=journey.id, version=1, definition=definition, created_at=NOW))
    code = ChannelCode(
        code="P1",
        name="海报",
        source_detail="门店海报",
        ad_campaign="春季",
        store_id=store.id,
        staff_ids=[staff.id],
        tag_ids=[linked.id, local.id],
        welcome_script_id=script.id,
        journey_id=journey.id,
    )
    customer = Customer(name="王女士", source=AcquisitionSource.organic, first_seen_at=NOW)
    session.add_all([code, customer])
    session.flush()
    result = ContactUpsertResult(
        customer_ids_by_external={"wmX": customer.id}, new_customer_ids=[customer.id]
    )
    if new_membership:
        membership = ChannelMembership(
            customer_id=customer.id,
            channel=Channel.wecom,
            staff_id=staff.id,
            joined_at=NOW,
            channel_code="P1",
        )
        session.add(membership)
        session.flush()
        record_events(
            session,
            [
                NewEvent(
                    "joined_channel",
                    NOW,
                    customer.id,
                    staff.id,
                    subject_type="channel_membership",
                    subject_id=membership.id,
                    data={"channel": "wecom", "channel_code": "P1"},
                )
            ],
        )
        result.new_membership_ids = [membership.id]
    ids = Setup(staff.id, store.id, customer.id, code, linked.id, local.id, journey.id)
    return ids, result


def _event(
    session: Session, *, age: float = 2.0, welcome_code: str | None = "WC1", state: str = "P1"
) -> WecomCallbackEvent:
    row = WecomCallbackEvent(
        dedupe_key=f"k{age}{welcome_code}{state}",
        event="change_external_contact",
        change_type="add_external_contact",
        user_id="lee",
        external_user_id="wmX",
        state=state,
        welcome_code=welcome_code,
        payload={},
        created_time=NOW - timedelta(seconds=age),
        received_at=NOW,
    )
    session.add(row)
    session.flush()
    return row


def test_within_window_sends_tags_attributes_and_enrols_once(session: Session) -> None:
    s, result = _setup(session)
    wecom = StubClient()
    out = on_contact_added(session, _event(session), result, NOW, client=wecom)  # type: ignore[arg-type]
    assert out.welcome == WelcomeStatus.sent and wecom.welcomes == [("WC1", "王女士你好，小李在静安店等你")]
    assert wecom.marks == [("lee", "wmX", ["etT1"])]  # only the WeCom-linked tag goes to WeCom
    assert set(session.scalars(select(CustomerTag.tag_id))) == {s.linked_tag, s.local_tag}
    tagged = session.execute(select(Event.staff_id).where(Event.kind == "tagged")).scalars().all()
    assert tagged == [s.staff_id, s.staff_id]
    c = session.get_one(Customer, s.customer_id)
    assert (c.source_channel_code, c.source_ad_campaign, c.source_detail) == ("P1", "春季", "门店海报")
    assert (c.home_store_id, c.owner_staff_id) == (s.store_id, s.staff_id)
    joined = session.scalar(select(Event.id).where(Event.kind == "joined_channel"))
    keys = session.scalars(select(JourneyEnrolment.entry_key)).all()
    assert keys == [f"event:{joined}"] and out.enrolment["enrolled"] == 1
    welcome = session.scalars(select(WecomWelcome)).one()
    assert welcome.seconds_after_event == pytest.approx(2.0) and welcome.channel_code_id == s.code.id
    # Processing the same event again (a retried job) sends nothing twice and enrols once.
    again = on_contact_added(
        session, session.get_one(WecomCallbackEvent, welcome.callback_event_id), result, NOW, client=wecom
    )  # type: ignore[arg-type]
    assert len(wecom.welcomes) == 1 and again.enrolment["already"] == 1
    assert session.scalar(select(func.count()).select_from(WecomWelcome)) == 1


def test_customer_known_before_keeps_first_source(session: Session) -> None:
    s, result = _setup(session, new_membership=False)
    c = session.get_one(Customer, s.customer_id)
    c.source_channel_code, c.owner_staff_id, c.source_detail = "OLD", None, "老渠道"
    on_contact_added(session, _event(session), result, NOW, client=StubClient())  # type: ignore[arg-type]
    assert (c.source_channel_code, c.source_detail, c.owner_staff_id) == ("OLD", "老渠道", s.staff_id)
    # No new membership event: a key of its own, still one enrolment.
    assert session.scalars(select(JourneyEnrolment.entry_key)).all() == [f"wecom_add:{out_event_id(session)}"]


def out_event_id(session: Session) -> int:
    return int(session.scalars(select(WecomCallbackEvent.id)).one())


@pytest.mark.parametrize(
    ("age", "code", "state", "status", "reason"),
    [
        (25.0, "WC1", "P1", WelcomeStatus.expired, "WeCom allows 20 s"),
        (1.0, None, "P1", WelcomeStatus.skipped, "no WelcomeCode"),
        (1.0, "WC1", "NOPE", WelcomeStatus.skipped, "no channel code"),
    ],
)
def test_welcome_not_sent(
    session: Session, age: float, code: str | None, state: str, status: WelcomeStatus, reason: str
) -> None:
    _s, result = _setup(session)
    wecom = StubClient()
    out = on_contact_added(
        session, _event(session, age=age, welcome_code=code, state=state), result, NOW, client=wecom
    )  # type: ignore[arg-type]
    assert out.welcome == status and reason in (out.welcome_reason or "") and wecom.welcomes == []
    tags = session.scalar(select(func.count()).select_from(CustomerTag))
    assert tags == (0 if state == "NOPE" else 2)


def test_welcome_code_used_is_failed_but_onboarding_continues(session: Session) -> None:
    from siyu.channels.wecom.errors import WelcomeCodeUsed

    _s, result = _setup(session)
    wecom = StubClient(WelcomeCodeUsed(41051, "welcome code used", "externalcontact/send_welcome_msg"))
    out = on_contact_added(session, _event(session), result, NOW, client=wecom)  # type: ignore[arg-type]
    assert out.welcome == WelcomeStatus.failed and "41051" in (out.welcome_reason or "")
    assert out.tags_added == 2 and out.enrolment["enrolled"] == 1


def test_a_tag_deleted_since_is_skipped_not_fatal(session: Session) -> None:
    s, result = _setup(session)
    s.code.tag_ids = [*s.code.tag_ids, 987_654]
    session.flush()
    wecom = StubClient()
    out = on_contact_added(session, _event(session), result, NOW, client=wecom)  # type: ignore[arg-type]
    assert out.tags_added == 2 and "987654" in out.warnings[0] and out.welcome == WelcomeStatus.sent
