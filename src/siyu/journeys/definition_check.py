"""Validate a journey definition: its shape (pydantic) and its references to live scripts, tags, segments…"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Invalid
from siyu.journeys.contract import JourneyDefinition
from siyu.journeys.definition_schemas import Problem
from siyu.models import ChatGroup, Experiment, Journey, Script, ScriptApproval, Segment, Tag
from siyu.models.enums import Channel

# script_id 0 marks "not picked yet" (a copied template whose script the library lacks): saveable, not runnable.
UNPICKED_SCRIPT = 0


def path_of(loc: Sequence[int | str]) -> str:
    """('steps', 2, 'actions', 0, 'script_id') → 'steps[2].actions[0].script_id'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "definition"


def parse_definition(raw: Any) -> JourneyDefinition:
    """The definition as a JourneyDefinition; Invalid names the path of every bad node."""
    if not isinstance(raw, dict):
        raise Invalid("definition: must be a JSON object")
    try:
        return JourneyDefinition.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            # A model validator's error sits on the node it checked; its message names the field.
            where = path_of([p for p in err["loc"] if p not in ("function-after",)])
            why = str(err["msg"]).removeprefix("Value error, ")
            problems.append({"where": where, "why": why})
        first = problems[0]
        raise Invalid(f"{first['where']}: {first['why']}", details=problems) from None


def _refs(d: JourneyDefinition) -> Iterator[tuple[str, str, Any]]:
    """(path, kind, value) of every reference in the definition."""
    t = d.trigger
    for field, kind in (
        ("tag_id", "tag"),
        ("segment_id", "segment"),
        ("group_id", "group"),
        ("channel", "channel"),
    ):
        if getattr(t, field) is not None:
            yield f"trigger.{field}", kind, getattr(t, field)
    for i, step in enumerate(d.steps):
        for j, c in enumerate(step.conditions):
            where = f"steps[{i}].conditions[{j}]"
            if c.tag_id is not None:
                yield f"{where}.tag_id", "tag", c.tag_id
            if c.segment_id is not None:
                yield f"{where}.segment_id", "segment", c.segment_id
        for j, a in enumerate(step.actions):
            where = f"steps[{i}].actions[{j}]"
            if a.script_id is not None:
                yield f"{where}.script_id", "script", a.script_id
            if a.experiment_id is not None:
                yield f"{where}.experiment_id", "experiment", a.experiment_id
            if a.tag_id is not None:
                yield f"{where}.tag_id", "tag", a.tag_id
            if a.journey_code is not None:
                yield f"{where}.journey_code", "journey", a.journey_code
            if a.kind == "send_script":
                yield f"{where}.channel", "adapter", a.channel
    for k, rule in enumerate(d.exit_rules):
        if rule.tag_id is not None:
            yield f"exit_rules[{k}].tag_id", "tag", rule.tag_id


def _adapters() -> set[str]:
    try:
        from siyu.channels.contract import adapter_names

        return set(adapter_names())
    except ImportError:  # the built-in adapters are not installed yet: the engine checks again
        return set()


def reference_problems(
    session: Session, d: JourneyDefinition, journey_code: str | None = None
) -> list[Problem]:
    """Every reference that does not resolve (blocks saving) or is not runnable yet (blocks activation)."""
    refs = list(_refs(d))

    def ids(kind: str) -> set[Any]:
        return {v for _w, k, v in refs if k == kind}

    scripts = dict(
        session.execute(select(Script.id, Script.approval).where(Script.id.in_(ids("script")))).all()
    )
    tags = set(session.scalars(select(Tag.id).where(Tag.id.in_(ids("tag")))))
    segments = dict(
        session.execute(select(Segment.id, Segment.archived_at).where(Segment.id.in_(ids("segment")))).all()
    )
    groups = set(session.scalars(select(ChatGroup.id).where(ChatGroup.id.in_(ids("group")))))
    experiments = set(session.scalars(select(Experiment.id).where(Experiment.id.in_(ids("experiment")))))
    journeys = set(session.scalars(select(Journey.code).where(Journey.code.in_(ids("journey")))))
    adapters = _adapters()
    channels = {c.value for c in Channel}
    out: list[Problem] = []
    for where, kind, value in refs:
        if kind == "script":
            if value == UNPICKED_SCRIPT:
                out.append(Problem(where=where, why="no script picked yet", blocks="activate"))
            elif value not in scripts:
                out.append(Problem(where=where, why=f"script {value} does not exist"))
            elif scripts[value] is not ScriptApproval.approved:
                why = f"script {value} is not approved (it is {scripts[value].value})"
                out.append(Problem(where=where, why=why, blocks="activate"))
        elif kind == "tag" and value not in tags:
            out.append(Problem(where=where, why=f"tag {value} does not exist"))
        elif kind == "segment":
            if value not in segments:
                out.append(Problem(where=where, why=f"segment {value} does not exist"))
            elif segments[value] is not None:
                out.append(Problem(where=where, why=f"segment {value} is archived", blocks="activate"))
        elif kind == "group" and value not in groups:
            out.append(Problem(where=where, why=f"group chat {value} does not exist"))
        elif kind == "experiment" and value not in experiments:
            out.append(Problem(where=where, why=f"experiment {value} does not exist"))
        elif kind == "journey" and value not in journeys and value != journey_code:
            out.append(Problem(where=where, why=f"journey {value!r} does not exist"))
        elif kind == "journey" and value == journey_code:
            out.append(Problem(where=where, why="a journey may not enrol into itself"))
        elif kind == "channel" and value not in channels:
            out.append(
                Problem(where=where, why=f"channel {value!r} is not one of {', '.join(sorted(channels))}")
            )
        elif kind == "adapter" and adapters and value not in adapters:
            why = f"channel adapter {value!r} is not one of {', '.join(sorted(adapters))}"
            out.append(Problem(where=where, why=why))
    return out


def check_definition(
    session: Session, raw: Any, journey_code: str | None = None
) -> tuple[JourneyDefinition, list[Problem]]:
    """Parse and check a definition; Invalid on a shape error or a dangling reference, else activation problems."""
    definition = parse_definition(raw)
    problems = reference_problems(session, definition, journey_code)
    hard = [p for p in problems if p.blocks == "save"]
    if hard:
        raise Invalid(f"{hard[0].where}: {hard[0].why}", details=[p.model_dump() for p in hard])
    return definition, problems
