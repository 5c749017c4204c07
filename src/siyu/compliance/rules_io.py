"""Import keyword rules from CSV / XLSX (one rule per row, or one term per row) or TXT (one term per line); export.

Every row is validated before anything is written, so a file with one bad row changes nothing; the
error lists every bad row with its line number, column and reason.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.compliance import rules_repository as repo
from siyu.compliance.contract import KEYWORD_CATEGORIES
from siyu.compliance.keywords import normalise_phrases
from siyu.compliance.rules_service import (
    RULE_FIELDS,
    category_severity,
    create_rule,
    edit_rule,
    require_editor,
    validate_rule,
)
from siyu.errors import Invalid
from siyu.imports.readers import detect_encoding, read_table
from siyu.models.compliance import ComplianceCategory
from siyu.org.permissions import Actor

COLUMNS = (*RULE_FIELDS, "collapse_repeats", "enabled")
# Header spellings accepted besides the field names (Chinese lists come with Chinese headers).
ALIASES = {
    "类别": "category",
    "分类": "category",
    "名称": "name",
    "规则": "name",
    "规则名称": "name",
    "关键词": "terms",
    "词": "terms",
    "term": "terms",
    "同时包含": "all_terms",
    "不包含": "not_terms",
    "排除词": "not_terms",
    "白名单": "whitelist",
    "严重程度": "severity",
    "级别": "severity",
    "合并重复": "collapse_repeats",
    "启用": "enabled",
}
_LIST_FIELDS = ("terms", "all_terms", "not_terms", "whitelist")
MAX_ERRORS = 50
_FIELD = re.compile(r"field '(\w+)'")


@dataclass
class ImportResult:
    """What an import did."""

    created: int = 0
    updated: int = 0
    terms: int = 0
    rule_ids: list[int] = field(default_factory=list)


def _column(name: str, filename: str, index: int) -> str:
    key = str(name or "").strip().lower()
    key = ALIASES.get(key, key)
    if key not in COLUMNS:
        raise Invalid(
            f"{filename} header column {index + 1} {name!r}: unknown column; use {', '.join(COLUMNS)}",
            details=[{"row": 1, "column": name, "value": name, "reason": "unknown column"}],
        )
    return key


def _table_rules(stream: BinaryIO, filename: str) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows grouped into rule bodies by (category, name); the first line number of each rule."""
    table = read_table(stream, filename)
    columns = [_column(h, filename, i) for i, h in enumerate(table.header)]
    missing = [c for c in ("category", "name", "terms") if c not in columns]
    if missing:
        raise Invalid(f"{filename}: missing column(s) {', '.join(missing)}; needed: category, name, terms")
    bodies: dict[tuple[str, str], dict[str, Any]] = {}
    lines: dict[tuple[str, str], int] = {}
    for line, cells in table.rows:
        row = {c: ("" if v is None else str(v).strip()) for c, v in zip(columns, cells, strict=False)}
        key = (row.get("category", ""), row.get("name", ""))
        body = bodies.get(key)
        if body is None:
            bodies[key] = {c: row.get(c, "") for c in columns}
            bodies[key]["_lines"] = [line]
            lines[key] = line
            continue
        # Further rows of the same rule add their phrases (a list of one term per row is one rule).
        body["_lines"].append(line)
        for c in _LIST_FIELDS:
            if row.get(c):
                body[c] = f"{body.get(c, '')}\n{row[c]}"
        for c in ("severity", "collapse_repeats", "enabled"):
            if row.get(c) and not body.get(c):
                body[c] = row[c]
    return list(bodies.values()), list(lines.values())


def _txt_terms(stream: BinaryIO, filename: str) -> list[tuple[int, str]]:
    encoding, _ = detect_encoding(stream, filename)
    text = io.TextIOWrapper(stream, encoding=encoding)
    return [(i, line.strip()) for i, line in enumerate(text, start=1) if line.strip()]


