"""`siyu wecom sync [--full] [--resume]` and `siyu wecom push-tags`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import typer


def sync_command(
    full: bool = typer.Option(
        False, "--full", help="full sync (members, tags, every contact, groups, stats)"
    ),
    resume: bool = typer.Option(False, "--resume", help="continue the latest interrupted or failed run"),
    behaviour: bool = typer.Option(False, "--behaviour", help="only the behaviour and group statistics"),
    stale_after: int = typer.Option(
        120, "--stale-after", help="seconds without heartbeat before a running run counts as interrupted"
    ),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar; print the run as JSON at the end"),
) -> None:
    """Sync contacts, tags, groups and statistics from WeCom (incremental unless --full)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from siyu.db.engine import session_factory
    from siyu.errors import SiyuError
    from siyu.models import WecomSyncRun
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.credentials import client_for
    from siyu.wecom.sync_service import sync_now

    kind = "full" if full else "behaviour" if behaviour else "incremental"
    session = session_factory()()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=quiet,
    )
    task = progress.add_task(kind, total=None)

    def show(run: WecomSyncRun) -> None:
        progress.update(
            task,
            description=f"run {run.id} {run.kind} · {run.stage}",
            total=run.progress_total or None,
            completed=run.progress_done,
        )

    try:
        with progress, client_for(session) as client:
            run = sync_now(
                session,
                client,
                kind,
                session.commit,
                actor=SYSTEM_ACTOR,
                resume=resume,
                on_progress=show,
                stale_after=timedelta(seconds=stale_after),
            )
        out: dict[str, Any] = {
            "run": run.id,
            "kind": run.kind,
            "status": run.status.value,
            "api_calls": run.api_calls,
            "seconds": round((run.heartbeat_at - run.started_at).total_seconds(), 2),
            "counts": run.counts,
        }
        typer.echo(json.dumps(out, ensure_ascii=False, sort_keys=True))
    except SiyuError as exc:
        typer.echo(f"wecom sync: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        session.close()


def push_tags_command() -> None:
    """Push local tag changes on WeCom-linked tags to WeCom now (what the wecom.push_tags job does)."""
    from siyu.db.engine import unit_of_work
    from siyu.db.types import utcnow
    from siyu.wecom.credentials import client_for
    from siyu.wecom.sync_tag_push import push_tags

    with unit_of_work() as session, client_for(session) as client:
        result = push_tags(session, client, utcnow())
    typer.echo(
        f"events {result.events}, mark_tag calls {result.calls}, added {result.added}, removed {result.removed}, "
        f"not friends {result.skipped_not_friend}, watermark {result.watermark}"
    )
    if result.errors:
        typer.echo("\n".join(result.errors), err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add sync and push-tags to the `siyu wecom` app."""
    app.command("sync")(sync_command)
    app.command("push-tags")(push_tags_command)
