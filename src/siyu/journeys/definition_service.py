"""Journey definitions: create, new versions (never edits), status changes, template copies, list and detail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.journeys import definition_repository as repo
from siyu.journeys.contract import EnrolRequest, JourneyDefinition
from siyu.journeys.definition_check import check_definition, parse_definition, reference_problems
from siyu.journeys.definition_schemas import (
    JourneyCreate,
    JourneyDetail,
    JourneyOut,
    JourneyVersionCreate,
    ManualEnrol,
    Problem,
    RecentEnrolment,
    StepFunnel,
    TemplateCopy,
    TemplateOut,
    TemplateScriptOut,
    VersionOut,
)
from siyu.journeys.definition_templates import get_template, load_templates, resolve, suggest_scripts
from siyu.journeys.triggers import start_watermark
from siyu.models import Journey, JourneyVersion
from siyu.models.journeys import JourneyStatus
from siyu.org.permissions import Actor, PermissionRole

# Journeys are an operations tool: admins, the private-domain lead and operators (运营) edit them.
EDIT_ROLES = frozenset({PermissionRole.admin, PermissionRole.private_domain_lead, PermissionRole.operator})
VIEW_ROLES = EDIT_ROLES | {PermissionRole.manager, PermissionRole.analyst}

# Allowed status moves: a journey is paused/resumed while active, archived from anywhere but archived.
MOVES: dict[JourneyStatus, frozenset[JourneyStatus]] = {
    JourneyStatus.draft: frozenset({JourneyStatus.active, JourneyStatus.archived}),
    JourneyStatus.active: frozenset({JourneyStatus.paused, JourneyStatus.archived}),
    JourneyStatus.paused: frozenset({JourneyStatus.active, JourneyStatus.archived}),
    JourneyStatus.archived: frozenset(),
}


def may_edit(actor: Actor) -> bool:
    """Whether actor may create or change journeys."""
    return actor.role in EDIT_ROLES


def _require_editor(actor: Actor) -> None:
    if not may_edit(actor):
        raise Forbidden(f"role {actor.role.value!r} may not change journeys")


def get_journey(session: Session, journey_id: int) -> Journey:
    """A journey by id, or NotFound."""
    journey = repo.get_journey(session, journey_id)
    if journey is None:
        raise NotFound(f"journey {journey_id} does not exist")
    return journey


def current_definition(session: Session, journey: Journey) -> JourneyDefinition:
    """The parsed definition of the journey's current version."""
    raw = repo.version_definition(session, journey.id, journey.current_version)
    if raw is None:
        raise NotFound(f"journey {journey.id} has no version {journey.current_version}")
    return parse_definition(raw)


def _stored(definition: JourneyDefinition) -> dict[str, Any]:
    # Defaults spelled out: a stored version reads the same even if the contract's defaults change later.
    return definition.model_dump(mode="json")


def _add_version(
    session: Session, actor: Actor, journey: Journey, definition: JourneyDefinition, note: str | None
) -> JourneyVersion:
    version = JourneyVersion(
        journey_id=journey.id,
        version=journey.current_version,
        definition=_stored(definition),
        note=note,
        created_at=utcnow(),
        created_by_account_id=actor.account_id,
    )
    session.add(version)
    return version


def create_journey(session: Session, actor: Actor, data: JourneyCreate) -> tuple[Journey, list[Problem]]:
    """A new draft journey with version 1; returns it and the problems that would block activation."""
    _require_editor(actor)
    if repo.journey_by_code(session, data.code) is not None:
        raise Conflict(f"code: a journey with code {data.code!r} already exists")
    definition, problems = check_definition(session, data.definition, data.code)
    journey = Journey(
        code=data.code,
        name=data.name.strip(),
        description=data.description,
        status=JourneyStatus.draft,
        current_version=1,
        created_by_account_id=actor.account_id,
    )
    session.add(journey)
    session.flush()
    _add_version(session, actor, journey, definition, data.note)
    session.flush()
    audit(session, actor, "journey.create", "journey", journey.id, {"code": data.code, "version": 1})
    return journey, problems


