"""The journey editor's flat form ⇄ a definition dict, its add/remove buttons, and the timeline preview."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from siyu.journeys.contract import JourneyDefinition
from siyu.journeys.schedule import step_due_at
from siyu.timeutil import brand_zone, local_date

ACTION_FIELDS = (
    "script_id",
    "channel",
    "experiment_id",
    "task_kind",
    "title",
    "tag_id",
    "journey_code",
    "due_hours",
)
INT_FIELDS = frozenset(
    {
        "script_id",
        "experiment_id",
        "tag_id",
        "due_hours",
        "segment_id",
        "group_id",
        "days",
        "hours",
        "minutes",
    }
)
TRIGGER_FIELDS = ("channel", "group_id", "channel_code", "tag_id", "segment_id", "days")


def empty_step(index: int) -> dict[str, Any]:
    """A new step with one action."""
    return {
        "key": f"step_{index + 1}",
        "name": "",
        "delay": {"days": index, "at_local_time": "10:00"},
        "actions": [{"kind": "send_script"}],
    }


EMPTY: dict[str, Any] = {
    "trigger": {"kind": "joined_channel"},
    "steps": [empty_step(0)],
    "exit_rules": [{"kind": "opted_out"}],
    "quiet_hours": {"start": "22:00", "end": "08:00"},
    "reentry": "after_exit",
    "marketing": True,
}


def _value(form: Mapping[str, Any], name: str) -> Any:
    raw = form.get(name)
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return None
    field = name.rsplit("__", 1)[-1]
    if field in INT_FIELDS:
        return int(text) if text.lstrip("-").isdigit() else text  # a non-number is reported by validation
    return text


def _count(form: Mapping[str, Any], name: str) -> int:
    raw = str(form.get(name) or "0")
    return min(int(raw), 50) if raw.isdigit() else 0


def _fields(form: Mapping[str, Any], prefix: str, fields: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for f in fields:
        v = _value(form, f"{prefix}__{f}")
        if v is not None:
            out[f] = v
    return out


def definition_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The definition dict a posted editor form describes (blank fields left out; validation judges the rest)."""
    trigger = {"kind": _value(form, "trigger__kind") or "manual", **_fields(form, "trigger", TRIGGER_FIELDS)}
    steps = []
    for i in range(_count(form, "step_count")):
        p = f"s{i}"
        delay = _fields(form, f"{p}_delay", ("days", "hours", "minutes"))
        at = _value(form, f"{p}_delay__at_local_time")
        if at:
            delay["at_local_time"] = at
        conditions = [
            {"kind": _value(form, f"{p}_c{j}__kind"), **_fields(form, f"{p}_c{j}", ("segment_id", "tag_id"))}
            for j in range(_count(form, f"{p}_condition_count"))
        ]
        actions = [
            {"kind": _value(form, f"{p}_a{j}__kind"), **_fields(form, f"{p}_a{j}", ACTION_FIELDS)}
            for j in range(_count(form, f"{p}_action_count"))
        ]
        steps.append(
            {
                "key": _value(form, f"{p}__key") or f"step_{i + 1}",
                "name": _value(form, f"{p}__name") or f"#{i + 1}",
                "delay": delay,
                "conditions": conditions,
                "actions": actions,
            }
        )
    exits = [
        {"kind": _value(form, f"x{k}__kind"), **_fields(form, f"x{k}", ("tag_id",))}
        for k in range(_count(form, "exit_count"))
    ]
    start, end = _value(form, "quiet__start"), _value(form, "quiet__end")
    return {
        "trigger": trigger,
        "steps": steps,
        "exit_rules": exits,
        "quiet_hours": {"start": start, "end": end} if start and end else None,
        "reentry": _value(form, "reentry") or "after_exit",
        "marketing": str(form.get("marketing") or "") == "on",
    }


def apply_button(definition: dict[str, Any], button: str) -> dict[str, Any]:
    """Apply an editor button (add_step, remove_step:2, add_action:1, remove_condition:1:0, add_exit…)."""
    name, _, rest = button.partition(":")
    args = [int(a) for a in rest.split(":") if a.isdigit()]
    steps: list[dict[str, Any]] = definition["steps"]
    if name == "add_step":
        steps.append(empty_step(len(steps)))
    elif name == "remove_step" and args and args[0] < len(steps) and len(steps) > 1:
        steps.pop(args[0])
    elif name == "add_exit":
        definition["exit_rules"].append({"kind": "bought"})
    elif name == "remove_exit" and args and args[0] < len(definition["exit_rules"]):
        definition["exit_rules"].pop(args[0])
    elif args and args[0] < len(steps):
        step = steps[args[0]]
        if name == "add_action":
            step.setdefault("actions", []).append({"kind": "create_task"})
        elif name == "add_condition":
            step.setdefault("conditions", []).append({"kind": "no_order_since_entry"})
        elif name == "remove_action" and len(args) > 1 and args[1] < len(step.get("actions", [])):
            step["actions"].pop(args[1])
        elif name == "remove_condition" and len(args) > 1 and args[1] < len(step.get("conditions", [])):
            step["conditions"].pop(args[1])
    return definition


@dataclass(frozen=True)
class TimelineItem:
    """One step in the preview: the day after entry, brand-local time, its name and actions."""

    day: int
    time: str
    name: str
    due_at: datetime
    conditions: tuple[dict[str, Any], ...]
    actions: tuple[dict[str, Any], ...]


def timeline(definition: JourneyDefinition, entered_at: datetime) -> list[TimelineItem]:
    """When each step falls due for someone entering at entered_at (step_due_at), in step order."""
    zone = brand_zone()
    start = local_date(entered_at, zone)
    out = []
    for step in definition.steps:
        due = step_due_at(entered_at, step.delay, definition.quiet_hours, zone)
        out.append(
            TimelineItem(
                day=(local_date(due, zone) - start).days,
                time=due.astimezone(zone).strftime("%H:%M"),
                name=step.name,
                due_at=due,
                conditions=tuple(c.model_dump(exclude_none=True) for c in step.conditions),
                actions=tuple(a.model_dump(exclude_none=True) for a in step.actions),
            )
        )
    return out


def example_entry(now: datetime) -> datetime:
    """The example entry time the preview uses: today 10:00 brand-local (a daytime entry)."""
    zone = brand_zone()
    local = now.astimezone(zone)
    return local.replace(hour=10, minute=0, second=0, microsecond=0).astimezone(UTC)
