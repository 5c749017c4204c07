"""`siyu journeys scripts list|add|approve|import`: the script library from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer

scripts_app = typer.Typer(
    help="Script library (话术库): search, add, approve, import JSONL.", no_args_is_help=True
)


@scripts_app.command("list")
def list_command(
    query: str = typer.Option("", "--q", help="search terms (all must occur; 繁體 finds 简体)"),
    category: str | None = typer.Option(None, "--category"),
    approval: str | None = typer.Option(
        None, "--approval", help="draft, pending, approved, rejected, retired"
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    output: str = typer.Option("text", "--format", help="text or json"),
) -> None:
    """Scripts matching the query, title hits first, then by usage."""
    from siyu.db.engine import unit_of_work
    from siyu.errors import Invalid
    from siyu.journeys import scripts_repository as repo
    from siyu.journeys.scripts_service import to_out
    from siyu.models import ScriptApproval

    if output not in ("text", "json"):
        raise Invalid(f"--format: {output!r} is not one of text, json")
    state = None
    if approval:
        try:
            state = ScriptApproval(approval)
        except ValueError:
            raise Invalid(f"--approval: {approval!r} is not one of {', '.join(ScriptApproval)}") from None
    with unit_of_work() as session:
        total, rows = repo.search(session, repo.ScriptFilters(query, category, state), limit)
        items = [to_out(s) for s in rows]
    if output == "json":
        typer.echo(json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False, indent=2))
        return
    typer.echo(f"{total} script(s)")
    for i in items:
        variant = f" [{i.variant_label} of #{i.parent_id}]" if i.parent_id else ""
        typer.echo(f"#{i.id} {i.approval:<8} {i.category:<10} used {i.usage_count:>5}  {i.title}{variant}")


@scripts_app.command("add")
def add_command(
    title: str = typer.Option(..., "--title"),
    category: str = typer.Option(..., "--category"),
    body: str = typer.Option(..., "--body", help="text with {name} {store} {guide} {coupon}"),
    scenario: str | None = typer.Option(None, "--scenario"),
    parent_id: int | None = typer.Option(None, "--parent", help="make it a variant of this script"),
    variant_label: str | None = typer.Option(None, "--label", help="the variant's label (B, C…)"),
    submit: bool = typer.Option(False, "--submit", help="send straight to review"),
) -> None:
    """Add one script (a draft, or pending with --submit)."""
    from siyu.db.engine import unit_of_work
    from siyu.journeys.scripts_service import create_script, parse_script
    from siyu.org.permissions import SYSTEM_ACTOR

    raw = {
        "title": title,
        "category": category,
        "body": body,
        "scenario": scenario,
        "parent_id": parent_id,
        "variant_label": variant_label,
        "submit": submit,
    }
    with unit_of_work() as session:
        script = create_script(session, SYSTEM_ACTOR, parse_script(raw, "--options"))
        typer.echo(f"script #{script.id} {script.approval.value}: {script.title}")


@scripts_app.command("approve")
def approve_command(
    script_id: int = typer.Argument(..., help="script id"),
    note: str | None = typer.Option(None, "--note"),
    reject: bool = typer.Option(False, "--reject", help="reject instead (needs --note)"),
) -> None:
    """Approve (or reject) a pending script."""
    from siyu.db.engine import unit_of_work
    from siyu.journeys.scripts_schemas import ReviewIn
    from siyu.journeys.scripts_service import review_script
    from siyu.org.permissions import SYSTEM_ACTOR

    decision = ReviewIn(decision="reject" if reject else "approve", note=note)
    with unit_of_work() as session:
        script = review_script(session, SYSTEM_ACTOR, script_id, decision)
        typer.echo(f"script #{script.id} {script.approval.value}")


@scripts_app.command("import")
def import_command(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="one JSON object per line"),
) -> None:
    """Import scripts from JSONL (title, category, scenario, body, attachments, parent_id, variant_label, submit)."""
    from siyu.db.engine import unit_of_work
    from siyu.journeys.scripts_service import import_jsonl
    from siyu.org.permissions import SYSTEM_ACTOR

    lines = path.read_text(encoding="utf-8").splitlines()
    with unit_of_work() as session:
        result = import_jsonl(session, SYSTEM_ACTOR, lines, path.name)
    typer.echo(f"imported {result.created} script(s), {result.pending} pending review")


@scripts_app.command("reindex")
def reindex_command() -> None:
    """Recompute the search text of every script (after bulk loads that bypassed the library)."""
    from siyu.db.engine import unit_of_work
    from siyu.journeys.scripts_service import reindex_search_text

    with unit_of_work() as session:
        changed = reindex_search_text(session)
    typer.echo(f"reindexed {changed} script(s)")
