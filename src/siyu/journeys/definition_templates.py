"""The article templates (templates_data.json): load them and resolve their script refs against the library."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import NotFound
from siyu.journeys.definition_check import UNPICKED_SCRIPT
from siyu.models import Script, ScriptApproval

DATA = Path(__file__).with_name("templates_data.json")


@dataclass(frozen=True)
class ScriptRef:
    """What a template wants sent: matched by title, else scenario, else category (approved scripts first)."""

    ref: str
    title: str
    category: str
    scenario: str


@dataclass(frozen=True)
class JourneyTemplate:
    """One template: a definition whose send_script actions name a script_ref instead of a script_id."""

    code: str
    name: str
    description: str
    note: str
    definition: dict[str, Any]
    refs: tuple[ScriptRef, ...]


@cache
def load_templates() -> tuple[JourneyTemplate, ...]:
    """Every template, in file order."""
    data = json.loads(DATA.read_text(encoding="utf-8"))
    scripts = {k: ScriptRef(k, v["title"], v["category"], v["scenario"]) for k, v in data["scripts"].items()}
    out = []
    for t in data["templates"]:
        wanted = [
            a["script_ref"] for s in t["definition"]["steps"] for a in s["actions"] if a.get("script_ref")
        ]
        refs = tuple(scripts[r] for r in dict.fromkeys(wanted))
        out.append(JourneyTemplate(t["code"], t["name"], t["description"], t["note"], t["definition"], refs))
    return tuple(out)


def get_template(code: str) -> JourneyTemplate:
    """One template by code."""
    for t in load_templates():
        if t.code == code:
            return t
    known = ", ".join(t.code for t in load_templates())
    raise NotFound(f"journey template {code!r} does not exist (known: {known})")


def suggest_scripts(session: Session, refs: tuple[ScriptRef, ...]) -> dict[str, int]:
    """{ref: script id} for the refs the library can serve: title, then scenario, then category match."""
    if not refs:
        return {}
    rows = session.execute(
        select(Script.id, Script.title, Script.scenario, Script.category, Script.approval).where(
            Script.parent_id.is_(None),
            Script.approval.in_([ScriptApproval.approved, ScriptApproval.pending, ScriptApproval.draft]),
        )
    ).all()
    # Approved scripts win, then the newest: a library may hold several drafts with one title.
    ranked = sorted(rows, key=lambda r: (r.approval is not ScriptApproval.approved, -r.id))
    out: dict[str, int] = {}
    for ref in refs:
        for test in (
            lambda r, ref=ref: r.title == ref.title,
            lambda r, ref=ref: r.scenario == ref.scenario,
            lambda r, ref=ref: r.category == ref.category and r.approval is ScriptApproval.approved,
        ):
            hit = next((r.id for r in ranked if test(r)), None)
            if hit is not None:
                out[ref.ref] = int(hit)
                break
    return out


def resolve(template: JourneyTemplate, picks: dict[str, int]) -> tuple[dict[str, Any], list[str]]:
    """The template's definition with script ids filled in; the refs left unpicked (script_id 0 there)."""
    definition = copy.deepcopy(template.definition)
    missing: list[str] = []
    for step in definition["steps"]:
        for action in step["actions"]:
            ref = action.pop("script_ref", None)
            if ref is None:
                continue
            action["script_id"] = picks.get(ref, UNPICKED_SCRIPT)
            if ref not in picks and ref not in missing:
                missing.append(ref)
    return definition, missing
