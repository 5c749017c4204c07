"""Review service and incident queries: counts reconcile with brute force per scope; the review state machine."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.compliance import incidents_query as q
from siyu.compliance import review_service
from siyu.compliance.access import masked_text, segments, shown_segments
from siyu.errors import Conflict, Forbidden, NotFound
from siyu.models import AuditLog, OrgUnit
from siyu.models.compliance import ComplianceCategory, IncidentStatus, SensitiveIncident, WhitelistPhrase
from siyu.org.permissions import Actor
from siyu.privacy import mask_phone
from siyu.timeutil import brand_zone, local_date
from tests.compliance import review_world as rw
from tests.compliance.review_world import HTML_SPAN, HTML_TEXT, PHONE_SPAN, PHONE_TEXT


@pytest.fixture()
def world(engine: Engine) -> rw.World:
    return rw.build(engine)


def _visible(session: Session, who: str, world: rw.World) -> list[SensitiveIncident]:
    """Brute force: every incident row, kept by reading the scope rule off the account, not the query helper."""
    rows = session.scalars(select(SensitiveIncident)).all()
    if who in ("root", "lead", "operator", "analyst"):
        return list(rows)
    if who == "region":
        paths: dict[int, str] = dict(session.execute(select(OrgUnit.id, OrgUnit.path)).all())
        r1 = paths[world.units["R1"]]
        return [r for r in rows if r.unit_id is not None and paths[r.unit_id].startswith(r1)]
    if who == "store":
        return [r for r in rows if r.unit_id == world.units["ST1"]]
    raise AssertionError(who)


@pytest.mark.parametrize("who", ["root", "region", "store"])
def test_counts_per_staff_and_trend_reconcile_with_raw_rows(
    engine: Engine, session: Session, world: rw.World, who: str
) -> None:
    actor = rw.actor(engine, who)
    f = q.make_filter()
    rows = [
        r
        for r in _visible(session, who, world)
        if f.first <= local_date(r.occurred_at, brand_zone()) <= f.last
    ]
    assert rows, "the world must give every scope something to count"

    assert q.status_counts(session, actor, f) == {s: sum(r.status is s for r in rows) for s in IncidentStatus}
    listed = q.list_incidents(session, actor, f, page=1, size=500)
    assert listed.total == len(rows)
    assert sorted(r.incident.id for r in listed.rows) == sorted(r.id for r in rows)

    brute_staff = Counter((r.staff_id, r.status) for r in rows)
    table = q.per_staff(session, actor, f)
    assert {(e.staff_id, s): n for e in table for s, n in e.counts.items() if n} == dict(brute_staff)

    brute_days = Counter((local_date(r.occurred_at, brand_zone()), r.category) for r in rows)
    series = q.trend(session, actor, f)
    got = {(d, c): data[i] for c, data in series.items() for i, d in enumerate(f.days) if data[i]}
    assert got == dict(brute_days)
    assert q.category_counts(session, actor, f) == {
        c: sum(r.category is c for r in rows) for c in ComplianceCategory
    }


def test_filters_narrow_like_brute_force(engine: Engine, session: Session, world: rw.World) -> None:
    actor = rw.actor(engine, "region")
    rows = _visible(session, "region", world)
    g1 = world.staff["G1"]
    f = q.make_filter(status=IncidentStatus.open, staff_id=g1, detector="keyword")
    want = [
        r for r in rows if r.status is IncidentStatus.open and r.staff_id == g1 and r.detector == "keyword"
    ]
    assert q.list_incidents(session, actor, f, size=500).total == len(want)
    f = q.make_filter(unit_id=world.units["ST2"], category=ComplianceCategory.abuse)
    want = [r for r in rows if r.unit_id == world.units["ST2"] and r.category is ComplianceCategory.abuse]
    assert q.list_incidents(session, actor, f, size=500).total == len(want)
    # A unit outside the scope is unknown, not empty.
    with pytest.raises(NotFound):
        q.list_incidents(session, actor, q.make_filter(unit_id=world.units["ST3"]))
    # Date range: one day.
    day = local_date(rows[0].occurred_at, brand_zone())
    want = [r for r in rows if local_date(r.occurred_at, brand_zone()) == day]
    assert q.list_incidents(session, actor, q.make_filter(day, day), size=500).total == len(want)


def test_store_manager_cannot_reach_other_stores(engine: Engine, session: Session, world: rw.World) -> None:
    store = rw.actor(engine, "store")
    outside = session.scalar(
        select(SensitiveIncident.id).where(SensitiveIncident.unit_id == world.units["ST3"])
    )
    assert outside is not None
    with pytest.raises(NotFound):
        review_service.get_incident(session, store, outside)
    with pytest.raises(NotFound):
        review_service.review(session, store, outside, "confirmed", "no")


def test_review_state_machine(engine: Engine, session: Session, world: rw.World) -> None:
    store, lead = rw.actor(engine, "store"), rw.actor(engine, "lead")
    incident = world.html_incident
    done = review_service.review(session, store, incident, "confirmed", "  骂人，已核实 ")
    assert (done.status, done.review_note, done.reviewer_account_id) == (
        IncidentStatus.confirmed,
        "骂人，已核实",
        store.account_id,
    )
    assert done.reviewed_at is not None
    with pytest.raises(Conflict):
        review_service.review(session, store, incident, "dismissed", "changed my mind")
    with pytest.raises(Forbidden):
        review_service.review(session, store, incident, "open", "reopen")
    review_service.review(session, lead, incident, "open", "再看看")
    review_service.review(session, lead, incident, "dismissed", "误报")
    with pytest.raises(Conflict):
        review_service.review(session, lead, incident, "dismissed", "again")
    session.commit()
    history = review_service.history(session, incident)
    assert [(h.from_status, h.to_status, h.actor) for h in history] == [
        ("open", "confirmed", "store"),
        ("confirmed", "open", "lead"),
        ("open", "dismissed", "lead"),
    ]
    assert history[0].note == "骂人，已核实"
    audited = session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == review_service.REVIEW_ACTION)
    )
    assert audited == 3


def test_operator_and_analyst_may_not_review(engine: Engine, session: Session, world: rw.World) -> None:
    for who in ("operator", "analyst", "guide"):
        with pytest.raises(Forbidden):
            review_service.review(session, rw.actor(engine, who), world.html_incident, "confirmed", None)


def test_whitelist_from_dismissed_incident(engine: Engine, session: Session, world: rw.World) -> None:
    lead, store = rw.actor(engine, "lead"), rw.actor(engine, "store")
    with pytest.raises(Conflict):  # still open
        review_service.whitelist(session, lead, world.html_incident)
    review_service.review(session, store, world.html_incident, "dismissed", "玩笑话")
    with pytest.raises(Forbidden):  # store managers review; the lead changes what is detected
        review_service.whitelist(session, store, world.html_incident)
    phrase = review_service.whitelist(session, lead, world.html_incident)
    session.commit()
    assert phrase == "傻逼"
    rows = session.scalars(select(WhitelistPhrase).where(WhitelistPhrase.phrase == "傻逼")).all()
    assert len(rows) == 1
    assert rows[0].category in (ComplianceCategory.abuse, None)


def test_chat_view_is_one_audit_row_and_refused_without_the_right(
    engine: Engine, session: Session, world: rw.World
) -> None:
    region: Actor = rw.actor(engine, "region")
    incident = review_service.get_incident(session, region, world.html_incident)
    view = review_service.view_chat(session, region, incident)
    text = {m.id: "".join(s.text for s in m.segments) for m in view.all}
    assert [text[m.id] for m in view.before[-2:]] == ["您好，请问有什么可以帮您", "我的快递呢"]
    assert [text[m.id] for m in view.messages] == [HTML_TEXT] and view.messages[0].own
    assert [text[m.id] for m in view.after] == ["抱歉刚才说错了"]
    assert "别的客户的消息" not in text.values()
    rows = session.scalars(select(AuditLog).where(AuditLog.action == review_service.CHAT_VIEW)).all()
    assert (
        len(rows) == 1 and rows[0].target_id == incident.message_id and rows[0].target_type == "chat_message"
    )
    assert len((rows[0].detail or {})["messages"]) == len(view.all)
    for who in ("operator", "analyst"):
        with pytest.raises(Forbidden):
            review_service.view_chat(session, rw.actor(engine, who), incident)


def test_segments_cut_the_original_text_at_the_stored_span() -> None:
    pieces = segments(HTML_TEXT, [HTML_SPAN])
    assert [p.text for p in pieces if p.hit] == ["傻逼"]
    assert "".join(p.text for p in pieces) == HTML_TEXT
    assert [p.text for p in segments("abc", [(0, 3)])] == ["abc"]
    assert [(p.text, p.hit) for p in segments("abcdef", [(3, 5), (1, 2), (4, 6)])] == [
        ("a", False),
        ("b", True),
        ("c", False),
        ("def", True),
    ]


def test_phones_are_masked_in_place_unless_revealed() -> None:
    assert masked_text("电话13812345678") == "电话" + str(mask_phone("13812345678"))
    shown = masked_text(PHONE_TEXT)
    assert len(shown) == len(PHONE_TEXT) and "138 **** 5678" in shown
    assert masked_text("幺三八一二三四五六七八") == "幺三八****五六七八"
    # An order number is not an eleven-digit mobile; left alone.
    assert masked_text("订单号 202611240001234") == "订单号 202611240001234"
    hit = [(PHONE_SPAN[0], PHONE_SPAN[1], "phone", ComplianceCategory.contact)]
    masked = shown_segments(PHONE_TEXT, hit, reveal=False)
    assert [p.text for p in masked if p.hit] == ["138 **** 5678"]
    revealed = shown_segments(PHONE_TEXT, hit, reveal=True)
    assert [p.text for p in revealed if p.hit] == ["138 1234 5678"]


def test_default_range_and_reversed_range(engine: Engine) -> None:
    f = q.make_filter()
    assert (f.last - f.first) == timedelta(days=q.DEFAULT_DAYS - 1)
    from siyu.errors import Invalid

    with pytest.raises(Invalid):
        q.make_filter(f.last, f.first - timedelta(days=1))
