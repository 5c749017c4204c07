"""`siyu wecom codes list|create|deactivate`: channel codes (渠道活码) from the command line."""

from __future__ import annotations

import json

import typer

codes_app = typer.Typer(
    help="Channel codes (渠道活码): list with funnel, create, deactivate.", no_args_is_help=True
)


def _ids(raw: str) -> list[int]:
    from siyu.errors import Invalid

    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise Invalid(f"expected comma-separated ids, got {raw!r}") from None


@codes_app.command("list")
def list_command(output: str = typer.Option("text", "--format", help="text or json")) -> None:
    """Every code with adds / still following / ordered since adding."""
    from siyu.db.engine import unit_of_work
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.channel_code_service import list_codes

    with unit_of_work() as session:
        items = list_codes(session, SYSTEM_ACTOR)
    if output == "json":
        typer.echo(json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False, indent=2))
        return
    typer.echo(f"{len(items)} channel code(s)")
    for i in items:
        state = "on " if i.active else "off"
        typer.echo(
            f"#{i.id} {state} {i.code:<30} adds {i.adds:>6} following {i.following:>6} ordered {i.ordered:>6}  {i.name}"
        )


@codes_app.command("create")
def create_command(
    code: str = typer.Option(..., "--code", help="the contact way's state (≤30 letters, digits, _ or -)"),
    name: str = typer.Option(..., "--name"),
    staff: str = typer.Option(..., "--staff", help="comma-separated staff ids"),
    tags: str = typer.Option("", "--tags", help="comma-separated tag ids"),
    store_id: int | None = typer.Option(None, "--store"),
    script_id: int | None = typer.Option(None, "--welcome-script"),
    journey_id: int | None = typer.Option(None, "--journey"),
    source_detail: str | None = typer.Option(None, "--source-detail"),
    ad_campaign: str | None = typer.Option(None, "--ad-campaign"),
) -> None:
    """Create a code (and its WeCom contact way when WeCom is configured)."""
    from siyu.db.engine import unit_of_work
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.channel_code_schemas import ChannelCodeIn
    from siyu.wecom.channel_code_service import create_code

    data = ChannelCodeIn(
        code=code,
        name=name,
        staff_ids=_ids(staff),
        tag_ids=_ids(tags),
        store_id=store_id,
        welcome_script_id=script_id,
        journey_id=journey_id,
        source_detail=source_detail,
        ad_campaign=ad_campaign,
    )
    with unit_of_work() as session:
        row = create_code(session, SYSTEM_ACTOR, data)
        typer.echo(
            f"channel code #{row.id} {row.code}: config_id {row.config_id or '-'} qr {row.qr_code or '-'}"
        )


@codes_app.command("deactivate")
def deactivate_command(code_id: int = typer.Argument(...)) -> None:
    """Switch a code off and delete its WeCom contact way."""
    from siyu.db.engine import unit_of_work
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.channel_code_service import deactivate_code

    with unit_of_work() as session:
        row = deactivate_code(session, SYSTEM_ACTOR, code_id)
        typer.echo(f"channel code #{row.id} {row.code} is off")


def register(app: typer.Typer) -> None:
    """Add `codes` to the `siyu wecom` app."""
    app.add_typer(codes_app, name="codes")
