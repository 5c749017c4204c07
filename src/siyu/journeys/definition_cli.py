"""`siyu journeys list|show|create|version|activate|pause|archive|templates|copy-template|scan` (system account)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from siyu.db.engine import unit_of_work
from siyu.errors import Invalid
from siyu.journeys import definition_service as service
from siyu.journeys.definition_schemas import JourneyCreate, JourneyVersionCreate, TemplateCopy
from siyu.journeys.definition_templates import load_templates
from siyu.models.journeys import JourneyStatus
from siyu.org.permissions import SYSTEM_ACTOR


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"{path}: not a readable JSON file ({exc})") from None


def _problems(problems: list[Any]) -> None:
    for p in problems:
        typer.echo(f"  to fix before activating: {p.where}: {p.why}")


def register(app: typer.Typer) -> None:
    """Add the definition commands to the `siyu journeys` app."""

    @app.command("list")
    def list_command(
        archived: bool = typer.Option(False, "--archived", help="include archived journeys"),
    ) -> None:
        """Journeys: id, code, status, version, trigger, enrolled/active/completed/exited."""
        with unit_of_work() as session:
            for j in service.list_journeys(session, archived=archived):
                c = j.counts
                typer.echo(
                    f"{j.id}\t{j.code}\t{j.status.value}\tv{j.current_version}\t{j.trigger_kind}\t"
                    f"{c.enrolled}/{c.active}/{c.completed}/{c.exited}\t{j.name}"
                )

    @app.command("show")
    def show_command(journey_id: int) -> None:
        """A journey's detail (versions, funnel, counts) as JSON."""
        with unit_of_work() as session:
            detail = service.journey_detail(session, SYSTEM_ACTOR, journey_id)
        typer.echo(detail.model_dump_json(indent=2))

    @app.command("create")
    def create_command(
        code: str = typer.Option(..., help="unique code, e.g. new-contacts"),
        name: str = typer.Option(..., help="display name"),
        file: Path = typer.Option(..., "--file", help="the definition (JSON)"),
        note: str | None = typer.Option(None),
    ) -> None:
        """Create a draft journey from a definition file."""
        with unit_of_work() as session:
            journey, problems = service.create_journey(
                session, SYSTEM_ACTOR, JourneyCreate(code=code, name=name, definition=_read(file), note=note)
            )
            typer.echo(f"created journey {journey.id} ({journey.code}) as a draft")
            _problems(problems)

    @app.command("version")
    def version_command(
        journey_id: int, file: Path = typer.Option(..., "--file"), note: str | None = typer.Option(None)
    ) -> None:
        """Store a definition file as the journey's next version."""
        with unit_of_work() as session:
            journey, problems = service.new_version(
                session, SYSTEM_ACTOR, journey_id, JourneyVersionCreate(definition=_read(file), note=note)
            )
            typer.echo(f"journey {journey.id} is now at version {journey.current_version}")
            _problems(problems)

    def _move(journey_id: int, status: JourneyStatus) -> None:
        with unit_of_work() as session:
            journey = service.change_status(session, SYSTEM_ACTOR, journey_id, status)
            typer.echo(f"journey {journey.id} is {journey.status.value}")

    @app.command("activate")
    def activate_command(journey_id: int) -> None:
        """Activate (or resume) a journey; triggers count from now."""
        _move(journey_id, JourneyStatus.active)

    @app.command("pause")
    def pause_command(journey_id: int) -> None:
        """Pause a journey: no new enrolments, due steps wait."""
        _move(journey_id, JourneyStatus.paused)

    @app.command("archive")
    def archive_command(journey_id: int) -> None:
        """Archive a journey for good."""
        _move(journey_id, JourneyStatus.archived)

    @app.command("templates")
    def templates_command() -> None:
        """The article templates: code, name and the scripts each wants."""
        for t in load_templates():
            typer.echo(f"{t.code}\t{t.name}\tscripts: {', '.join(f'{r.ref}《{r.title}》' for r in t.refs)}")

    @app.command("copy-template")
    def copy_command(
        template: str = typer.Argument(..., help="template code (see `siyu journeys templates`)"),
        code: str = typer.Option(..., help="the new journey's code"),
        name: str | None = typer.Option(None),
        script: list[str] = typer.Option([], "--script", help="ref=script_id, e.g. welcome=12 (repeatable)"),
    ) -> None:
        """Copy a template into a draft journey; scripts not given are matched from the library by title."""
        picks: dict[str, int] = {}
        for item in script:
            ref, _, value = item.partition("=")
            if not value.isdigit():
                raise Invalid(f"--script {item!r}: expected ref=script_id")
            picks[ref] = int(value)
        with unit_of_work() as session:
            journey, missing = service.copy_template(
                session,
                SYSTEM_ACTOR,
                TemplateCopy(template_code=template, code=code, name=name, scripts=picks),
            )
            typer.echo(f"created draft journey {journey.id} ({journey.code}) from {template}")
            for ref in missing:
                typer.echo(
                    f"  pick a script for {ref!r} (edit the journey or copy again with --script {ref}=ID)"
                )

    @app.command("scan")
    def scan_command() -> None:
        """Run one trigger scan and one exit scan now."""
        from siyu.journeys.triggers import trigger_job

        with unit_of_work() as session:
            counts = trigger_job(session)
        typer.echo(json.dumps(counts, ensure_ascii=False, sort_keys=True))
