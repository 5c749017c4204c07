"""Reads of keyword rules, whitelist phrases and category settings (set-based, a few queries per load)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models.compliance import (
    ComplianceCategory,
    ComplianceCategorySetting,
    SensitiveRule,
    Severity,
    WhitelistPhrase,
)

Fingerprint = tuple[object, ...]


def rules(session: Session, *, enabled_only: bool = False) -> Sequence[SensitiveRule]:
    """Every keyword rule (or only the enabled ones), by category then id."""
    query = select(SensitiveRule).order_by(SensitiveRule.category, SensitiveRule.id)
    if enabled_only:
        query = query.where(SensitiveRule.enabled.is_(True))
    return session.scalars(query).all()


def rule_by_id(session: Session, rule_id: int) -> SensitiveRule | None:
    """One rule, or None."""
    return session.get(SensitiveRule, rule_id)


def rule_by_name(session: Session, category: ComplianceCategory, name: str) -> SensitiveRule | None:
    """The rule of this category with this name (names are unique within a category by the service)."""
    return session.scalars(
        select(SensitiveRule).where(SensitiveRule.category == category, SensitiveRule.name == name).limit(1)
    ).first()


def whitelist(session: Session) -> Sequence[WhitelistPhrase]:
    """Every global whitelist phrase, by phrase."""
    return session.scalars(select(WhitelistPhrase).order_by(WhitelistPhrase.phrase, WhitelistPhrase.id)).all()


def whitelist_phrase(
    session: Session, phrase: str, category: ComplianceCategory | None
) -> WhitelistPhrase | None:
    """The whitelist row of (phrase, category), or None."""
    cond = WhitelistPhrase.category.is_(None) if category is None else WhitelistPhrase.category == category
    return session.scalars(select(WhitelistPhrase).where(WhitelistPhrase.phrase == phrase, cond)).first()


def category_settings(session: Session) -> dict[ComplianceCategory, tuple[bool, Severity]]:
    """The stored per-category (enabled, default severity); categories without a row are absent."""
    rows = session.execute(
        select(
            ComplianceCategorySetting.category,
            ComplianceCategorySetting.enabled,
            ComplianceCategorySetting.severity,
        )
    ).all()
    return {c: (bool(e), s) for c, e, s in rows}


def fingerprint(session: Session) -> Fingerprint:
    """What changes whenever a rule, whitelist phrase or category setting changes (three small queries).

    Every rule write bumps its version, so (count, max id, sum of versions, newest creation) moves on
    create, edit, enable/disable and delete (SQLite may reuse a deleted id, the creation time still
    moves); whitelist rows are only added or removed, so (count, max id, newest creation) does.
    """
    r = session.execute(
        select(
            func.count(),
            func.max(SensitiveRule.id),
            func.sum(SensitiveRule.version),
            func.max(SensitiveRule.created_at),
        )
    ).one()
    w = session.execute(
        select(func.count(), func.max(WhitelistPhrase.id), func.max(WhitelistPhrase.created_at))
    ).one()
    settings = sorted((c.value, e, s.value) for c, (e, s) in category_settings(session).items())
    return (int(r[0]), r[1], int(r[2] or 0), r[3], int(w[0]), w[1], w[2], tuple(settings))