def new_version(
    session: Session, actor: Actor, journey_id: int, data: JourneyVersionCreate
) -> tuple[Journey, list[Problem]]:
    """Store the definition as the journey's next version; enrolments keep the version they started on."""
    _require_editor(actor)
    journey = get_journey(session, journey_id)
    if journey.status is JourneyStatus.archived:
        raise Conflict(f"journey {journey_id} is archived; copy it instead of changing it")
    definition, problems = check_definition(session, data.definition, journey.code)
    if journey.status is JourneyStatus.active:
        blocking = [p for p in problems if p.blocks == "activate"]
        if blocking:
            raise Invalid(
                f"{blocking[0].where}: {blocking[0].why} (the journey is active; pause it to save this)",
                details=[p.model_dump() for p in blocking],
            )
    latest = session.scalar(
        select(func.max(JourneyVersion.version)).where(JourneyVersion.journey_id == journey.id)
    )
    journey.current_version = int(latest or 0) + 1
    if data.name:
        journey.name = data.name.strip()
    if data.description is not None:
        journey.description = data.description or None
    _add_version(session, actor, journey, definition, data.note)
    session.flush()
    audit(session, actor, "journey.new_version", "journey", journey.id, {"version": journey.current_version})
    return journey, problems


def change_status(
    session: Session, actor: Actor, journey_id: int, status: JourneyStatus, now: datetime | None = None
) -> Journey:
    """Move a journey (draft→active→paused→active, anything→archived); activation re-checks references."""
    _require_editor(actor)
    now = now or utcnow()
    journey = get_journey(session, journey_id)
    before = journey.status
    if status is before:
        return journey
    if status not in MOVES[before]:
        raise Conflict(f"status: journey {journey_id} cannot go from {before.value} to {status.value}")
    if status is JourneyStatus.active:
        definition = current_definition(session, journey)
        problems = reference_problems(session, definition, journey.code)
        if problems:
            raise Invalid(
                f"{problems[0].where}: {problems[0].why} — fix it before activating",
                details=[p.model_dump() for p in problems],
            )
        start_watermark(session, journey, definition.trigger, now)
    journey.status = status
    if status is JourneyStatus.archived:
        journey.archived_at = now
    session.flush()
    audit(session, actor, "journey.status", "journey", journey.id, {"from": before.value, "to": status.value})
    return journey


def copy_template(session: Session, actor: Actor, data: TemplateCopy) -> tuple[Journey, list[str]]:
    """A new draft journey from an article template; returns it and the script refs still to pick."""
    _require_editor(actor)
    template = get_template(data.template_code)
    known = {r.ref for r in template.refs}
    unknown = sorted(set(data.scripts) - known)
    if unknown:
        raise Invalid(f"scripts.{unknown[0]}: template {template.code!r} has no script ref {unknown[0]!r}")
    picks = {**suggest_scripts(session, template.refs), **{k: v for k, v in data.scripts.items() if v}}
    definition, missing = resolve(template, picks)
    journey, _problems = create_journey(
        session,
        actor,
        JourneyCreate(
            code=data.code,
            name=data.name or template.name,
            description=template.description,
            definition=definition,
            note=f"copied from template {template.code}",
        ),
    )
    journey.template_code = template.code
    session.flush()
    audit(
        session,
        actor,
        "journey.copy_template",
        "journey",
        journey.id,
        {"template": template.code, "missing": missing},
    )
    return journey, missing


def _outs(session: Session, journeys: list[Journey]) -> list[JourneyOut]:
    definitions = repo.current_definitions(session, journeys)
    counts = repo.enrolment_counts(session, [j.id for j in journeys])
    out = []
    for j in journeys:
        d = definitions.get(j.id) or {}
        out.append(
            JourneyOut(
                id=j.id,
                code=j.code,
                name=j.name,
                description=j.description,
                status=j.status,
                current_version=j.current_version,
                template_code=j.template_code,
                trigger_kind=str((d.get("trigger") or {}).get("kind", "")),
                steps=len(d.get("steps") or ()),
                counts=counts[j.id],
            )
        )
    return out