def import_rules(
    session: Session,
    actor: Actor,
    stream: BinaryIO,
    filename: str,
    *,
    category: ComplianceCategory | str | None = None,
    name: str | None = None,
    severity: str | None = None,
) -> ImportResult:
    """Create or replace (same category and name: new version) the rules of a file; all rows or none.

    A .txt file is one rule of one term per line and needs category and name; CSV / XLSX need the
    columns category, name, terms (more columns: all_terms, not_terms, whitelist, severity,
    collapse_repeats, enabled; several phrases in one cell are separated by | or ;).
    """
    require_editor(actor, f"import rules from {filename}")
    if filename.lower().endswith(".txt"):
        if not category or not name:
            raise Invalid(f"{filename}: a TXT list needs a category and a rule name (one term per line)")
        terms = _txt_terms(stream, filename)
        bodies: list[dict[str, Any]] = [
            {
                "category": str(category),
                "name": name,
                "terms": [t for _, t in terms],
                "severity": severity or "",
            }
        ]
        where_of = [f"{filename} lines 1–{terms[-1][0] if terms else 0}"]
        if not terms:
            raise Invalid(f"{filename}: no terms (the file has no non-empty line)")
        forms = normalise_phrases([t for _, t in terms])
        bad = [
            {"row": i, "column": "terms", "value": t[:100], "reason": why}
            for (i, t), form in zip(terms, forms, strict=True)
            for why in (
                "longer than 100 characters" if len(t) > 100 else "",
                "nothing left after normalisation (only symbols or spaces)" if not form else "",
            )
            if why
        ]
        if bad:
            first = bad[0]
            raise Invalid(
                f"{filename} line {first['row']}: term {str(first['value'])[:20]!r}: {first['reason']}; "
                "nothing imported",
                details=bad[:MAX_ERRORS],
            )
    else:
        bodies, first_lines = _table_rules(stream, filename)
        where_of = [f"{filename} row {line}" for line in first_lines]
    clean: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    defaults = {c: category_severity(session, c) for c in KEYWORD_CATEGORIES}
    for body, where in zip(bodies, where_of, strict=True):
        lines = body.pop("_lines", None)
        try:
            cat_default = next((s for c, s in defaults.items() if c.value == body.get("category")), None)
            item = validate_rule(body, where, default_severity=cat_default)
        except Invalid as exc:
            found = _FIELD.search(exc.message)
            column = found.group(1) if found else None
            value = body.get(column) if column else None
            errors.append(
                {
                    "row": lines[0] if lines else None,
                    "rows": lines,
                    "column": column,
                    "value": None if value is None else str(value)[:100],
                    "reason": exc.message,
                }
            )
            if len(errors) >= MAX_ERRORS:
                break
            continue
        clean.append(item)
    if errors:
        raise Invalid(
            f"{filename}: {len(errors)} rule(s) with errors, nothing imported; first: {errors[0]['reason']}",
            details=errors,
        )
    result = ImportResult()
    for item in clean:
        existing = repo.rule_by_name(session, item["category"], item["name"])
        body = {**item, "category": item["category"].value, "severity": item["severity"].value}
        if existing is None:
            rule = create_rule(session, actor, body, source="import")
            result.created += 1
        else:
            rule = edit_rule(session, actor, existing.id, body)
            result.updated += 1
        result.terms += len(item["terms"])
        result.rule_ids.append(rule.id)
    detail = {"file": filename, "created": result.created, "updated": result.updated, "terms": result.terms}
    audit(session, actor, "compliance.rules.import", "sensitive_rule", None, detail)
    return result


def export_rows(session: Session, *, category: ComplianceCategory | None = None) -> list[list[str]]:
    """Header + one row per rule, phrases joined with | (the shape import_rules reads back)."""
    out = [list(COLUMNS)]
    for r in repo.rules(session):
        if category is not None and r.category != category:
            continue
        out.append(
            [
                r.category.value,
                r.name,
                "|".join(r.terms),
                "|".join(r.all_terms or ()),
                "|".join(r.not_terms or ()),
                "|".join(r.whitelist or ()),
                r.severity.value,
                "yes" if r.collapse_repeats else "no",
                "yes" if r.enabled else "no",
            ]
        )
    return out


def export_csv(session: Session, *, category: ComplianceCategory | None = None) -> str:
    """The rules as UTF-8 CSV text (with BOM, so Excel opens the Chinese correctly)."""
    buf = io.StringIO()
    csv.writer(buf).writerows(export_rows(session, category=category))
    return "\ufeff" + buf.getvalue()


def row_errors(exc: Invalid) -> Sequence[dict[str, Any]]:
    """The per-row errors of a failed import (for the console and the CLI)."""
    details = exc.details
    return details if isinstance(details, list) else []
