"""Compliance metrics: confirmed sensitive-behaviour incidents, one grouped query."""

from __future__ import annotations

from sqlalchemy import func, select

from siyu.models.compliance import IncidentStatus, SensitiveIncident
from siyu.performance.repository import Ctx, Facts


def incident_facts(ctx: Ctx) -> Facts:
    """Per incident staff and unit: confirmed incidents that occurred in the period."""
    i = SensitiveIncident
    query = (
        select(i.staff_id, i.unit_id, func.count())
        .where(i.status == IncidentStatus.confirmed, i.occurred_at >= ctx.start, i.occurred_at < ctx.end)
        .group_by(i.staff_id, i.unit_id)
    )
    rows = [(r[0], r[1], (int(r[2]),)) for r in ctx.session.execute(query)]
    return Facts(("confirmed_incidents",), rows)
