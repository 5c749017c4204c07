"""Journey definitions: validation paths, versions, status rules, template copies, permissions, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.errors import Conflict, Forbidden, Invalid
from siyu.journeys import definition_service as service
from siyu.journeys.definition_schemas import JourneyCreate, JourneyVersionCreate, TemplateCopy
from siyu.journeys.definition_templates import load_templates, resolve
from siyu.models import AuditLog, JourneyVersion
from siyu.models.journeys import JourneyStatus
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from tests.journeys.j2_world import build, definition

GUIDE = Actor(account_id=None, username="g", role=PermissionRole.guide, scope=DataScope.self_)


def _create(session: Session, raw: dict, code: str = "welcome") -> int:
    journey, _ = service.create_journey(
        session, SYSTEM_ACTOR, JourneyCreate(code=code, name="欢迎", definition=raw)
    )
    return journey.id


def test_invalid_messages_name_the_bad_node(session: Session) -> None:
    w = build(session)
    raw = definition(w.scripts["approved"])
    raw["steps"][1]["actions"].append({"kind": "send_script", "script_id": 99999})
    with pytest.raises(Invalid) as err:
        _create(session, raw)
    assert err.value.message == "steps[1].actions[1].script_id: script 99999 does not exist"
    raw = definition(w.scripts["approved"])
    raw["steps"][0]["delay"] = {"at_local_time": "25:00"}
    with pytest.raises(Invalid) as err:
        _create(session, raw)
    assert err.value.message.startswith("steps[0].delay.at_local_time:")
    raw = definition(w.scripts["approved"])
    raw["steps"][0]["actions"] = [{"kind": "add_tag"}]
    with pytest.raises(Invalid) as err:
        _create(session, raw)
    assert err.value.message == "steps[0].actions[0]: action add_tag needs tag_id"
    raw = definition(w.scripts["approved"], kind="tag_added", tag_id=123456)
    with pytest.raises(Invalid, match=r"^trigger.tag_id: tag 123456 does not exist"):
        _create(session, raw)
    raw = definition(w.scripts["approved"])
    raw["steps"][0]["conditions"] = [{"kind": "in_segment", "segment_id": 777}]
    with pytest.raises(Invalid, match=r"^steps\[0\].conditions\[0\].segment_id: segment 777 does not exist"):
        _create(session, raw)
    raw = definition(w.scripts["approved"])
    raw["steps"][1]["key"] = "s0"
    with pytest.raises(Invalid, match="used twice"):
        _create(session, raw)


def test_versions_are_new_rows_and_status_rules(session: Session) -> None:
    w = build(session)
    raw = definition(w.scripts["pending"])
    journey_id = _create(session, raw)
    # A pending script saves as a draft but blocks activation, naming the node.
    with pytest.raises(Invalid, match=r"^steps\[0\].actions\[0\].script_id: script \d+ is not approved"):
        service.change_status(session, SYSTEM_ACTOR, journey_id, JourneyStatus.active)
    first = session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey_id)).one()
    stored = dict(first.definition)
    journey, problems = service.new_version(
        session, SYSTEM_ACTOR, journey_id, JourneyVersionCreate(definition=definition(w.scripts["approved"]))
    )
    assert journey.current_version == 2 and problems == []
    rows = session.scalars(select(JourneyVersion).where(JourneyVersion.journey_id == journey_id)).all()
    assert sorted(v.version for v in rows) == [1, 2]
    assert next(v for v in rows if v.version == 1).definition == stored  # never edited
    assert (
        service.change_status(session, SYSTEM_ACTOR, journey_id, JourneyStatus.active).status
        is JourneyStatus.active
    )
    assert journey.trigger_watermark is not None and journey.trigger_checked_at is not None
    # An active journey refuses a version that could not run.
    with pytest.raises(Invalid, match="pause it"):
        service.new_version(
            session,
            SYSTEM_ACTOR,
            journey_id,
            JourneyVersionCreate(definition=definition(w.scripts["pending"])),
        )
    service.change_status(session, SYSTEM_ACTOR, journey_id, JourneyStatus.paused)
    service.change_status(session, SYSTEM_ACTOR, journey_id, JourneyStatus.active)
    service.change_status(session, SYSTEM_ACTOR, journey_id, JourneyStatus.archived)
    with pytest.raises(Conflict):
        service.change_status(session, SYSTEM_ACTOR, journey_id, JourneyStatus.active)
    with pytest.raises(Conflict):
        _create(session, raw)  # same code
    actions = session.scalars(select(AuditLog.action).where(AuditLog.target_id == journey_id)).all()
    assert (
        actions.count("journey.status") == 4
        and "journey.create" in actions
        and "journey.new_version" in actions
    )


def test_guides_may_not_edit(session: Session) -> None:
    w = build(session)
    with pytest.raises(Forbidden):
        service.create_journey(
            session, GUIDE, JourneyCreate(code="x1", name="x", definition=definition(w.scripts["approved"]))
        )


def test_every_template_resolves_and_validates(session: Session) -> None:
    w = build(session)
    templates = load_templates()
    assert {
        "new_contact_10d",
        "holiday_greeting",
        "birthday",
        "churn_recall",
        "post_purchase",
        "group_warmup",
    } <= {t.code for t in templates}
    for t in templates:
        picks = {r.ref: w.scripts["approved"] for r in t.refs}
        raw, missing = resolve(t, picks)
        assert missing == []
        _create(session, raw, code=f"t-{t.code}".replace("_", "-"))
    warmup = next(t for t in templates if t.code == "group_warmup")
    assert "链接" in warmup.note


def test_copy_with_a_missing_script_stays_draft_and_asks(session: Session) -> None:
    w = build(session)
    journey, missing = service.copy_template(
        session, SYSTEM_ACTOR, TemplateCopy(template_code="new_contact_10d", code="new-contacts")
    )
    # 新客欢迎语 matches by title, brand_story by its category (welcome); product tips have no match.
    assert missing == ["product_tips", "first_order_offer"]
    assert journey.status is JourneyStatus.draft and journey.template_code == "new_contact_10d"
    with pytest.raises(Invalid, match="no script picked yet"):
        service.change_status(session, SYSTEM_ACTOR, journey.id, JourneyStatus.active)
    ok, missing = service.copy_template(
        session,
        SYSTEM_ACTOR,
        TemplateCopy(
            template_code="holiday_greeting",
            code="holiday",
            scripts={"holiday_greeting": w.scripts["approved"]},
        ),
    )
    assert missing == []
    assert (
        service.change_status(session, SYSTEM_ACTOR, ok.id, JourneyStatus.active).status
        is JourneyStatus.active
    )
    assert session.scalar(select(func.count()).select_from(JourneyVersion)) == 2
