"""`siyu journeys …`: the journeys root Typer app; each sub-domain registers its commands onto it below."""

from __future__ import annotations

import typer

journeys_app = typer.Typer(
    help="Journeys (旅程/SOP), scripts, tasks, mass sends and experiments.", no_args_is_help=True
)


# Sub-domain command modules register onto journeys_app on import (one line each, keep these at the bottom).
from siyu.journeys.definition_cli import register as register_definitions  # noqa: E402

register_definitions(journeys_app)
from siyu.journeys.scripts_cli import scripts_app  # noqa: E402

journeys_app.add_typer(scripts_app, name="scripts")
from siyu.journeys.experiment_cli import experiments_app  # noqa: E402

journeys_app.add_typer(experiments_app, name="experiments")
from siyu.journeys.engine_cli import register as register_engine  # noqa: E402

register_engine(journeys_app)
from siyu.journeys.mass_send_cli import register as register_mass_sends  # noqa: E402

register_mass_sends(journeys_app)  # mass-send …, caps …
