"""`siyu user …` and `siyu token …` commands."""

from __future__ import annotations

import typer

from siyu.db.engine import unit_of_work
from siyu.org.accounts import create_account
from siyu.org.tokens import create_token

user_app = typer.Typer(help="Login accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@user_app.command("create")
def user_create(
    username: str,
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    role: str = typer.Option("admin", help="admin, private_domain_lead, manager, operator, guide, analyst"),
    scope: str = typer.Option("all", help="self, unit, subtree, all"),
    unit: str | None = typer.Option(None, help="org unit code for unit/subtree scopes"),
    staff: str | None = typer.Option(None, help="staff code the account belongs to"),
) -> None:
    """Create a login account."""
    with unit_of_work() as session:
        account = create_account(
            session,
            username=username,
            password=password,
            role=role,
            scope=scope,
            unit_code=unit,
            staff_code=staff,
        )
        typer.echo(
            f"created account {account.username} ({account.permission_role}, scope {account.data_scope})"
        )


@token_app.command("create")
def token_create(username: str, name: str = typer.Option("cli", help="what the token is for")) -> None:
    """Create an API token for an account and print it once."""
    with unit_of_work() as session:
        clear = create_token(session, username, name)
    typer.echo(clear)
