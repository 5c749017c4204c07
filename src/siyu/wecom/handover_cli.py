"""`siyu wecom handover …`: list a member's WeCom customers, transfer them, poll results, show batches."""

from __future__ import annotations

import typer

handover_app = typer.Typer(
    help="Customer handover (在职转接 / 离职继承) through WeCom.", no_args_is_help=True
)


@handover_app.command("candidates")
def candidates_command(staff_id: int = typer.Argument(..., help="the handover member's staff id")) -> None:
    """The member's WeCom customers: id, name, transfers in 90 days, why blocked."""
    from siyu.db.engine import unit_of_work
    from siyu.db.types import utcnow
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.handover_service import candidates

    with unit_of_work() as session:
        rows = candidates(session, SYSTEM_ACTOR, staff_id, utcnow())
    for c in rows:
        typer.echo(f"{c.customer_id}\t{c.name or ''}\t{c.recent_transfers}\t{c.blocked_reason or ''}")
    typer.echo(f"{len(rows)} customers, {sum(1 for c in rows if c.blocked_reason)} blocked", err=True)


@handover_app.command("start")
def start_command(
    from_staff: int = typer.Option(..., "--from", help="handover member (staff id)"),
    to_staff: int = typer.Option(..., "--to", help="takeover member (staff id)"),
    customers: str = typer.Option(
        "", "--customers", help="comma-separated customer ids; empty = all not blocked"
    ),
    resigned: bool = typer.Option(False, "--resigned", help="离职继承: the handover member has left"),
    message: str | None = typer.Option(None, "--message", help="on-job only: shown to the customer (≤200)"),
) -> None:
    """Transfer customers through WeCom and print the batch's counts."""
    from siyu.db.engine import unit_of_work
    from siyu.db.types import utcnow
    from siyu.models.wecom import TransferKind
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.credentials import client_for
    from siyu.wecom.handover_service import candidates, start_handover

    now = utcnow()
    with unit_of_work() as session:
        if customers.strip():
            ids = [int(x) for x in customers.replace(" ", "").split(",") if x]
        else:
            ids = [
                c.customer_id
                for c in candidates(session, SYSTEM_ACTOR, from_staff, now)
                if not c.blocked_reason
            ]
        with client_for(session) as client:
            batch = start_handover(
                session,
                SYSTEM_ACTOR,
                client,
                kind=TransferKind.resigned if resigned else TransferKind.onjob,
                handover_staff_id=from_staff,
                takeover_staff_id=to_staff,
                customer_ids=ids,
                now=now,
                message=message,
            )
        typer.echo(
            f"handover batch {batch.id}: {batch.requested} requested, {batch.blocked} blocked, "
            f"{len(ids) - batch.requested - batch.blocked} failed"
        )


@handover_app.command("poll")
def poll_command() -> None:
    """Read transfer results now; done transfers move the customers to the takeover member."""
    from siyu.db.engine import unit_of_work
    from siyu.db.types import utcnow
    from siyu.wecom.credentials import client_for
    from siyu.wecom.handover_service import poll_transfers

    with unit_of_work() as session, client_for(session) as client:
        r = poll_transfers(session, client, utcnow())
    typer.echo(f"{r.batches} batches checked, {r.api_calls} API calls, {r.moved} moved, {dict(r.by_status)}")


@handover_app.command("list")
def list_command(limit: int = typer.Option(20, "--limit")) -> None:
    """Recent batches: counts by status and customers kept 14 days after the takeover."""
    from siyu.db.engine import unit_of_work
    from siyu.db.types import utcnow
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.handover_report import summaries

    with unit_of_work() as session:
        rows = summaries(session, SYSTEM_ACTOR, utcnow(), limit=limit)
    for b in rows:
        counts = " ".join(f"{k}={v}" for k, v in b.counts.items() if v)
        kept = f"kept {b.kept}/{b.matured}" if b.matured else "kept -"
        typer.echo(f"{b.id}\t{b.kind}\t{b.handover_staff} -> {b.takeover_staff}\t{counts}\t{kept}")


def register(app: typer.Typer) -> None:
    """Add `handover` to the `siyu wecom` app."""
    app.add_typer(handover_app, name="handover")
