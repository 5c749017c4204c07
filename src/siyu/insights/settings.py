"""Versioned insights settings: the latest saved version, or the defaults when none is saved."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.errors import Invalid
from siyu.insights.contract import InsightSettings
from siyu.models.insights import InsightSettingsVersion
from siyu.org.permissions import Actor


def load_settings(session: Session) -> tuple[int | None, InsightSettings]:
    """The settings in force and their version (None when the defaults have never been saved)."""
    row = session.scalars(
        select(InsightSettingsVersion).order_by(InsightSettingsVersion.version.desc()).limit(1)
    ).first()
    if row is None:
        return None, InsightSettings()
    return row.version, InsightSettings.model_validate(row.value)


def parse_settings(value: dict[str, Any]) -> InsightSettings:
    """Validate a settings document, naming the bad field."""
    try:
        return InsightSettings.model_validate(value)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]), "reason": err["msg"]} for err in exc.errors()
        ]
        first = details[0]
        raise Invalid(f"insights settings: {first['field']}: {first['reason']}", details=details) from exc


def save_settings(session: Session, actor: Actor, settings: InsightSettings, note: str | None = None) -> int:
    """Store settings as a new version (audited); returns the version number."""
    latest = session.scalar(select(func.max(InsightSettingsVersion.version))) or 0
    version = latest + 1
    session.add(
        InsightSettingsVersion(
            version=version,
            value=settings.model_dump(mode="json"),
            note=note,
            created_at=datetime.now(UTC),
            created_by_account_id=actor.account_id,
        )
    )
    session.flush()
    audit(session, actor, "insights.settings", "insight_settings", version, {"version": version})
    return version
