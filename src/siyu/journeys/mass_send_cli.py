"""`siyu journeys mass-send list|show|create|preview|cancel|retry|run-due` and `siyu journeys caps …`, as the system account."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from siyu.db.engine import unit_of_work
from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.journeys import caps_service, mass_send_run, mass_send_service
from siyu.journeys.caps_schemas import CapIn, PlatformIn
from siyu.journeys.mass_send_schemas import MassSendCreate
from siyu.org.permissions import SYSTEM_ACTOR

mass_send_app = typer.Typer(help="Mass sends (群发) to a segment, groups or customers.", no_args_is_help=True)
caps_app = typer.Typer(help="Frequency caps on marketing touches.", no_args_is_help=True)


def _body(path: Path) -> MassSendCreate:
    try:
        return MassSendCreate.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise Invalid(f"{path}: not a mass send JSON document ({exc})") from None


@mass_send_app.command("list")
def list_command() -> None:
    """id, status, scheduled time, and queued/sent/confirmed/capped/opted_out/failed, name."""
    with unit_of_work() as session:
        for m in mass_send_service.list_mass_sends(session):
            r = m.results
            typer.echo(
                f"{m.id}\t{m.status}\t{m.scheduled_at.isoformat() if m.scheduled_at else '-'}\t"
                f"queued={r.queued} sent={r.sent} confirmed={r.confirmed} capped={r.capped} "
                f"opted_out={r.opted_out} failed={r.failed}\t{m.name}"
            )


@mass_send_app.command("show")
def show_command(mass_send_id: int) -> None:
    """One mass send with live result counts, as JSON."""
    with unit_of_work() as session:
        typer.echo(mass_send_service.mass_send_detail(session, mass_send_id).model_dump_json(indent=2))


@mass_send_app.command("preview")
def preview_command(
    file: Path = typer.Argument(..., help="a JSON body as for POST /api/v1/mass-sends"),
) -> None:
    """Audience, opted out, capped and would-send counts if it were sent now (writes nothing)."""
    with unit_of_work() as session:
        typer.echo(mass_send_run.preview(session, SYSTEM_ACTOR, _body(file)).model_dump_json(indent=2))


@mass_send_app.command("create")
def create_command(
    file: Path = typer.Argument(..., help="a JSON body as for POST /api/v1/mass-sends"),
) -> None:
    """Schedule a mass send (scheduled_at omitted: due at once); prints its id."""
    with unit_of_work() as session:
        row = mass_send_service.create_mass_send(session, SYSTEM_ACTOR, _body(file), utcnow())
        typer.echo(str(row.id))


@mass_send_app.command("cancel")
def cancel_command(mass_send_id: int) -> None:
    """Cancel a mass send that has not run."""
    with unit_of_work() as session:
        mass_send_service.cancel_mass_send(session, SYSTEM_ACTOR, mass_send_id)
    typer.echo(f"cancelled {mass_send_id}")


@mass_send_app.command("retry")
def retry_command(mass_send_id: int) -> None:
    """Schedule a failed mass send again, due now."""
    with unit_of_work() as session:
        mass_send_service.retry_mass_send(session, SYSTEM_ACTOR, mass_send_id, utcnow())
    typer.echo(f"scheduled {mass_send_id} again")


@mass_send_app.command("run-due")
def run_due_command() -> None:
    """Send every due mass send now (what the worker job journeys.run_mass_sends does)."""
    with unit_of_work() as session:
        result = mass_send_run.run_mass_sends_job(session)
    typer.echo(json.dumps(result))


@caps_app.command("list")
def caps_list_command() -> None:
    """The platform rule and brand caps with today's allowance."""
    with unit_of_work() as session:
        for c in caps_service.list_caps(session):
            state = "on" if c.enabled else "off"
            typer.echo(f"{c.code}\t{c.current_limit}/{c.period}\t{c.channel or 'all'}\t{state}\t{c.name}")


@caps_app.command("platform")
def caps_platform_command(period: str = typer.Argument(..., help="month | week | day")) -> None:
    """Mirror the WeCom 群发 rule: month (days of the month), week (7) or day (1)."""
    with unit_of_work() as session:
        caps_service.set_platform_mode(session, SYSTEM_ACTOR, PlatformIn.model_validate({"period": period}))
    typer.echo(f"platform cap: {period}")


@caps_app.command("add")
def caps_add_command(
    code: str,
    max_touches: int,
    period: str = typer.Option("week", help="day | week | month"),
    name: str = typer.Option("", help="display name (default: the code)"),
    channel: str = typer.Option("", help="one channel adapter (default: every channel)"),
) -> None:
    """Add a brand cap: at most MAX_TOUCHES marketing touches per customer per period."""
    data = CapIn.model_validate(
        {
            "code": code,
            "name": name or code,
            "period": period,
            "max_touches": max_touches,
            "channel": channel or None,
        }
    )
    with unit_of_work() as session:
        caps_service.add_cap(session, SYSTEM_ACTOR, data)
    typer.echo(f"added cap {code}")


def register(app: typer.Typer) -> None:
    """Attach the mass-send and caps commands to `siyu journeys`."""
    app.add_typer(mass_send_app, name="mass-send")
    app.add_typer(caps_app, name="caps")
