"""`siyu talent advise FILE.json [--save]`: print the org advisor's recommendation for a questionnaire file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from siyu.db.engine import unit_of_work
from siyu.errors import Invalid
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.talent.advisor import advise, parse_answers
from siyu.talent.advisor_service import run_advisor
from siyu.talent.contract import Advice


def advice_lines(advice: Advice, zh: bool) -> list[str]:
    """The advice as plain text: fields first, then every reason with its citation."""
    lines = [
        f"structure: {advice.structure.value}",
        f"build mode: {advice.build_mode.value}",
        "starting team: " + ", ".join(f"{s.role_code}×{s.headcount}" for s in advice.starting_team),
        "next roles: " + (", ".join(advice.next_roles) or "—"),
        "KPI emphasis: " + ", ".join(advice.kpi_emphasis),
        "traps: " + (", ".join(t.code for t in advice.traps) or "—"),
        "",
    ]
    for reason in (*advice.traps, *advice.reasons):
        lines.append(f"[{reason.code}] {reason.text_zh if zh else reason.text_en}")
        lines.append(f"    “{reason.citation.quote}” ({reason.citation.seed})")
    return lines


def advise_command(
    file: Path = typer.Argument(..., help="a JSON object of answers (see docs/talent.md, 'Org advisor')"),
    save: bool = typer.Option(
        False, "--save", help="store the run (audited) so the console and gap analysis see it"
    ),
    note: str | None = typer.Option(None, help="a note stored with the run"),
    lang: str = typer.Option("zh", help="language of the reasons: zh or en"),
) -> None:
    """Print the org advisor's recommendation for FILE.json; --save stores it as a run."""
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"{file}: cannot read a JSON document ({exc})") from None
    if isinstance(raw, dict) and isinstance(raw.get("answers"), dict):
        note = note or raw.get("note")
        raw = raw["answers"]  # accept the API's request body as is
    if not isinstance(raw, dict):
        raise Invalid(f"{file}: the answers must be a JSON object")
    advice = advise(parse_answers(raw))
    for line in advice_lines(advice, lang != "en"):
        typer.echo(line)
    if save:
        with unit_of_work() as session:
            run = run_advisor(session, SYSTEM_ACTOR, raw, note)
            run_id = run.id
        typer.echo(f"saved as advisor run {run_id}")
