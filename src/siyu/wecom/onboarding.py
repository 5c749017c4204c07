"""What happens when a customer adds a member through a channel code: welcome, attribution, tags, journey."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.customers.tags import apply_tags
from siyu.db.bulk import any_of
from siyu.journeys.contract import EnrolRequest
from siyu.journeys.enrolment import enrol
from siyu.journeys.render import RenderItem, render_many
from siyu.models import Customer, Event, Staff, Tag
from siyu.models.wecom import ChannelCode, WecomCallbackEvent, WecomWelcome, WelcomeStatus
from siyu.org.permissions import Actor, DataScope, PermissionRole
from siyu.wecom.credentials import opened_client

if TYPE_CHECKING:
    from siyu.channels.wecom.client import WecomClient
    from siyu.wecom.contacts import ContactUpsertResult

WELCOME_WINDOW_SECONDS = 20.0  # send_welcome_msg is accepted only within 20 s of the event (DOC/92137)


@dataclass
class OnboardingResult:
    """What on_contact_added did for one add event."""

    code_id: int | None = None
    customer_id: int | None = None
    staff_id: int | None = None
    welcome: WelcomeStatus | None = None
    welcome_reason: str | None = None
    tags_added: int = 0
    wecom_tags_marked: int = 0
    enrolment: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _actor(staff_id: int | None) -> Actor:
    # The code's tags are applied on the answering member's behalf, so tagged events carry their staff id.
    return Actor(
        account_id=None, username="wecom", role=PermissionRole.admin, scope=DataScope.all, staff_id=staff_id
    )


def _attribute(session: Session, customer: Customer, code: ChannelCode, staff_id: int | None) -> None:
    # Only fills what is empty: a customer known before keeps their first source (first touch wins).
    if customer.source_channel_code is None:
        customer.source_channel_code = code.code
    if customer.source_ad_campaign is None and code.ad_campaign:
        customer.source_ad_campaign = code.ad_campaign
    if customer.source_detail is None and code.source_detail:
        customer.source_detail = code.source_detail
    if customer.home_store_id is None and code.store_id is not None:
        customer.home_store_id = code.store_id
    if customer.owner_staff_id is None and staff_id is not None:
        customer.owner_staff_id = staff_id


def _welcome(
    session: Session,
    wecom: WecomClient,
    event_row: WecomCallbackEvent,
    code: ChannelCode | None,
    customer_id: int | None,
    staff_id: int | None,
    now: datetime,
) -> WecomWelcome:
    from siyu.channels.wecom.errors import WecomError

    seconds = (now - event_row.created_time).total_seconds()
    row = WecomWelcome(
        callback_event_id=event_row.id,
        channel_code_id=code.id if code else None,
        customer_id=customer_id,
        staff_id=staff_id,
        script_id=code.welcome_script_id if code else None,
        attempted_at=now,
        seconds_after_event=seconds,
        status=WelcomeStatus.skipped,
    )
    if code is None:
        row.reason = "no channel code for this add (state empty or unknown)"
    elif code.welcome_script_id is None:
        row.reason = "the channel code has no welcome script"
    elif not event_row.welcome_code:
        row.reason = "no WelcomeCode in the event (a console welcome is set, or the chat already started)"
    elif seconds > WELCOME_WINDOW_SECONDS:
        row.status, row.reason = WelcomeStatus.expired, f"{seconds:.1f} s after the event (WeCom allows 20 s)"
    else:
        text = render_many(session, [RenderItem(code.welcome_script_id, customer_id, staff_id)])[0]
        row.text = text
        try:
            wecom.send_welcome_msg(event_row.welcome_code, text)
            row.status, row.reason = WelcomeStatus.sent, None
        except WecomError as exc:
            row.status, row.reason = WelcomeStatus.failed, f"errcode {exc.errcode}: {exc.errmsg}"[:200]
    session.add(row)
    session.flush()
    return row


def _entry_key(
    session: Session, event_row: WecomCallbackEvent, result: ContactUpsertResult, customer_id: int
) -> tuple[str, datetime | None]:
    # The same key the channel_code trigger scan derives ("event:<joined_channel event id>"), so a journey
    # enrolled here and also triggered by the scan enrols once.
    if result.new_membership_ids:
        row = session.execute(
            select(Event.id, Event.occurred_at)
            .where(
                Event.kind == "joined_channel",
                Event.customer_id == customer_id,
                Event.subject_type == "channel_membership",
                any_of(session, Event.subject_id, result.new_membership_ids),
            )
            .order_by(Event.id)
            .limit(1)
        ).first()
        if row is not None:
            return f"event:{row.id}", row.occurred_at
    return f"wecom_add:{event_row.id}", None


def on_contact_added(
    session: Session,
    event_row: WecomCallbackEvent,
    result: ContactUpsertResult,
    now: datetime,
    *,
    client: WecomClient | None = None,
) -> OnboardingResult:
    """Attribute, welcome (within the 20-second window), tag locally and on WeCom, enrol in the code's journey."""
    out = OnboardingResult()
    external = event_row.external_user_id or ""
    out.customer_id = result.customer_ids_by_external.get(external)
    if event_row.user_id:
        out.staff_id = session.scalar(select(Staff.id).where(Staff.wecom_userid == event_row.user_id))
    code = None
    if event_row.state:
        code = session.scalar(select(ChannelCode).where(ChannelCode.code == event_row.state))
    out.code_id = code.id if code else None
    if code is not None and out.customer_id is not None:
        # Attribution first (local, fast) so the welcome can name the store; then the time-bound welcome.
        _attribute(session, session.get_one(Customer, out.customer_id), code, out.staff_id)
        session.flush()
    already = session.scalar(select(WecomWelcome).where(WecomWelcome.callback_event_id == event_row.id))
    with opened_client(session, client) as wecom:
        welcome = already or _welcome(session, wecom, event_row, code, out.customer_id, out.staff_id, now)
        out.welcome, out.welcome_reason = welcome.status, welcome.reason
        if code is None or out.customer_id is None:
            return out
        # Tags deleted since the code was set up are dropped here: a missing tag must not fail every scan.
        wanted = list(code.tag_ids or [])
        tag_ids = (
            list(session.scalars(select(Tag.id).where(any_of(session, Tag.id, wanted)))) if wanted else []
        )
        if len(tag_ids) < len(set(wanted)):
            out.warnings.append(
                f"channel code {code.code}: tags {sorted(set(wanted) - set(tag_ids))} no longer exist"
            )
        if tag_ids:
            change = apply_tags(session, _actor(out.staff_id), [out.customer_id], tag_ids)
            out.tags_added = len(change.added)
            linked = list(
                session.scalars(
                    select(Tag.wecom_tag_id).where(
                        any_of(session, Tag.id, tag_ids), Tag.wecom_tag_id.is_not(None)
                    )
                )
            )
            if linked and event_row.user_id and external:
                from siyu.channels.wecom.errors import WecomError

                try:
                    wecom.mark_tag(event_row.user_id, external, add=[str(t) for t in linked])
                    out.wecom_tags_marked = len(linked)
                except WecomError as exc:
                    # Local tags stand; the tag push job retries WeCom from the tagged events.
                    out.warnings.append(f"mark_tag failed: errcode {exc.errcode} {exc.errmsg}")
    if code.journey_id is not None:
        key, at = _entry_key(session, event_row, result, out.customer_id)
        request = EnrolRequest(out.customer_id, key, at or now, out.staff_id, {"channel_code": code.code})
        out.enrolment = enrol(session, code.journey_id, [request], now)
    return out
