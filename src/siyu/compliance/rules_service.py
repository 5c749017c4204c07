"""Keyword rules, category settings and the whitelist: validated, audited writes (the caller commits)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.compliance import rules_repository as repo
from siyu.compliance.access import RULES_EDIT, readable_incidents
from siyu.compliance.contract import KEYWORD_CATEGORIES
from siyu.compliance.keywords import SEPARATOR, normalise_phrases
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models.compliance import (
    ComplianceCategory,
    ComplianceCategorySetting,
    IncidentStatus,
    SensitiveIncident,
    SensitiveRule,
    Severity,
    WhitelistPhrase,
)
from siyu.org.permissions import Actor

DATA_FILE = Path(__file__).with_name("rules_data.json")
# Severity of a category nobody has configured yet (the shipped rules_data.json says the same).
SEVERITY_DEFAULTS: dict[ComplianceCategory, Severity] = {
    ComplianceCategory.abuse: Severity.high,
    ComplianceCategory.private_deal: Severity.high,
    ComplianceCategory.diverted_order: Severity.high,
    ComplianceCategory.forbidden_promise: Severity.medium,
    ComplianceCategory.competitor: Severity.low,
    ComplianceCategory.contact: Severity.medium,
    ComplianceCategory.payment: Severity.high,
    ComplianceCategory.link: Severity.medium,
    ComplianceCategory.behaviour: Severity.low,
}
RULE_FIELDS = ("category", "name", "terms", "all_terms", "not_terms", "whitelist", "severity")
RULE_OPTIONS = ("collapse_repeats", "note", "enabled")
MAX_TERMS = 50_000  # one imported list may be a single rule of many terms
MAX_PHRASE = 100
_SPLIT = re.compile(r"[\n\r|;；]+")


def require_editor(actor: Actor, what: str) -> None:
    """Only admin and the private-domain lead change rules, categories and the whitelist (operators read)."""
    if not RULES_EDIT.allows(actor):
        raise Forbidden(
            f"{what}: role {actor.role.value!r} may not edit compliance rules; admin or private_domain_lead may"
        )


def _category(value: Any, where: str, *, keyword_only: bool) -> ComplianceCategory:
    allowed = KEYWORD_CATEGORIES if keyword_only else tuple(ComplianceCategory)
    text = str(value or "").strip()
    for c in allowed:
        if text == c.value:
            return c
    raise Invalid(f"{where}: {text!r} is not one of {', '.join(c.value for c in allowed)}")


def _severity(value: Any, where: str) -> Severity:
    text = str(value or "").strip().lower()
    try:
        return Severity(text)
    except ValueError:
        raise Invalid(f"{where}: {text!r} is not one of low, medium, high") from None


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "on", "是"):
        return True
    if text in ("0", "false", "no", "n", "off", "否", ""):
        return False
    raise Invalid(f"{where}: {value!r} is not yes/no (true/false, 1/0)")


def phrases(value: Any, where: str, *, at_least: int = 0) -> list[str]:
    """Validated phrases from a list or a text of lines (also split on | and ;), de-duplicated in order."""
    if value is None:
        value = []
    if isinstance(value, str):
        value = _SPLIT.split(value)
    if not isinstance(value, list | tuple):
        raise Invalid(f"{where}: expected a list of phrases, got {type(value).__name__}")
    out = list(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))
    if len(out) < at_least:
        raise Invalid(f"{where}: at least {at_least} phrase(s) needed, got {len(out)}")
    if len(out) > MAX_TERMS:
        raise Invalid(f"{where}: at most {MAX_TERMS} phrases allowed, got {len(out)}")
    for p, form in zip(out, normalise_phrases(out), strict=True):
        if len(p) > MAX_PHRASE:
            raise Invalid(f"{where}: phrase {p[:20]!r}… is longer than {MAX_PHRASE} characters")
        if SEPARATOR in p or not form:
            raise Invalid(
                f"{where}: phrase {p!r} has nothing left after normalisation (only symbols/spaces), "
                "so it could never match"
            )
    return out


def category_severity(session: Session, category: ComplianceCategory) -> Severity:
    """The category's default severity (its setting, else the shipped default)."""
    stored = repo.category_settings(session).get(category)
    return stored[1] if stored else SEVERITY_DEFAULTS[category]


