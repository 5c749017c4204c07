"""`siyu segments list|show|count|create|sizes`: the same service functions as the API, as the system account."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer

from siyu.db.engine import unit_of_work
from siyu.errors import Invalid
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.segments import service
from siyu.segments.schemas import SegmentCreate, SegmentUpdate

segments_app = typer.Typer(help="Saved segments (人群包) and their rules.", no_args_is_help=True)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"{path}: not a readable JSON file ({exc})") from None


@segments_app.command("list")
def list_command(
    archived: bool = typer.Option(False, "--archived", help="include archived segments"),
) -> None:
    """Saved segments with their version and latest recorded size."""
    with unit_of_work() as session:
        for s in service.list_segments(session, archived=archived):
            size = f"{s.last_size.customers} on {s.last_size.day}" if s.last_size else "not recorded"
            flag = " (archived)" if s.archived_at else ""
            typer.echo(f"{s.id}\t{s.name}{flag}\tv{s.current_version}\t{size}")


@segments_app.command("show")
def show_command(segment_id: int) -> None:
    """A segment's versions and recorded sizes, as JSON."""
    with unit_of_work() as session:
        detail = service.segment_detail(session, segment_id)
    typer.echo(detail.model_dump_json(indent=2))


@segments_app.command("count")
def count_command(file: Path = typer.Argument(..., help='a rule document {"version": 1, "rule": …}')) -> None:
    """Count the customers a rule picks, brand-wide, now."""
    with unit_of_work() as session:
        result = service.preview(session, SYSTEM_ACTOR, _read(file))
    typer.echo(str(result.count))


@segments_app.command("create")
def create_command(
    name: str = typer.Option(..., help="segment name (unique)"),
    file: Path = typer.Argument(..., help="the rule document (JSON)"),
    description: str | None = typer.Option(None),
    note: str | None = typer.Option(None, help="version note"),
) -> None:
    """Save a segment with a rule from a JSON file (audited as the system account)."""
    with unit_of_work() as session:
        segment = service.create_segment(
            session,
            SYSTEM_ACTOR,
            SegmentCreate(name=name, description=description, rule=_read(file), note=note),
        )
        typer.echo(f"segment {segment.id} {segment.name!r} v1")


@segments_app.command("update")
def update_command(
    segment_id: int,
    file: Path = typer.Argument(..., help="the new rule document (JSON)"),
    note: str | None = typer.Option(None, help="version note"),
) -> None:
    """Give a segment a new rule version (a no-op when the rule is unchanged)."""
    with unit_of_work() as session:
        segment = service.update_segment(
            session, SYSTEM_ACTOR, segment_id, SegmentUpdate(rule=_read(file), note=note)
        )
        typer.echo(f"segment {segment.id} now at v{segment.current_version}")


@segments_app.command("sizes")
def sizes_command(
    day: str | None = typer.Option(None, help="brand-local day YYYY-MM-DD (default today)"),
) -> None:
    """Record every live segment's brand-wide size for a day (what the daily worker job does)."""
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise Invalid(f"--day: {day!r} is not a date (YYYY-MM-DD)") from None
    with unit_of_work() as session:
        run = service.record_sizes(session, when)
    for segment_id, n in run.sizes.items():
        typer.echo(f"{segment_id}\t{n}")
    typer.echo(f"{len(run.sizes)} segments sized for {run.day} in {run.seconds:.2f} s")
