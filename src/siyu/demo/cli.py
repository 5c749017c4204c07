"""`siyu demo`: build the deterministic demo brand (what `make demo` runs)."""

from __future__ import annotations

import time
from datetime import date

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from siyu.config import get_settings
from siyu.db.engine import get_engine, unit_of_work
from siyu.demo.accounts import DemoAccount, demo_accounts
from siyu.demo.builder import (
    DEFAULT_AS_OF,
    DEFAULT_CUSTOMERS,
    DEFAULT_SEED,
    DemoParams,
    build_demo,
    existing_rows,
)
from siyu.errors import Invalid


class RichReporter:
    """Shows the builder's steps and per-table write progress as Rich progress bars."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.step_task = progress.add_task("starting", total=None)
        self.table_task: TaskID | None = None

    def step(self, label: str) -> None:
        """Show the current generation step."""
        self.progress.update(self.step_task, description=label)

    def table(self, name: str, total: int) -> None:
        """Start a bar for writing a table."""
        if self.table_task is not None:
            self.progress.remove_task(self.table_task)
        self.table_task = self.progress.add_task(f"  writing {name}", total=total)

    def advance(self, rows: int) -> None:
        """Advance the current table bar."""
        if self.table_task is not None:
            self.progress.advance(self.table_task, rows)


def accounts_table(accounts: list[DemoAccount]) -> Table:
    """The table of demo logins."""
    table = Table(title="demo accounts", show_lines=False)
    for column in ("username", "password", "role", "scope", "unit"):
        table.add_column(column, no_wrap=True)  # a folded password is a wrong password
    table.add_column("staff", overflow="fold")
    for a in accounts:
        table.add_row(a.username, a.password, a.role, a.scope, a.unit or "", a.staff or "")
    return table


def _print_accounts(console: Console, accounts: list[DemoAccount]) -> None:
    if not accounts:
        console.print("no demo accounts in this database (its customers did not come from `siyu demo`)")
        return
    console.print(accounts_table(accounts))
    settings = get_settings()
    console.print(
        f"serve it with [bold]siyu serve[/bold] → http://{settings.host}:{settings.port}/  "
        "(passwords are the demo defaults unless you changed them)"
    )


def demo(
    customers: int = typer.Option(
        DEFAULT_CUSTOMERS, help="customers to generate; orders and messages scale with it"
    ),
    seed: int = typer.Option(DEFAULT_SEED, help="random seed: the same seed builds identical data"),
    as_of: str = typer.Option(
        DEFAULT_AS_OF.isoformat(), "--as-of", help="last day of the history (YYYY-MM-DD)"
    ),
    if_empty: bool = typer.Option(
        False, "--if-empty", help="if a demo already exists, just print its accounts"
    ),
    migrate: bool = typer.Option(True, "--migrate/--no-migrate", help="run `siyu db upgrade` first"),
) -> None:
    """Build the deterministic demo brand into the configured database."""
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise Invalid(f"--as-of {as_of!r} is not a date like 2026-11-01") from None
    params = DemoParams(customers=customers, seed=seed, as_of=day)
    params.check()
    settings = get_settings()
    if migrate:
        from siyu.db.migrate import upgrade

        upgrade(settings.database_url)
    console = Console()
    engine = get_engine()
    with unit_of_work(engine) as session:
        if if_empty and "customers" in existing_rows(session):
            console.print("demo brand already built; reusing it.")
            _print_accounts(console, demo_accounts(session))
            return
    started = time.perf_counter()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        reporter = RichReporter(progress)
        with unit_of_work(engine) as session:
            result = build_demo(session, params, reporter)
            reporter.step("committing")
    seconds = time.perf_counter() - started
    summary = Table(title=f"demo brand built in {seconds:.1f} s (seed {seed}, as of {day.isoformat()})")
    summary.add_column("table")
    summary.add_column("rows", justify="right")
    for name, count in result.counts.items():
        summary.add_row(name, f"{count:,}")
    console.print(summary)
    labelled = ", ".join(f"{k} {len(v)}" for k, v in result.violations.items())
    console.print(f"policy violations planted in staff messages: {labelled}")
    _print_accounts(console, result.accounts)
