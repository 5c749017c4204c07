"""`siyu wecom mass-sends list|track|remind|cancel` and `siyu wecom moments list|create|poll`."""

from __future__ import annotations

import json

import typer

mass_app = typer.Typer(
    help="Platform mass sends (企业群发): confirmation, results, reminders.", no_args_is_help=True
)
moments_app = typer.Typer(
    help="Customer moments (客户朋友圈): create and track publishing.", no_args_is_help=True
)


def _ids(raw: str) -> list[int]:
    from siyu.errors import Invalid

    try:
        return [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise Invalid(f"expected comma-separated ids, got {raw!r}") from None


@mass_app.command("list")
def list_command(output: str = typer.Option("text", "--format", help="text or json")) -> None:
    """The latest platform templates with confirmation and per-recipient counts."""

    from siyu.db.engine import unit_of_work
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.groupmsg_queries import list_mass_sends

    with unit_of_work() as session:
        rows = list_mass_sends(session, SYSTEM_ACTOR)
    if output == "json":
        typer.echo(json.dumps([r.model_dump() for r in rows], ensure_ascii=False, indent=2, default=str))
        return
    typer.echo(f"{len(rows)} mass send(s)")
    for r in rows:
        typer.echo(
            f"#{r.id} {r.msgid} {r.chat_type:<6} {r.staff_name or '-':<10} {r.staff_status:<9} "
            f"recipients {r.recipients:>5} sent {r.sent_count:>5} not-friend {r.not_friend_count:>4} "
            f"over-limit {r.over_limit_count:>4} reminded {r.reminded_count}"
            + (" closed" if r.closed_at else "")
        )


@mass_app.command("track")
def track_command() -> None:
    """Poll WeCom once for open templates (what the worker job does)."""
    from siyu.db.engine import unit_of_work
    from siyu.wecom.groupmsg_service import track_group_messages

    with unit_of_work() as session:
        s = track_group_messages(session)
    typer.echo(
        f"checked {s.checked}, staff sent {s.staff_sent}, tasks done {s.tasks_done}, confirmed {s.rows_confirmed}, "
        f"failed {s.rows_failed}, capped {s.rows_capped}, closed {s.closed}, reminded {s.reminded}"
        + (f"; skipped: {s.skipped}" if s.skipped else "")
    )
    for error in s.errors:
        typer.echo(f"error: {error}", err=True)


@mass_app.command("remind")
def remind_command(message_id: int = typer.Argument(..., help="the mass send's id (see list)")) -> None:
    """Remind the sender in WeCom (at most 3 per 24 hours)."""
    from siyu.db.engine import unit_of_work
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.groupmsg_service import remind

    with unit_of_work() as session:
        m = remind(session, SYSTEM_ACTOR, message_id)
        typer.echo(f"reminded {m.msgid} ({m.reminded_count} so far)")


@mass_app.command("cancel")
def cancel_command(message_id: int = typer.Argument(..., help="the mass send's id (see list)")) -> None:
    """Cancel a template the sender has not confirmed."""
    from siyu.db.engine import unit_of_work
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.groupmsg_service import cancel

    with unit_of_work() as session:
        m = cancel(session, SYSTEM_ACTOR, message_id)
        typer.echo(f"cancelled {m.msgid}")


@moments_app.command("list")
def moments_list_command() -> None:
    """The latest moments tasks with published / members."""
    from siyu.db.engine import unit_of_work
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.moments_service import list_moments

    with unit_of_work() as session:
        rows = list_moments(session, SYSTEM_ACTOR)
        typer.echo(f"{len(rows)} moment(s)")
        for r in rows:
            m = r.moment
            typer.echo(f"#{m.id} {m.status:<9} published {r.published}/{r.members}  {m.text[:40]}")


@moments_app.command("create")
def moments_create_command(
    staff: str = typer.Option(..., "--staff", help="comma-separated staff ids who publish it"),
    text: str | None = typer.Option(None, "--text"),
    script_id: int | None = typer.Option(None, "--script"),
    tags: str = typer.Option("", "--tags", help="comma-separated tag ids (WeCom corp tags) who see it"),
) -> None:
    """Create a moments task on WeCom and a publish task for each staff member."""
    from siyu.db.engine import unit_of_work
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.moments_service import create_moment

    with unit_of_work() as session:
        m = create_moment(
            session, SYSTEM_ACTOR, staff_ids=_ids(staff), text=text, script_id=script_id, tag_ids=_ids(tags)
        )
        typer.echo(f"moment #{m.id} created: jobid {m.jobid}")


@moments_app.command("poll")
def moments_poll_command() -> None:
    """Poll WeCom once for job results and publish status (what the worker job does)."""
    from siyu.db.engine import unit_of_work
    from siyu.wecom.moments_service import poll_moments

    with unit_of_work() as session:
        s = poll_moments(session)
    typer.echo(
        f"created {s.created}, failed {s.failed}, published {s.published}, tasks done {s.tasks_done}"
        + (f"; skipped: {s.skipped}" if s.skipped else "")
    )
    for error in s.errors:
        typer.echo(f"error: {error}", err=True)


def register(app: typer.Typer) -> None:
    """Add `mass-sends` and `moments` to the `siyu wecom` app."""
    app.add_typer(mass_app, name="mass-sends")
    app.add_typer(moments_app, name="moments")