def validate_rule(
    body: Mapping[str, Any], where: str, *, default_severity: Severity | None = None
) -> dict[str, Any]:
    """The clean fields of a rule body; Invalid naming the rule, the field and why when one is wrong."""
    unknown = sorted(set(body) - set(RULE_FIELDS) - set(RULE_OPTIONS))
    if unknown:
        raise Invalid(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(RULE_FIELDS)}")
    out: dict[str, Any] = {
        "category": _category(body.get("category"), f"{where} field 'category'", keyword_only=True)
    }
    name = str(body.get("name") or "").strip()
    if not name or len(name) > 100:
        raise Invalid(f"{where} field 'name': must be 1–100 characters, got {len(name)}")
    out["name"] = name
    out["terms"] = phrases(body.get("terms"), f"{where} field 'terms'", at_least=1)
    for key in ("all_terms", "not_terms", "whitelist"):
        out[key] = phrases(body.get(key), f"{where} field {key!r}")
    sev = body.get("severity")
    if sev in (None, "") and default_severity is not None:
        out["severity"] = default_severity
    else:
        out["severity"] = _severity(sev, f"{where} field 'severity'")
    out["collapse_repeats"] = _bool(body.get("collapse_repeats", False), f"{where} field 'collapse_repeats'")
    if "enabled" in body:
        out["enabled"] = _bool(body["enabled"], f"{where} field 'enabled'")
    note = body.get("note")
    out["note"] = str(note).strip() or None if note is not None else None
    return out


def _snapshot(rule: SensitiveRule) -> dict[str, Any]:
    return {
        "category": rule.category.value,
        "name": rule.name,
        "terms": len(rule.terms),
        "severity": rule.severity.value,
        "enabled": rule.enabled,
        "version": rule.version,
    }


def create_rule(
    session: Session, actor: Actor, body: Mapping[str, Any], *, source: str = "console"
) -> SensitiveRule:
    """A new keyword rule (name unique within its category); audited."""
    require_editor(actor, "create rule")
    category = _category(body.get("category"), "new rule field 'category'", keyword_only=True)
    clean = validate_rule(body, "new rule", default_severity=category_severity(session, category))
    if repo.rule_by_name(session, clean["category"], clean["name"]) is not None:
        raise Conflict(
            f"new rule: category {clean['category'].value!r} already has a rule named {clean['name']!r}"
        )
    rule = SensitiveRule(source=source, version=1, updated_by_account_id=actor.account_id, **clean)
    session.add(rule)
    session.flush()
    audit(session, actor, "compliance.rule.create", "sensitive_rule", rule.id, _snapshot(rule))
    return rule


def _rule(session: Session, rule_id: int) -> SensitiveRule:
    rule = repo.rule_by_id(session, rule_id)
    if rule is None:
        raise NotFound(f"rule {rule_id}: no such keyword rule")
    return rule


def edit_rule(session: Session, actor: Actor, rule_id: int, body: Mapping[str, Any]) -> SensitiveRule:
    """Replace a rule's fields (missing fields keep their value); bumps the version; audited."""
    require_editor(actor, f"edit rule {rule_id}")
    rule = _rule(session, rule_id)
    current = {
        "category": rule.category.value,
        "name": rule.name,
        "terms": rule.terms,
        "all_terms": rule.all_terms,
        "not_terms": rule.not_terms,
        "whitelist": rule.whitelist,
        "severity": rule.severity.value,
        "collapse_repeats": rule.collapse_repeats,
        "note": rule.note,
    }
    clean = validate_rule({**current, **body}, f"rule {rule_id}")
    other = repo.rule_by_name(session, clean["category"], clean["name"])
    if other is not None and other.id != rule.id:
        raise Conflict(f"rule {rule_id}: category {clean['category'].value!r} already has {clean['name']!r}")
    before = _snapshot(rule)
    for key, value in clean.items():
        setattr(rule, key, value)
    rule.version += 1
    rule.updated_by_account_id = actor.account_id
    session.flush()
    audit(
        session,
        actor,
        "compliance.rule.edit",
        "sensitive_rule",
        rule.id,
        {"before": before, **_snapshot(rule)},
    )
    return rule


def set_rule_enabled(session: Session, actor: Actor, rule_id: int, enabled: bool) -> SensitiveRule:
    """Enable or disable a rule (bumps the version so engines reload); audited."""
    require_editor(actor, f"{'enable' if enabled else 'disable'} rule {rule_id}")
    rule = _rule(session, rule_id)
    if rule.enabled != enabled:
        rule.enabled = enabled
        rule.version += 1
        rule.updated_by_account_id = actor.account_id
        session.flush()
        action = "compliance.rule.enable" if enabled else "compliance.rule.disable"
        audit(session, actor, action, "sensitive_rule", rule.id, _snapshot(rule))
    return rule


