"""The compliance rule editor: rules by category with switches, category settings, create/edit, import, export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from siyu.compliance import rules_io, rules_service
from siyu.compliance import rules_repository as repo
from siyu.compliance.access import RULES_EDIT, RULES_READ
from siyu.compliance.contract import KEYWORD_CATEGORIES
from siyu.compliance.views import LABELS, tabs
from siyu.errors import Conflict, Invalid, NotFound
from siyu.models.compliance import ComplianceCategory, SensitiveRule, Severity
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, render

router = APIRouter(include_in_schema=False)
ReadViewer = Annotated[Viewer, Depends(require_access(RULES_READ))]
EditViewer = Annotated[Viewer, Depends(require_access(RULES_EDIT))]
PAGE = "compliance/rules.html"
FORM = "compliance/rule_form.html"
MAX_UPLOAD = 20 * 1024 * 1024


def _rules_context(session: Any, viewer: Viewer) -> dict[str, Any]:
    rules = repo.rules(session)
    settings = repo.category_settings(session)
    by_category: dict[ComplianceCategory, list[SensitiveRule]] = {c: [] for c in KEYWORD_CATEGORIES}
    for rule in rules:
        by_category.setdefault(rule.category, []).append(rule)
    categories = [
        (c, *settings.get(c, (True, rules_service.SEVERITY_DEFAULTS[c]))) for c in ComplianceCategory
    ]
    return {
        **LABELS,
        "tabs": tabs(viewer),
        "tab": "rules",
        "by_category": by_category,
        "categories": categories,
        "whitelist": repo.whitelist(session),
        "may_edit": RULES_EDIT.allows(viewer.actor),
        "severities": list(Severity),
        "keyword_categories": KEYWORD_CATEGORIES,
    }


@router.get("/compliance/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: SessionDep, viewer: ReadViewer) -> HTMLResponse:
    """Keyword rules by category, category switches and the whitelist."""
    return render(request, PAGE, _rules_context(session, viewer))


def _section(request: Request, session: Any, viewer: Viewer, fragment: str, note: str) -> HTMLResponse:
    _ = gettext_for(request)
    context = _rules_context(session, viewer)
    return render(request, PAGE, context, fragment=fragment, toasts=[("success", _(note))])


@router.post("/compliance/rules/{rule_id}/enabled", response_class=HTMLResponse)
def toggle_rule(
    request: Request,
    session: SessionDep,
    viewer: EditViewer,
    rule_id: int,
    enabled: Annotated[str, Form(max_length=5)] = "",
) -> HTMLResponse:
    """Switch one rule on or off."""
    rules_service.set_rule_enabled(session, viewer.actor, rule_id, enabled in ("1", "true", "on"))
    session.commit()
    return _section(request, session, viewer, "rule_lists", N_("Rule updated"))


@router.post("/compliance/rules/categories/{category}", response_class=HTMLResponse)
def update_category(
    request: Request,
    session: SessionDep,
    viewer: EditViewer,
    category: str,
    enabled: Annotated[str, Form(max_length=5)] = "",
    severity: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse:
    """Switch a category and set its default severity."""
    rules_service.set_category(
        session, viewer.actor, category, enabled=enabled in ("1", "true", "on"), severity=severity or None
    )
    session.commit()
    return _section(request, session, viewer, "category_settings", N_("Category updated"))


def _form_page(
    request: Request, viewer: Viewer, values: dict[str, Any], rule_id: int | None, error: str | None = None
) -> HTMLResponse:
    context = {
        **LABELS,
        "tabs": tabs(viewer),
        "tab": "rules",
        "values": values,
        "rule_id": rule_id,
        "error": error,
        "severities": list(Severity),
        "keyword_categories": KEYWORD_CATEGORIES,
        "may_edit": RULES_EDIT.allows(viewer.actor),
    }
    return render(request, FORM, context, status_code=422 if error else 200)


def _values(rule: SensitiveRule | None) -> dict[str, Any]:
    if rule is None:
        return {"category": "", "name": "", "terms": "", "all_terms": "", "not_terms": "", "whitelist": "",
                "severity": "", "collapse_repeats": False, "note": ""}  # fmt: skip
    return {
        "category": rule.category.value,
        "name": rule.name,
        "terms": "\n".join(rule.terms),
        "all_terms": "\n".join(rule.all_terms or ()),
        "not_terms": "\n".join(rule.not_terms or ()),
        "whitelist": "\n".join(rule.whitelist or ()),
        "severity": rule.severity.value,
        "collapse_repeats": rule.collapse_repeats,
        "note": rule.note or "",
    }


@router.get("/compliance/rules/new", response_class=HTMLResponse)
def new_rule_page(request: Request, viewer: EditViewer) -> HTMLResponse:
    """The empty rule form."""
    return _form_page(request, viewer, _values(None), None)


@router.get("/compliance/rules/export.csv", response_model=None)
def export_rules(session: SessionDep, viewer: ReadViewer) -> Response:
    """Every rule as CSV (the shape the import reads back)."""
    body = rules_io.export_csv(session)
    headers = {
        "Content-Disposition": 'attachment; filename="compliance-rules.csv"',
        "Cache-Control": "no-store",
    }
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/compliance/rules/{rule_id}", response_class=HTMLResponse)
def edit_rule_page(request: Request, session: SessionDep, viewer: ReadViewer, rule_id: int) -> HTMLResponse:
    """One rule in the form (read-only for roles that may not edit)."""
    rule = repo.rule_by_id(session, rule_id)
    if rule is None:
        raise NotFound(f"rule {rule_id}: no such keyword rule")
    return _form_page(request, viewer, _values(rule), rule_id)


def _body(form: dict[str, str]) -> dict[str, Any]:
    return {
        "category": form.get("category", ""),
        "name": form.get("name", ""),
        "terms": form.get("terms", ""),
        "all_terms": form.get("all_terms", ""),
        "not_terms": form.get("not_terms", ""),
        "whitelist": form.get("whitelist", ""),
        "severity": form.get("severity", ""),
        "collapse_repeats": form.get("collapse_repeats") in ("1", "on", "true"),
        "note": form.get("note", ""),
    }


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: str(v)[:200_000] for k, v in data.items() if isinstance(v, str)}


@router.post("/compliance/rules", response_model=None)
async def create_rule(request: Request, session: SessionDep, viewer: EditViewer) -> Response:
    """Create a rule from the form; errors come back in the form (422)."""
    body = _body(await _form(request))
    try:
        rule = rules_service.create_rule(session, viewer.actor, body)
    except (Invalid, Conflict) as exc:
        session.rollback()
        return _form_page(request, viewer, body, None, exc.message)
    session.commit()
    return RedirectResponse(f"/compliance/rules#rule-{rule.id}", 303)


@router.post("/compliance/rules/{rule_id}", response_model=None)
async def save_rule(request: Request, session: SessionDep, viewer: EditViewer, rule_id: int) -> Response:
    """Save an edited rule (a new version); errors come back in the form (422)."""
    body = _body(await _form(request))
    try:
        rules_service.edit_rule(session, viewer.actor, rule_id, body)
    except (Invalid, Conflict) as exc:
        session.rollback()
        return _form_page(request, viewer, body, rule_id, exc.message)
    session.commit()
    return RedirectResponse(f"/compliance/rules#rule-{rule_id}", 303)


@router.post("/compliance/rules-import", response_class=HTMLResponse)
def import_rules(
    request: Request,
    session: SessionDep,
    viewer: EditViewer,
    file: Annotated[UploadFile, File()],
    category: Annotated[str, Form(max_length=24)] = "",
    name: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse:
    """Import a CSV / XLSX / TXT list; all rows or none, row errors listed."""
    _ = gettext_for(request)
    filename = file.filename or "upload.csv"
    if file.size is not None and file.size > MAX_UPLOAD:
        raise Invalid(f"{filename}: larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    try:
        result = rules_io.import_rules(
            session, viewer.actor, file.file, filename, category=category or None, name=name or None
        )
    except Invalid as exc:
        session.rollback()
        context = {**_rules_context(session, viewer), "import_error": exc.message,
                   "import_rows": rules_io.row_errors(exc)}  # fmt: skip
        return render(request, PAGE, context, fragment="import_panel", status_code=422)
    session.commit()
    note = _("Imported: %(created)s new rules, %(updated)s updated, %(terms)s terms.") % {
        "created": result.created,
        "updated": result.updated,
        "terms": result.terms,
    }
    context = {**_rules_context(session, viewer), "import_note": note}
    return render(request, PAGE, context, fragment="import_panel", toasts=[("success", note)])
