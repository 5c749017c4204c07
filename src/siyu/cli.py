"""The `siyu` command: Typer root; each domain adds its own sub-app."""

from __future__ import annotations

import sys

import typer

from siyu.config import get_settings
from siyu.errors import SiyuError

app = typer.Typer(help="Siyu (私域) private-domain operations platform.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the configured database up to revision (default head)."""
    from siyu.db.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at revision {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Migrate the configured database down to revision ('base' empties it)."""
    from siyu.db.migrate import downgrade

    downgrade(get_settings().database_url, revision)
    typer.echo(f"database at revision {revision}")


@db_app.command("heads")
def db_heads() -> None:
    """Print the head revision(s) of the migration scripts."""
    from siyu.db.migrate import heads

    for head in heads():
        typer.echo(head)


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="default SIYU_HOST or 127.0.0.1"),
    port: int | None = typer.Option(None, help="default SIYU_PORT or 8000"),
) -> None:
    """Serve the console and API."""
    import uvicorn

    from siyu.app import create_app

    settings = get_settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    typer.echo(f"Siyu is serving on http://{bind_host}:{bind_port}  (API docs: /api/v1/docs)")
    stop = None
    if settings.embedded_worker:
        # The embedded default: one process serves pages and runs the jobs (SIYU_EMBEDDED_WORKER=false to opt out).
        from siyu.worker.jobs import register_builtin_jobs
        from siyu.worker.runner import Runner, start_in_thread

        _thread, stop = start_in_thread(Runner(register_builtin_jobs()))
    try:
        uvicorn.run(create_app(), host=bind_host, port=bind_port, log_level="warning")
    finally:
        if stop is not None:
            stop.set()


def _register_domains() -> None:
    from siyu.compliance.cli import compliance_app
    from siyu.demo.cli import demo
    from siyu.imports.cli import import_app
    from siyu.insights.cli import insights_app
    from siyu.journeys.cli import journeys_app
    from siyu.org.cli import token_app, user_app
    from siyu.performance.cli import metrics_app
    from siyu.performance.kpi_cli import kpi_app, targets_app
    from siyu.performance.leaderboard_cli import leaderboard_app, report_app
    from siyu.reports.cli import reports_app
    from siyu.segments.cli import segments_app
    from siyu.talent.cli import talent_app
    from siyu.wecom.cli import wecom_app
    from siyu.worker.cli import worker

    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(import_app, name="import")
    app.command("demo")(demo)
    app.add_typer(leaderboard_app, name="leaderboard")
    app.add_typer(metrics_app, name="metrics")
    app.add_typer(report_app, name="report")
    app.add_typer(reports_app, name="reports")
    app.add_typer(kpi_app, name="kpi")
    app.add_typer(targets_app, name="targets")
    app.add_typer(segments_app, name="segments")
    app.command("worker")(worker)
    app.add_typer(insights_app, name="insights")
    app.add_typer(talent_app, name="talent")
    app.add_typer(compliance_app, name="compliance")
    app.add_typer(journeys_app, name="journeys")
    app.add_typer(wecom_app, name="wecom")


_register_domains()


def main() -> None:
    """Entry point: run the CLI, turning SiyuError into a one-line message and exit code 1."""
    try:
        app(standalone_mode=True)
    except SiyuError as exc:
        typer.secho(f"error: {exc.message}", err=True, fg=typer.colors.RED)
        sys.exit(1)