def set_category(
    session: Session,
    actor: Actor,
    category: ComplianceCategory | str,
    *,
    enabled: bool | None = None,
    severity: Severity | str | None = None,
) -> ComplianceCategorySetting:
    """Switch a category on/off and/or set its default severity; audited."""
    cat = _category(category, "category setting", keyword_only=False)
    require_editor(actor, f"change category {cat.value}")
    row = session.get(ComplianceCategorySetting, cat)
    if row is None:
        row = ComplianceCategorySetting(category=cat, enabled=True, severity=SEVERITY_DEFAULTS[cat])
        session.add(row)
    if enabled is not None:
        row.enabled = enabled
    if severity is not None:
        row.severity = _severity(severity, f"category {cat.value} field 'severity'")
    session.flush()
    detail = {"category": cat.value, "enabled": row.enabled, "severity": row.severity.value}
    audit(session, actor, "compliance.category.update", "compliance_category", None, detail)
    return row


def add_whitelist(
    session: Session,
    actor: Actor,
    phrase: str,
    category: ComplianceCategory | str | None = None,
    *,
    from_incident_id: int | None = None,
) -> WhitelistPhrase:
    """A global whitelist phrase for one category (None: all); adding an existing one returns it; audited."""
    require_editor(actor, "add whitelist phrase")
    text = phrases([phrase], "whitelist phrase", at_least=1)[0]
    cat = None if category in (None, "") else _category(category, "whitelist category", keyword_only=False)
    existing = repo.whitelist_phrase(session, text, cat)
    if existing is not None:
        return existing
    row = WhitelistPhrase(
        phrase=text, category=cat, from_incident_id=from_incident_id, created_by_account_id=actor.account_id
    )
    session.add(row)
    session.flush()
    detail = {"phrase": text, "category": cat.value if cat else None, "from_incident_id": from_incident_id}
    audit(session, actor, "compliance.whitelist.add", "sensitive_whitelist", row.id, detail)
    return row


def remove_whitelist(session: Session, actor: Actor, phrase_id: int) -> None:
    """Delete one whitelist phrase; audited."""
    require_editor(actor, f"remove whitelist phrase {phrase_id}")
    row = session.get(WhitelistPhrase, phrase_id)
    if row is None:
        raise NotFound(f"whitelist phrase {phrase_id}: no such phrase")
    detail = {"phrase": row.phrase, "category": row.category.value if row.category else None}
    session.delete(row)
    session.flush()
    audit(session, actor, "compliance.whitelist.remove", "sensitive_whitelist", phrase_id, detail)


def whitelist_from_incident(session: Session, actor: Actor, incident_id: int) -> WhitelistPhrase:
    """One click: whitelist a dismissed incident's matched phrase for its category."""
    require_editor(actor, f"whitelist incident {incident_id}")
    incident = session.scalars(
        select(SensitiveIncident).where(SensitiveIncident.id == incident_id, readable_incidents(actor))
    ).first()
    if incident is None:
        raise NotFound(f"incident {incident_id}: no such incident in your scope")
    if incident.status != IncidentStatus.dismissed:
        raise Conflict(
            f"incident {incident_id}: is {incident.status.value}; only a dismissed incident can be whitelisted"
        )
    if not (incident.matched or "").strip():
        raise Invalid(f"incident {incident_id}: has no matched phrase to whitelist")
    return add_whitelist(
        session, actor, incident.matched or "", incident.category, from_incident_id=incident.id
    )


@lru_cache(maxsize=1)
def shipped_data() -> dict[str, Any]:
    """The default lists shipped in rules_data.json."""
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return data


def install_defaults(session: Session, actor: Actor) -> dict[str, int]:
    """Add the shipped category settings, rules and whitelist that are missing (never overwrites); audited."""
    require_editor(actor, "install default rules")
    data = shipped_data()
    stored = repo.category_settings(session)
    added = {"categories": 0, "rules": 0, "whitelist": 0}
    for key, sev in data["categories"].items():
        cat = ComplianceCategory(key)
        if cat not in stored:
            session.add(ComplianceCategorySetting(category=cat, enabled=True, severity=Severity(sev)))
            added["categories"] += 1
    session.flush()
    existing = {(r.category, r.name) for r in repo.rules(session)}
    for i, body in enumerate(data["rules"]):
        clean = validate_rule(body, f"rules_data.json rule {i + 1}")
        if (clean["category"], clean["name"]) in existing:
            continue
        session.add(
            SensitiveRule(source="builtin", version=1, updated_by_account_id=actor.account_id, **clean)
        )
        added["rules"] += 1
    have = {(w.phrase, w.category) for w in repo.whitelist(session)}
    for item in data["whitelist"]:
        wcat = ComplianceCategory(item["category"]) if item["category"] else None
        if (item["phrase"], wcat) not in have:
            session.add(
                WhitelistPhrase(phrase=item["phrase"], category=wcat, created_by_account_id=actor.account_id)
            )
            added["whitelist"] += 1
    session.flush()
    if any(added.values()):
        audit(session, actor, "compliance.rules.install_defaults", "sensitive_rule", None, added)
    return added
