"""`siyu wecom settings|test`: configure the WeCom app and test the connection from the command line."""

from __future__ import annotations

import typer


def settings_command(
    corp_id: str = typer.Option(..., "--corp-id"),
    callback_token: str = typer.Option(..., "--token", help="the callback Token (letters and digits)"),
    agent_id: str | None = typer.Option(None, "--agent-id"),
    secret: str | None = typer.Option(
        None, "--secret", envvar="SIYU_WECOM_SECRET", help="app secret (or SIYU_WECOM_SECRET); blank keeps it"
    ),
    aes_key: str | None = typer.Option(
        None, "--aes-key", envvar="SIYU_WECOM_AES_KEY", help="43-character EncodingAESKey; blank keeps it"
    ),
    api_base_url: str | None = typer.Option(None, "--api-base-url", help="default the official API"),
) -> None:
    """Save the WeCom app's credentials (secrets are sealed; never printed)."""
    from siyu.db.engine import unit_of_work
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.credentials import save_app

    with unit_of_work() as session:
        row = save_app(
            session,
            SYSTEM_ACTOR,
            corp_id=corp_id,
            agent_id=agent_id,
            secret=secret,
            callback_token=callback_token,
            aes_key=aes_key,
            api_base_url=api_base_url,
        )
        typer.echo(f"WeCom app saved: corp {row.corp_id} at {row.api_base_url}")


def test_command() -> None:
    """Test the stored credentials: gettoken + the follow-user list; exit 1 when it fails."""
    from siyu.db.engine import unit_of_work
    from siyu.db.types import utcnow
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.settings_service import test_connection

    with unit_of_work() as session:
        view = test_connection(session, SYSTEM_ACTOR, utcnow())
    typer.echo(view.last_test_message or "")
    if not view.last_test_ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add settings and test to the `siyu wecom` app."""
    app.command("settings")(settings_command)
    app.command("test")(test_command)
