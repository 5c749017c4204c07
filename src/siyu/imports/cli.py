"""`siyu import customers|orders|messages FILE`."""

from __future__ import annotations

import typer

import_app = typer.Typer(help="Import CSV/XLSX files.", no_args_is_help=True)
