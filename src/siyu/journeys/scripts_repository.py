"""Script library queries: normalised search text, ranked substring search, families of variants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from siyu.models import Script, ScriptApproval

# Separates the folded title from the rest of search_text; it occurs exactly once, so
# "term before the marker" means "term in the title" (a portable LIKE, no dialect branch).
TITLE_END = "\x1e"
_MAX_TERMS = 8


def fold_texts(texts: Sequence[str]) -> list[str]:
    """Search folding of texts: traditional → simplified (OpenCC), case, full-width → half-width."""
    from siyu.compliance.normalise import fold_many  # builds its tables once per process

    cleaned = [t.replace(TITLE_END, " ").replace("\x01", " ") for t in texts]
    return fold_many(cleaned) if cleaned else []


def search_text_of(title: str, scenario: str | None, body: str) -> str:
    """The value of Script.search_text: folded title, the marker, folded scenario and body."""
    folded_title, rest = fold_texts([title, f"{scenario or ''}\n{body}"])
    return f"{folded_title}{TITLE_END}{rest}"


def query_terms(query: str) -> list[str]:
    """The folded, distinct whitespace-separated terms of a search query (at most eight)."""
    if not query.strip():
        return []
    folded = fold_texts([query])[0]
    terms: list[str] = []
    for term in folded.split():
        if term not in terms:
            terms.append(term)
    return terms[:_MAX_TERMS]


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class ScriptFilters:
    """What the library list is narrowed by."""

    query: str = ""
    category: str | None = None
    approval: ScriptApproval | None = None
    approved_only: bool = False  # readers without write rights see approved scripts only
    include_retired: bool = False


def _where(f: ScriptFilters, terms: list[str]) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [
        Script.search_text.like(f"%{_like_escape(t)}%", escape="\\") for t in terms
    ]
    if f.category:
        clauses.append(Script.category == f.category)
    if f.approved_only:
        clauses.append(Script.approval == ScriptApproval.approved)
    elif f.approval is not None:
        clauses.append(Script.approval == f.approval)
    elif not f.include_retired:
        clauses.append(Script.approval != ScriptApproval.retired)
    return clauses


def search(session: Session, f: ScriptFilters, limit: int, offset: int = 0) -> tuple[int, Sequence[Script]]:
    """(total matching, one page): every term must occur; title hits first, then usage, then newest."""
    terms = query_terms(f.query)
    where = _where(f, terms)
    total = session.scalar(select(func.count()).select_from(Script).where(*where)) or 0
    title_hits: ColumnElement[int] = literal(0)
    for t in terms:
        pattern = f"%{_like_escape(t)}%{TITLE_END}%"
        title_hits = title_hits + case((Script.search_text.like(pattern, escape="\\"), 1), else_=0)
    rows = session.scalars(
        select(Script)
        .where(*where)
        .order_by(title_hits.desc(), Script.usage_count.desc(), Script.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return int(total), rows


def get(session: Session, script_id: int) -> Script | None:
    """One script by id."""
    return session.get(Script, script_id)


def family(session: Session, root_id: int) -> Sequence[Script]:
    """A script and its variants (the root first, then by label)."""
    return session.scalars(
        select(Script)
        .where(or_(Script.id == root_id, Script.parent_id == root_id))
        .order_by(Script.parent_id.is_not(None), Script.variant_label, Script.id)
    ).all()


def variant_counts(session: Session, root_ids: Sequence[int]) -> dict[int, int]:
    """How many variants each root script has."""
    if not root_ids:
        return {}
    rows = session.execute(
        select(Script.parent_id, func.count())
        .where(Script.parent_id.in_(root_ids), Script.approval != ScriptApproval.retired)
        .group_by(Script.parent_id)
    ).all()
    return {int(p): int(n) for p, n in rows if p is not None}


def label_taken(session: Session, parent_id: int, label: str, except_id: int | None = None) -> bool:
    """Whether a sibling variant of parent_id already uses label."""
    clauses = [Script.parent_id == parent_id, func.lower(Script.variant_label) == label.lower()]
    if except_id is not None:
        clauses.append(Script.id != except_id)
    return session.scalar(select(func.count()).select_from(Script).where(and_(*clauses))) != 0


def approval_counts(session: Session) -> dict[str, int]:
    """Scripts per approval state."""
    rows = session.execute(select(Script.approval, func.count()).group_by(Script.approval)).all()
    return {str(getattr(a, "value", a)): int(n) for a, n in rows}
