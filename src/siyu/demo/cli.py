"""`siyu demo`: build the demo brand."""

from __future__ import annotations

import typer


def demo(customers: int = typer.Option(50_000, help="number of customers")) -> None:
    """Build the deterministic demo brand into the configured database."""
    raise typer.Exit(code=2)
