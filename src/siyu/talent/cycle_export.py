"""A cycle's assessments as CSV / XLSX: the cycle page's rows (same scope and filters) plus per-dimension scores."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import IO, Any

from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.customers.export import FORMATS, write_table
from siyu.errors import Invalid
from siyu.models.talent import AssessmentCycle
from siyu.org.permissions import Actor
from siyu.talent import cycle_repository as repo
from siyu.timeutil import brand_zone
from siyu.web.labels import label_msgid

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
HEADER = ["assessment_id", "staff_code", "staff_name", "unit", "role_code", "role", "status",
          "weighted_score", "outcome", "outcome_label", "submitted_at"]  # fmt: skip
EXPORT_LIMIT = 50_000


def label_text(_: Callable[[str], str], value: object, kind: str) -> str:
    """A code's label in the viewer's language (the code itself when it has none)."""
    msgid = label_msgid(value, kind)
    return _(msgid) if msgid else str(value)


def score_text(value: float | None) -> str:
    """A weighted score as pages and exports show it."""
    return "—" if value is None else f"{value:.2f}"


def export_table(
    session: Session,
    actor: Actor,
    cycle: AssessmentCycle,
    f: repo.RowFilter,
    _: Callable[[str], str],
    role_names: Mapping[str, str],
) -> tuple[list[str], list[list[Any]]]:
    """(header, rows): one row per readable assessment, a score_<dimension> column per dimension seen."""
    rows = repo.cycle_rows(session, actor, cycle.id, f, EXPORT_LIMIT)
    scores = repo.scores_of(session, [r.assessment.id for r in rows])
    dims: list[str] = []
    for by_dim in scores.values():
        for code in by_dim:
            if code not in dims:
                dims.append(code)
    zone = brand_zone()
    out = []
    for r in rows:
        a = r.assessment
        saved = scores[a.id]
        out.append(
            [
                a.id,
                r.staff_code,
                r.staff_name,
                r.unit_name,
                a.role_code,
                role_names.get(a.role_code, a.role_code),
                label_text(_, a.status, "AssessmentStatus"),
                score_text(a.weighted_score) if a.weighted_score is not None else "",
                a.outcome.value if a.outcome else "",
                label_text(_, a.outcome, "AssessmentOutcome") if a.outcome else "",
                a.submitted_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if a.submitted_at else "",
                *[saved[d].score if d in saved else "" for d in dims],
            ]
        )
    return [*HEADER, *(f"score_{d}" for d in dims)], out


def export_cycle(
    session: Session,
    actor: Actor,
    cycle: AssessmentCycle,
    f: repo.RowFilter,
    fmt: str,
    _: Callable[[str], str],
    role_names: Mapping[str, str],
) -> tuple[IO[bytes], int, str]:
    """Write the export and audit it; returns (file at offset 0, rows, file name)."""
    if fmt not in FORMATS:
        raise Invalid(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    header, rows = export_table(session, actor, cycle, f, _, role_names)
    out, count = write_table(header, rows, fmt, "assessments")
    used = {k: str(v) for k, v in vars(f).items() if v is not None}
    audit(session, actor, "talent.cycle.export", "assessment_cycle", cycle.id,
          {"format": fmt, "filter": used, "rows": count})  # fmt: skip
    return out, count, f"assessments-{cycle.id}.{fmt}"
