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
    uvicorn.run(create_app(), host=bind_host, port=bind_port, log_level="warning")


def _register_domains() -> None:
    from siyu.demo.cli import demo
    from siyu.imports.cli import import_app
    from siyu.org.cli import token_app, user_app

    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(import_app, name="import")
    app.command("demo")(demo)


_register_domains()


def main() -> None:
    """Entry point: run the CLI, turning SiyuError into a one-line message and exit code 1."""
    try:
        app(standalone_mode=True)
    except SiyuError as exc:
        typer.secho(f"error: {exc.message}", err=True, fg=typer.colors.RED)
        sys.exit(1)
