"""Bad rules are rejected with the JSON path of the bad node; saved segments keep versions, sizes and an audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.errors import Conflict, Forbidden, Invalid
from siyu.models import AuditLog, SegmentSize, SegmentVersion
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.segments import service
from siyu.segments.schemas import MAX_DEPTH, SegmentCreate, SegmentUpdate, parse_rule
from tests.segments.brute import Brute
from tests.segments.world import NOW, TODAY, build


def _doc(node: Any) -> dict[str, Any]:
    return {"version": 1, "rule": node}


@pytest.mark.parametrize(
    ("node", "where", "why"),
    [
        (
            {
                "all": [{"field": "consent", "op": "is", "value": True}] * 2
                + [{"any": [{"field": "tag", "op": "any", "value": "vip"}]}]
            },
            "rule.all[2].any[0].value",
            "expected a list of tag ids",
        ),
        (
            {"all": [{"field": "height", "op": "ge", "value": 1}]},
            "rule.all[0].field",
            "unknown field 'height'",
        ),
        ({"field": "tag", "op": "some", "value": [1]}, "rule.op", "unknown op 'some' for tag"),
        ({"field": "consent", "op": "is", "value": "yes"}, "rule.value", "expected true or false"),
        ({"field": "source", "op": "in", "value": ["tv"]}, "rule.value", "'tv' is not one of"),
        ({"field": "p_alive", "op": "ge", "value": 1.5}, "rule.value", "from 0 to 1"),
        (
            {"field": "clv_fen", "op": "between", "value": [500, 100]},
            "rule.value",
            "low 500 is above high 100",
        ),
        ({"field": "orders_in_window", "op": "ge", "value": 2}, "rule.days", "whole number of days"),
        ({"field": "consent", "op": "is", "value": True, "days": 3}, "rule.days", "unexpected key"),
        (
            {
                "not": {
                    "field": "channel",
                    "op": "joined_between",
                    "value": ["wecom"],
                    "from": "2026-02-30",
                    "to": "2026-03-01",
                }
            },
            "rule.not.from",
            "not a date",
        ),
        ({"any": []}, "rule.any", "non-empty list"),
        ({"all": [{"field": "consent", "op": "is", "value": True}], "any": []}, "rule", "a group holds only"),
        ([1], "rule", "expected an object"),
    ],
)
def test_bad_rules_name_the_path(node: Any, where: str, why: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_rule(_doc(node))
    assert caught.value.message.startswith(f"{where}: "), caught.value.message
    assert why in caught.value.message
    assert caught.value.details[0]["where"] == where


def test_document_version_depth_and_size_limits() -> None:
    with pytest.raises(Invalid, match=r"^version: expected 1"):
        parse_rule({"version": 2, "rule": {"field": "consent", "op": "is", "value": True}})
    node: dict[str, Any] = {"field": "consent", "op": "is", "value": True}
    for _ in range(MAX_DEPTH + 1):
        node = {"not": node}
    with pytest.raises(Invalid, match="nest at most"):
        parse_rule(_doc(node))
    wide = {"any": [{"field": "consent", "op": "is", "value": True}] * 250}
    with pytest.raises(Invalid, match="at most 200 nodes"):
        parse_rule(_doc(wide))


def test_unknown_ids_are_found_set_based_and_named(session: Session) -> None:
    world = build(session, n=10)
    rule = _doc(
        {
            "all": [
                {"field": "tag", "op": "any", "value": [world.tags[0], 999_999]},
                {"field": "unit", "op": "in", "value": [world.units["R1"]]},
                {"field": "owner_staff", "op": "in", "value": [888_888]},
            ]
        }
    )
    with pytest.raises(Invalid) as caught:
        service.check_rule(session, rule)
    assert caught.value.message == "rule.all[0].value: tag 999999 does not exist"
    assert {"where": "rule.all[2].value", "why": "staff 888888 does not exist"} in caught.value.details


def test_preview_counts_and_masks_the_sample(session: Session) -> None:
    world = build(session)
    rule = _doc({"field": "consent", "op": "is", "value": True})
    result = service.preview(session, SYSTEM_ACTOR, rule, NOW)
    assert result.count == len(Brute(world, NOW).ids(rule))
    assert [c.id for c in result.sample] == Brute(world, NOW).ids(rule)[:20]


def test_versions_change_only_with_the_rule_and_everything_is_audited(session: Session) -> None:
    build(session, n=20)
    first = _doc({"field": "consent", "op": "is", "value": True})
    segment = service.create_segment(session, SYSTEM_ACTOR, SegmentCreate(name="同意营销", rule=first))
    assert segment.current_version == 1
    service.update_segment(
        session, SYSTEM_ACTOR, segment.id, SegmentUpdate(rule=first, description="same rule")
    )
    assert segment.current_version == 1
    second = _doc({"field": "consent", "op": "is", "value": False})
    service.update_segment(session, SYSTEM_ACTOR, segment.id, SegmentUpdate(rule=second, note="flip"))
    assert segment.current_version == 2
    detail = service.segment_detail(session, segment.id)
    assert [v.version for v in detail.versions] == [2, 1]
    assert detail.rule == second and detail.versions[1].rule == first
    with pytest.raises(Conflict, match="already called"):
        service.create_segment(session, SYSTEM_ACTOR, SegmentCreate(name="同意营销", rule=first))
    service.archive_segment(session, SYSTEM_ACTOR, segment.id)
    with pytest.raises(Conflict, match="archived"):
        service.update_segment(session, SYSTEM_ACTOR, segment.id, SegmentUpdate(rule=first))
    actions = session.scalars(
        select(AuditLog.action).where(AuditLog.target_id == segment.id).order_by(AuditLog.id)
    ).all()
    assert actions == ["segment.create", "segment.update", "segment.update", "segment.archive"]
    assert session.scalar(select(func.count()).select_from(SegmentVersion)) == 2


def test_readers_may_not_write(session: Session) -> None:
    analyst = Actor(account_id=None, username="a", role=PermissionRole.analyst, scope=DataScope.all)
    with pytest.raises(Forbidden):
        service.create_segment(
            session,
            analyst,
            SegmentCreate(name="x", rule=_doc({"field": "consent", "op": "is", "value": True})),
        )


def test_record_sizes_counts_live_segments_brand_wide_and_replaces_a_rerun(session: Session) -> None:
    world = build(session)
    brute = Brute(world, NOW)
    rules = [
        _doc({"field": "consent", "op": "is", "value": True}),
        _doc({"field": "last_order_days", "op": "le", "value": 30}),
    ]
    live = service.create_segment(session, SYSTEM_ACTOR, SegmentCreate(name="a", rule=rules[0]))
    other = service.create_segment(session, SYSTEM_ACTOR, SegmentCreate(name="b", rule=rules[1]))
    gone = service.create_segment(session, SYSTEM_ACTOR, SegmentCreate(name="c", rule=rules[0]))
    service.archive_segment(session, SYSTEM_ACTOR, gone.id)
    yesterday = TODAY - timedelta(days=1)
    run = service.record_sizes(session, yesterday, now=NOW)
    assert set(run.sizes) == {live.id, other.id}
    end_of_yesterday = NOW - timedelta(hours=10, minutes=30, microseconds=1)  # NOW is 10:30 brand time
    assert run.sizes[other.id] == len(Brute(world, end_of_yesterday).ids(rules[1]))
    assert run.sizes[live.id] == len(brute.ids(rules[0]))
    service.record_sizes(session, TODAY, now=NOW)
    service.record_sizes(session, TODAY, now=NOW)  # a rerun replaces the day's rows
    rows = session.execute(select(SegmentSize.segment_id, SegmentSize.day, SegmentSize.customers)).all()
    assert len(rows) == 4
    assert {(r.segment_id, r.customers) for r in rows if r.day == TODAY} == {
        (live.id, len(brute.ids(rules[0]))),
        (other.id, len(brute.ids(rules[1]))),
    }
