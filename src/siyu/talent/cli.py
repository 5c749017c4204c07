"""`siyu talent …`: the talent domain's CLI root; each sub-domain registers its commands here."""

from __future__ import annotations

import typer

from siyu.talent.advisor_cli import advise_command
from siyu.talent.cycle_cli import cycles_app
from siyu.talent.gaps_cli import gaps_command
from siyu.talent.roles_cli import roles_app

talent_app = typer.Typer(
    help="Team & talent: role map, org advisor, gap analysis, assessments.", no_args_is_help=True
)
talent_app.add_typer(roles_app, name="roles")
# Other talent sub-domains add one import + registration line below (additive edits).
talent_app.command("gaps")(gaps_command)
talent_app.add_typer(cycles_app, name="cycles")
talent_app.command("advise")(advise_command)
