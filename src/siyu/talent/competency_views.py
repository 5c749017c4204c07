"""Console pages of competency models: /talent/competencies (default and per-role) and the version editor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from siyu.errors import Forbidden, Invalid, SiyuError
from siyu.models import StaffRole
from siyu.models.talent import CompetencyModel
from siyu.talent import competency
from siyu.talent.access import ASSESS, COMPETENCY_EDIT
from siyu.talent.contract import Dimension
from siyu.talent.evidence import EVIDENCE_METRICS, KPI_IMPROVEMENT
from siyu.talent.roles_catalog import catalog
from siyu.talent.views import tabs
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.render import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
ReadViewer = Annotated[Viewer, Depends(require_access(ASSESS))]
MAX_ROWS = competency.MAX_DIMENSIONS
BLANK_ROWS = 2  # empty rows offered for custom dimensions


def url_key(role_key: str) -> str:
    """The role key as it appears in URLs ("default" for "*")."""
    return "default" if role_key == competency.DEFAULT_KEY else role_key


def _role_key(value: str) -> str:
    return competency.DEFAULT_KEY if value.strip() == "default" else competency.parse_role_key(value)


def role_names(session: Session, zh: bool) -> dict[str, str]:
    """Role code → display name from the role map (codes held by staff but not in the map show as codes)."""
    names = {e.code: (e.name_zh if zh else e.name_en) for e in catalog(session, include_inactive=True)}
    for code in session.scalars(select(StaffRole.role_code).distinct()):
        names.setdefault(str(code), str(code))
    return names


def _base(request: Request, viewer: Viewer) -> dict[str, Any]:
    zh = request_locale(request).startswith("zh")
    return {
        "tabs": tabs(viewer),
        "tab": "competencies",
        "zh": zh,
        "may_edit": COMPETENCY_EDIT.allows(viewer.actor),
        "metrics": {c: (m.name_zh if zh else m.name_en) for c, m in EVIDENCE_METRICS.items()},
        "directions": {c: m.direction.value for c, m in EVIDENCE_METRICS.items()},
        "improvement": KPI_IMPROVEMENT,
        "url_key": url_key,
    }


@router.get("/talent/competencies", response_class=HTMLResponse)
def competencies_page(request: Request, session: SessionDep, viewer: ReadViewer) -> HTMLResponse:
    """The default model and every role's own model (latest versions), and which roles use the default."""
    base = _base(request, viewer)
    models = competency.latest_models(session)
    session.commit()  # the first visit seeds the default model
    names = role_names(session, base["zh"])
    held = set(session.scalars(select(StaffRole.role_code).distinct()))
    context = {
        **base,
        "models": [(key, m, competency.dimensions_of(m)) for key, m in models.items()],
        "names": names,
        "inheriting": sorted(c for c in set(names) | held if c not in models),
    }
    return render(request, "talent/competencies.html", context)


def _values(dims: tuple[Dimension, ...]) -> list[dict[str, Any]]:
    rows = [{**d.to_dict(), "weight": str(d.weight)} for d in dims]
    blank = {
        "code": "",
        "name_zh": "",
        "name_en": "",
        "weight": "",
        "anchors": [""] * 5,
        "evidence_metric_codes": [],
        "description_zh": "",
    }
    return rows + [dict(blank) for _ in range(min(BLANK_ROWS, MAX_ROWS - len(rows)))]


def _edit_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    key: str,
    rows: list[dict[str, Any]],
    note: str,
    error: str | None,
    status: int = 200,
) -> HTMLResponse:
    base = _base(request, viewer)
    own = competency.versions(session, key)
    context = {
        **base,
        "key": key,
        "role_name": role_names(session, base["zh"]).get(key, key) if key != competency.DEFAULT_KEY else None,
        "rows": rows,
        "note": note,
        "form_error": error,
        "versions": [(v, competency.dimensions_of(v)) for v in own],
        "metric_codes": list(EVIDENCE_METRICS),
    }
    return render(request, "talent/competency_edit.html", context, status_code=status)


@router.get("/talent/competencies/{role}/edit", response_class=HTMLResponse)
def edit_page(request: Request, session: SessionDep, viewer: ReadViewer, role: str) -> HTMLResponse:
    """The model in force for the role as a form (read-only for non-editors) and its version history."""
    key = _role_key(role)
    model: CompetencyModel = competency.model_for(session, key)
    session.commit()
    return _edit_page(request, session, viewer, key, _values(competency.dimensions_of(model)), "", None)


def submitted_rows(form: FormData) -> list[dict[str, Any]]:
    """Form rows as typed: code_N, name_zh_N, name_en_N, weight_N, anchor_N_1..5, metrics_N, description_N."""
    rows = []
    for n in range(MAX_ROWS + BLANK_ROWS):
        if f"code_{n}" not in form and f"name_zh_{n}" not in form:
            continue
        rows.append(
            {
                "code": str(form.get(f"code_{n}", "")).strip(),
                "name_zh": str(form.get(f"name_zh_{n}", "")).strip(),
                "name_en": str(form.get(f"name_en_{n}", "")).strip(),
                "weight": str(form.get(f"weight_{n}", "")).strip(),
                "anchors": [str(form.get(f"anchor_{n}_{k}", "")) for k in range(1, 6)],
                "evidence_metric_codes": [str(v) for v in form.getlist(f"metrics_{n}")],
                "description_zh": str(form.get(f"description_{n}", "")),
                "remove": form.get(f"remove_{n}") == "1",
            }
        )
    return rows


def _is_blank(row: dict[str, Any]) -> bool:
    return not (row["code"] or row["name_zh"] or row["weight"] or any(a.strip() for a in row["anchors"]))


def dimensions_from_rows(rows: list[dict[str, Any]]) -> list[Dimension]:
    """Kept, non-blank rows as dimensions; errors name the row as dimensions[N] (N = the row on the form)."""
    dims: list[Dimension] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows):
        if row["remove"] or _is_blank(row):
            continue
        d = competency.parse_dimension(row, f"dimensions[{n}]")
        if d.code in seen:
            raise Invalid(f"dimensions[{n}].code: {d.code!r} is already used by dimensions[{seen[d.code]}]")
        seen[d.code] = n
        dims.append(d)
    return dims


@router.post("/talent/competencies/{role}/edit")
async def edit_submit(request: Request, session: SessionDep, viewer: ReadViewer, role: str) -> Response:
    """Save the form as a new version (admin / lead only; audited); errors come back above the form."""
    if not COMPETENCY_EDIT.allows(viewer.actor):
        raise Forbidden(COMPETENCY_EDIT.denied)
    key = _role_key(role)
    form = await request.form()
    rows = submitted_rows(form)
    note = str(form.get("note", ""))
    try:
        competency.save_model(session, viewer.actor, key, dimensions_from_rows(rows), note)
    except SiyuError as exc:
        session.rollback()
        # Rows stay as typed (removed ones still ticked) so dimensions[N] in the message matches the form.
        return _edit_page(
            request, session, viewer, key, rows, note, gettext_for(request)(exc.message), exc.status_code
        )
    session.commit()
    return RedirectResponse(f"/talent/competencies#model-{url_key(key)}", status_code=303)
