"""Handover against the fake WeCom: choose, block (2 per 90 days), transfer, poll results, move, quality."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fake_wecom.server import FakeServer
from siyu.channels.wecom.client import WecomClient
from siyu.errors import Invalid
from siyu.models import ChannelMembership, Customer, Event, OrgUnit, Staff
from siyu.models.enums import Channel, LeaveReason, OrgUnitKind
from siyu.models.wecom import HandoverBatch, HandoverTransfer, TransferKind, TransferStatus
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.wecom.contacts import upsert_contacts
from siyu.wecom.handover_report import batch_detail, summaries
from siyu.wecom.handover_service import candidates, poll_job, poll_transfers, start_handover

DAY = 86400


@pytest.fixture()
def client(fake_wecom: FakeServer) -> Iterator[WecomClient]:
    with WecomClient(fake_wecom.corp.corp_id, fake_wecom.corp.secret, base_url=fake_wecom.base_url) as c:
        yield c


def _world(s: Session, fake: FakeServer, client: WecomClient, n: int = 5) -> dict[str, int]:
    corp = fake.corp
    for u in ("u1", "u2", "u9"):
        corp.add_staff(u, resigned=(u == "u9"))
    for i in range(n):
        corp.add_contact(f"客户{i}", external_userid=f"wm{i}")
        corp.add_follow("u1" if i < n - 1 else "u9", f"wm{i}", state="poster")
    store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
    s.add(store)
    s.flush()
    staff = {u: Staff(code=u, name="导购" + u, unit_id=store.id, wecom_userid=u) for u in ("u1", "u2", "u9")}
    s.add_all(staff.values())
    s.flush()
    rows = [r for i in range(n) for r in client.get_external_contact(f"wm{i}").rows()]
    result = upsert_contacts(s, rows, datetime.now(UTC))
    s.flush()
    return {
        "u1": staff["u1"].id,
        "u2": staff["u2"].id,
        "u9": staff["u9"].id,
        **{f"wm{i}": result.customer_ids_by_external[f"wm{i}"] for i in range(n)},
    }


def _transfers(s: Session) -> dict[int, HandoverTransfer]:
    s.expire_all()
    return {t.customer_id: t for t in s.scalars(select(HandoverTransfer))}


def test_onjob_handover_end_to_end(session: Session, fake_wecom: FakeServer, client: WecomClient) -> None:
    w = _world(session, fake_wecom, client)
    now = datetime.now(UTC)
    # wm3 was already handed over twice within 90 days: Siyu must not even ask WeCom.
    old = HandoverBatch(kind=TransferKind.onjob, handover_staff_id=w["u2"], takeover_staff_id=w["u1"])
    session.add(old)
    session.flush()
    for days in (80, 10):
        session.add(
            HandoverTransfer(
                batch_id=old.id,
                customer_id=w["wm3"],
                external_userid="wm3",
                status=TransferStatus.done,
                requested_at=now - timedelta(days=days),
            )
        )
        old = HandoverBatch(kind=TransferKind.onjob, handover_staff_id=w["u2"], takeover_staff_id=w["u1"])
        session.add(old)
        session.flush()
    cands = {c.customer_id: c for c in candidates(session, SYSTEM_ACTOR, w["u1"], now)}
    assert sorted(cands) == sorted(w[f"wm{i}"] for i in range(4))  # wm4 follows u9 only
    assert "2 times" in (cands[w["wm3"]].blocked_reason or "")

    chosen = [w["wm0"], w["wm1"], w["wm2"], w["wm3"]]
    batch = start_handover(
        session,
        SYSTEM_ACTOR,
        client,
        kind=TransferKind.onjob,
        handover_staff_id=w["u1"],
        takeover_staff_id=w["u2"],
        customer_ids=chosen,
        now=now,
        message="您好，我是新的顾问",
    )
    assert (batch.requested, batch.blocked) == (3, 1)
    t = _transfers(session)
    assert t[w["wm3"]].status == TransferStatus.blocked
    assert [x.external_userid for x in fake_wecom.corp.transfers] == ["wm0", "wm1", "wm2"]
    assert fake_wecom.corp.call_counts()["externalcontact/transfer_customer"] == 1

    # Still waiting; then wm1's customer refuses (callback side) and 24 h pass.
    r = poll_transfers(session, client, now)
    assert r.by_status == {"waiting": 3} and r.moved == 0
    fake_wecom.corp.simulate_transfer_fail("wm1", "customer_refused")
    fake_wecom.corp.advance(DAY + 60)
    r = poll_transfers(session, client, now + timedelta(days=1))
    assert dict(r.by_status) == {"done": 2, "refused": 1} and r.moved == 2
    t = _transfers(session)
    assert t[w["wm0"]].takeover_at is not None
    # Memberships moved: u1's follow closed with reason handover, u2's open with the original channel code.
    m = ChannelMembership
    for ext in ("wm0", "wm2"):
        rows = session.scalars(select(m).where(m.customer_id == w[ext], m.channel == Channel.wecom)).all()
        by_staff = {x.staff_id: x for x in rows}
        assert by_staff[w["u1"]].leave_reason == LeaveReason.handover
        assert by_staff[w["u2"]].left_at is None and by_staff[w["u2"]].channel_code == "poster"
        assert session.get_one(Customer, w[ext]).owner_staff_id == w["u2"]
    assert session.scalar(select(func.count()).select_from(Event).where(Event.kind == "handed_over")) == 2
    still_u1 = session.scalars(select(m).where(m.customer_id == w["wm1"], m.staff_id == w["u1"])).one()
    assert still_u1.left_at is None
    # A poll with nothing open asks WeCom nothing.
    calls = client.calls
    assert poll_transfers(session, client, now + timedelta(days=2)).batches == 0 and client.calls == calls

    # Quality after 14 days: wm2's customer deleted u2 on day 5 → kept 1 of 2 matured.
    took_wm2 = t[w["wm2"]].takeover_at
    assert took_wm2 is not None
    session.execute(
        update(m)
        .where(m.customer_id == w["wm2"], m.staff_id == w["u2"])
        .values(
            left_at=took_wm2 + timedelta(days=5),
            leave_reason=LeaveReason.customer_deleted_staff,
        )
    )
    early = summaries(session, SYSTEM_ACTOR, now + timedelta(days=3), batch_ids=[batch.id])[0]
    assert (early.matured, early.kept, early.kept_rate) == (0, 0, None)
    later, lines = batch_detail(session, SYSTEM_ACTOR, batch.id, now + timedelta(days=20))
    assert (later.matured, later.kept) == (2, 1)
    assert later.counts["done"] == 2 and later.counts["refused"] == 1 and later.counts["blocked"] == 1
    assert later.total == 4 == len(lines)
    # Brute force over raw rows: done transfers whose takeover membership spans takeover + 14 days.
    brute = 0
    for tr in _transfers(session).values():
        if tr.batch_id != batch.id or tr.status != TransferStatus.done or tr.takeover_at is None:
            continue
        at = tr.takeover_at + timedelta(days=14)
        spans = session.scalars(select(m).where(m.customer_id == tr.customer_id, m.staff_id == w["u2"])).all()
        brute += any(x.joined_at <= at and (x.left_at is None or x.left_at > at) for x in spans)
    assert brute == later.kept
    # With a 3-day horizon wm2 (left on day 5) still counts as kept.
    short, _ = batch_detail(session, SYSTEM_ACTOR, batch.id, now + timedelta(days=20), days=3)
    assert (short.matured, short.kept, short.days) == (2, 2, 3)
    assert poll_job(session) == {"batches": 0}  # nothing open: no WeCom call, no app needed


def test_resigned_handover_and_validation(
    session: Session, fake_wecom: FakeServer, client: WecomClient
) -> None:
    w = _world(session, fake_wecom, client)
    now = datetime.now(UTC)
    with pytest.raises(Invalid, match="not WeCom customers"):
        start_handover(
            session,
            SYSTEM_ACTOR,
            client,
            kind=TransferKind.resigned,
            handover_staff_id=w["u9"],
            takeover_staff_id=w["u2"],
            customer_ids=[w["wm0"]],
            now=now,
        )
    with pytest.raises(Invalid, match="message"):
        start_handover(
            session,
            SYSTEM_ACTOR,
            client,
            kind=TransferKind.resigned,
            handover_staff_id=w["u9"],
            takeover_staff_id=w["u2"],
            customer_ids=[w["wm4"]],
            now=now,
            message="hi",
        )
    batch = start_handover(
        session,
        SYSTEM_ACTOR,
        client,
        kind=TransferKind.resigned,
        handover_staff_id=w["u9"],
        takeover_staff_id=w["u2"],
        customer_ids=[w["wm4"]],
        now=now,
    )
    assert batch.requested == 1
    assert fake_wecom.corp.call_counts()["externalcontact/resigned/transfer_customer"] == 1
    # On-job transfer from a resigned member: WeCom refuses the whole call → every customer failed with the code.
    session.execute(update(HandoverTransfer).values(status=TransferStatus.failed))
    wrong = start_handover(
        session,
        SYSTEM_ACTOR,
        client,
        kind=TransferKind.onjob,
        handover_staff_id=w["u9"],
        takeover_staff_id=w["u2"],
        customer_ids=[w["wm4"]],
        now=now,
    )
    assert wrong.requested == 0
    failed = session.scalars(select(HandoverTransfer).where(HandoverTransfer.batch_id == wrong.id)).one()
    assert failed.status == TransferStatus.failed and failed.errcode == 40003
    fake_wecom.corp.advance(DAY + 60)
    r = poll_transfers(session, client, now + timedelta(days=1))
    assert dict(r.by_status) == {}  # the resigned transfer row was overwritten to failed above: nothing open