def list_journeys(session: Session, *, archived: bool = False) -> list[JourneyOut]:
    """Journeys with their version, trigger and enrolment counts by status."""
    return _outs(session, list(repo.list_journeys(session, archived=archived)))


def journey_detail(
    session: Session, actor: Actor, journey_id: int, now: datetime | None = None
) -> JourneyDetail:
    """Versions, counts, the per-step funnel (from journey_step_runs) and recent enrolments in actor's scope."""
    now = now or utcnow()
    journey = get_journey(session, journey_id)
    versions = repo.versions(session, journey.id)
    by_version = {v.version: v.definition for v in versions}
    funnel = []
    for (version, index), figures in sorted(repo.step_funnel(session, journey.id, now).items()):
        steps = (by_version.get(version) or {}).get("steps") or []
        step = steps[index] if index < len(steps) else {}
        funnel.append(
            StepFunnel(
                version=version,
                step_index=index,
                key=str(step.get("key", f"#{index}")),
                name=str(step.get("name", f"#{index}")),
                **figures,
            )
        )
    recent = [
        RecentEnrolment(
            id=r["enrolment"].id,
            customer_id=r["enrolment"].customer_id,
            customer=r["customer"],
            version=r["enrolment"].version,
            status=r["enrolment"].status.value,
            entry_key=r["enrolment"].entry_key,
            entered_at=r["enrolment"].entered_at,
            exited_at=r["enrolment"].exited_at,
            exit_reason=r["enrolment"].exit_reason,
            steps_done=r["enrolment"].steps_done,
        )
        for r in repo.recent_enrolments(session, actor, journey.id)
    ]
    definition = by_version.get(journey.current_version) or {}
    try:
        problems = reference_problems(session, parse_definition(definition), journey.code)
    except Invalid as exc:
        problems = [Problem(where="definition", why=exc.message, blocks="activate")]
    return JourneyDetail(
        journey=_outs(session, [journey])[0],
        definition=definition,
        versions=[
            VersionOut(version=v.version, created_at=v.created_at, note=v.note, definition=v.definition)
            for v in versions
        ],
        funnel=funnel,
        recent=recent,
        exit_reasons=repo.exit_reasons(session, journey.id),
        problems=problems,
        as_of=now,
    )


def enrol_manually(
    session: Session, actor: Actor, journey_id: int, data: ManualEnrol, now: datetime | None = None
) -> dict[str, int]:
    """Enrol readable customers by hand into an active journey (idempotent per entry key)."""
    from siyu.customers.repository import readable_ids
    from siyu.journeys.enrolment import enrol

    _require_editor(actor)
    now = now or utcnow()
    journey = get_journey(session, journey_id)
    if journey.status is not JourneyStatus.active:
        raise Conflict(f"journey {journey_id} is {journey.status.value}; only active journeys enrol")
    allowed = readable_ids(session, actor, data.customer_ids)
    missing = sorted(set(data.customer_ids) - allowed)
    if missing:
        raise NotFound(f"customer_ids: customer {missing[0]} does not exist or is outside your scope")
    key = data.entry_key or f"manual:{now.date().isoformat()}"
    requests = [EnrolRequest(customer_id=c, entry_key=key, entered_at=now) for c in sorted(allowed)]
    counts = dict(enrol(session, journey.id, requests, now))
    audit(
        session, actor, "journey.enrol", "journey", journey.id, {"customers": len(requests), "entry_key": key}
    )
    return counts


def journey_out(session: Session, journey: Journey) -> JourneyOut:
    """One journey as listed."""
    return _outs(session, [journey])[0]


def templates(session: Session) -> list[TemplateOut]:
    """The article templates with the library script each ref would use now."""
    out = []
    for t in load_templates():
        picks = suggest_scripts(session, t.refs)
        scripts = [
            TemplateScriptOut(
                ref=r.ref,
                title=r.title,
                category=r.category,
                scenario=r.scenario,
                suggested_script_id=picks.get(r.ref),
            )
            for r in t.refs
        ]
        out.append(
            TemplateOut(
                code=t.code,
                name=t.name,
                description=t.description,
                note=t.note,
                definition=t.definition,
                scripts=scripts,
            )
        )
    return out
