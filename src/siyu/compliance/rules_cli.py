"""`siyu compliance rules …`: install, list, import, export and switch keyword rules, categories, whitelist."""

from __future__ import annotations

from pathlib import Path

import typer

from siyu.compliance.cli import compliance_app
from siyu.db.engine import unit_of_work
from siyu.org.permissions import SYSTEM_ACTOR

rules_app = typer.Typer(help="Keyword rules, category settings and the whitelist.", no_args_is_help=True)
compliance_app.add_typer(rules_app, name="rules")


@rules_app.command("install-defaults")
def install_defaults_command() -> None:
    """Add the shipped default rules, category settings and whitelist that are missing (idempotent)."""
    from siyu.compliance.rules_service import install_defaults

    with unit_of_work() as session:
        added = install_defaults(session, SYSTEM_ACTOR)
    typer.echo(
        f"added {added['rules']} rule(s), {added['categories']} category setting(s), "
        f"{added['whitelist']} whitelist phrase(s)"
    )


@rules_app.command("list")
def list_command() -> None:
    """Print every rule (id, category, severity, enabled, version, terms) and the category settings."""
    from siyu.compliance import rules_repository as repo
    from siyu.compliance.rules_service import SEVERITY_DEFAULTS

    with unit_of_work() as session:
        stored = repo.category_settings(session)
        for cat, sev in SEVERITY_DEFAULTS.items():
            enabled, severity = stored.get(cat, (True, sev))
            typer.echo(f"category {cat.value:<18} {'on ' if enabled else 'off'} default {severity.value}")
        for r in repo.rules(session):
            shown = "、".join(r.terms[:8]) + (f" … (+{len(r.terms) - 8})" if len(r.terms) > 8 else "")
            typer.echo(
                f"{r.id:>5} {r.category.value:<18} {r.severity.value:<6} {'on ' if r.enabled else 'off'} "
                f"v{r.version:<3} {r.name}: {shown}"
            )
        for w in repo.whitelist(session):
            typer.echo(f"whitelist {w.id:>5} {w.category.value if w.category else '(all)':<18} {w.phrase}")


@rules_app.command("import")
def import_command(
    file: Path = typer.Argument(
        ..., help="CSV / XLSX (columns category,name,terms,…) or TXT (one term a line)"
    ),
    category: str = typer.Option("", help="TXT only: the rule's category (e.g. private_deal)"),
    name: str = typer.Option(
        "", help="TXT only: the rule's name (an existing rule of that name is replaced)"
    ),
    severity: str = typer.Option("", help="TXT only: low / medium / high (default: the category's)"),
) -> None:
    """Import rules: every row is checked first; one bad row imports nothing and every error is listed."""
    from siyu.compliance.rules_io import import_rules
    from siyu.errors import Invalid
    from siyu.imports.readers import open_path

    try:
        with unit_of_work() as session, open_path(file) as stream:
            result = import_rules(
                session,
                SYSTEM_ACTOR,
                stream,
                file.name,
                category=category or None,
                name=name or None,
                severity=severity or None,
            )
    except Invalid as exc:
        for e in exc.details if isinstance(exc.details, list) else []:
            typer.echo(f"  row {e.get('row')}, column {e.get('column')}: {e.get('reason')}", err=True)
        raise
    typer.echo(f"created {result.created}, replaced {result.updated} rule(s); {result.terms} term(s)")


@rules_app.command("export")
def export_command(
    file: Path = typer.Argument(None, help="write CSV here (default: print to stdout)"),
) -> None:
    """Export every rule as CSV (the shape `rules import` reads back)."""
    from siyu.compliance.rules_io import export_csv

    with unit_of_work() as session:
        text = export_csv(session)
    if file is None:
        typer.echo(text.lstrip("\ufeff"), nl=False)
    else:
        file.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {file}")


@rules_app.command("enable")
def enable_command(rule_id: int, off: bool = typer.Option(False, "--off", help="disable instead")) -> None:
    """Enable (or with --off disable) one rule."""
    from siyu.compliance.rules_service import set_rule_enabled

    with unit_of_work() as session:
        rule = set_rule_enabled(session, SYSTEM_ACTOR, rule_id, not off)
        typer.echo(f"rule {rule.id} {'enabled' if rule.enabled else 'disabled'} (v{rule.version})")


@rules_app.command("category")
def category_command(
    category: str,
    enable: bool = typer.Option(None, "--enable/--disable", help="switch the category on or off"),
    severity: str = typer.Option("", help="default severity: low / medium / high"),
) -> None:
    """Switch a category on/off and set its default severity."""
    from siyu.compliance.rules_service import set_category

    with unit_of_work() as session:
        row = set_category(session, SYSTEM_ACTOR, category, enabled=enable, severity=severity or None)
        typer.echo(f"{row.category.value}: {'on' if row.enabled else 'off'}, default {row.severity.value}")


@rules_app.command("whitelist-add")
def whitelist_add_command(
    phrase: str, category: str = typer.Option("", help="only for this category (default: all)")
) -> None:
    """Add a global whitelist phrase (matches inside it are excused)."""
    from siyu.compliance.rules_service import add_whitelist

    with unit_of_work() as session:
        row = add_whitelist(session, SYSTEM_ACTOR, phrase, category or None)
        typer.echo(f"whitelist {row.id}: {row.phrase} ({row.category.value if row.category else 'all'})")


@rules_app.command("whitelist-remove")
def whitelist_remove_command(phrase_id: int) -> None:
    """Remove a global whitelist phrase by id."""
    from siyu.compliance.rules_service import remove_whitelist

    with unit_of_work() as session:
        remove_whitelist(session, SYSTEM_ACTOR, phrase_id)
    typer.echo(f"removed whitelist {phrase_id}")
