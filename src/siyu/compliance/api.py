"""JSON routes for compliance review under /api/v1/compliance: incidents (scoped), review, summary, rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, IdPath, RevealQuery
from siyu.compliance import incidents_query as q
from siyu.compliance import review_service
from siyu.compliance.access import REVIEW, ROWS, RULES_READ, SUMMARY, Segment, masked_text, may_read_chat
from siyu.errors import Forbidden
from siyu.models.compliance import (
    ComplianceCategory,
    IncidentStatus,
    SensitiveIncident,
    SensitiveRule,
    Severity,
)
from siyu.org.permissions import Actor
from siyu.web.access import PageAccess

router = APIRouter(responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAG = "compliance"


def _allowed(access: PageAccess) -> Callable[[Actor], Actor]:
    def dependency(actor: ActorDep) -> Actor:
        if not access.allows(actor):
            raise Forbidden(f"role {actor.role.value!r} may not use this compliance endpoint")
        return actor

    return dependency


RowsActor = Annotated[Actor, Depends(_allowed(ROWS))]
SummaryActor = Annotated[Actor, Depends(_allowed(SUMMARY))]
ReviewActor = Annotated[Actor, Depends(_allowed(REVIEW))]
RulesActor = Annotated[Actor, Depends(_allowed(RULES_READ))]


class IncidentOut(BaseModel):
    """An incident as listed: who, what, when, status; `matched` only for roles that read chats."""

    id: int
    occurred_at: datetime
    category: ComplianceCategory
    severity: Severity
    detector: str
    rule_id: int | None
    rule_key: str
    staff_id: int | None
    staff_name: str | None
    customer_id: int | None
    unit_id: int | None
    message_id: int | None
    status: IncidentStatus
    reviewer_account_id: int | None
    reviewed_at: datetime | None
    review_note: str | None
    matched: str | None = Field(None, description="the matched phrase (normalised); contact/payment masked")


class IncidentPageOut(BaseModel):
    """A page of incidents, newest first."""

    items: list[IncidentOut]
    total: int
    page: int
    size: int


class MessageOut(BaseModel):
    """A chat message of the incident; phone numbers masked unless revealed."""

    id: int
    sent_at: datetime
    direction: str
    msg_type: str
    recalled: bool
    text: str
    own: bool = Field(description="part of the incident (else conversation context)")
    highlight: list[tuple[int, int]] = Field(description="[start, end) of the matched span(s) in text")


class IncidentDetailOut(IncidentOut):
    """One incident with its conversation (only for roles that read chats; each call audited)."""

    messages: list[MessageOut] | None = None


class ReviewIn(BaseModel):
    """A review decision: confirmed / dismissed, or open to reopen (lead only)."""

    status: IncidentStatus
    note: str | None = Field(None, max_length=2000)


class StaffCountOut(BaseModel):
    """A staff member's incidents by status."""

    staff_id: int | None
    name: str
    open: int
    confirmed: int
    dismissed: int
    total: int


class SummaryOut(BaseModel):
    """Counts for a period in the caller's scope."""

    first: date
    last: date
    by_status: dict[str, int]
    by_category: dict[str, int]
    by_staff: list[StaffCountOut]


class RuleOut(BaseModel):
    """A keyword rule."""

    id: int
    category: ComplianceCategory
    name: str
    terms: list[str]
    all_terms: list[str]
    not_terms: list[str]
    whitelist: list[str]
    severity: Severity
    enabled: bool
    collapse_repeats: bool
    source: str
    version: int


def _out(i: SensitiveIncident, staff_name: str | None, may_read: bool) -> IncidentOut:
    matched = None
    if may_read and i.matched:
        hide = i.category in (ComplianceCategory.contact, ComplianceCategory.payment)
        matched = masked_text(i.matched, [(0, len(i.matched), i.detector)]) if hide else i.matched
    return IncidentOut(
        id=i.id,
        occurred_at=i.occurred_at,
        category=i.category,
        severity=i.severity,
        detector=i.detector,
        rule_id=i.rule_id,
        rule_key=i.rule_key,
        staff_id=i.staff_id,
        staff_name=staff_name,
        customer_id=i.customer_id,
        unit_id=i.unit_id,
        message_id=i.message_id,
        status=i.status,
        reviewer_account_id=i.reviewer_account_id,
        reviewed_at=i.reviewed_at,
        review_note=i.review_note,
        matched=matched,
    )


def _filter(
    first: date | None,
    last: date | None,
    status: IncidentStatus | None = None,
    category: ComplianceCategory | None = None,
    severity: Severity | None = None,
    staff: int | None = None,
    unit: int | None = None,
    detector: str | None = None,
) -> q.IncidentFilter:
    return q.make_filter(
        first,
        last,
        status=status,
        category=category,
        severity=severity,
        staff_id=staff,
        unit_id=unit,
        detector=detector,
    )


@router.get("/compliance/incidents", response_model=IncidentPageOut, tags=[TAG])
def list_incidents(
    session: SessionDep,
    actor: RowsActor,
    first: date | None = None,
    last: date | None = None,
    status: IncidentStatus | None = None,
    category: ComplianceCategory | None = None,
    severity: Severity | None = None,
    staff: Annotated[int | None, Query(description="staff id")] = None,
    unit: Annotated[int | None, Query(description="org unit id; its whole subtree")] = None,
    detector: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> IncidentPageOut:
    """Incidents in the caller's scope, newest first (no chat text here; analysts use /summary)."""
    f = _filter(first, last, status, category, severity, staff, unit, detector)
    found = q.list_incidents(session, actor, f, page=page, size=size)
    may_read = may_read_chat(actor)
    items = [_out(r.incident, r.staff_name, may_read) for r in found.rows]
    return IncidentPageOut(items=items, total=found.total, page=page, size=size)


@router.get("/compliance/incidents/{incident_id}", response_model=IncidentDetailOut, tags=[TAG])
def get_incident(
    incident_id: IdPath, session: SessionDep, actor: RowsActor, reveal: RevealQuery = False
) -> IncidentDetailOut:
    """One incident; roles that read chats also get its messages (phones masked unless ?reveal=true), audited."""
    incident = review_service.get_incident(session, actor, incident_id)
    names = q.staff_names(session, {incident.staff_id} if incident.staff_id else set())
    may_read = may_read_chat(actor)
    detail = IncidentDetailOut(**_out(incident, names.get(incident.staff_id or 0), may_read).model_dump())
    if may_read:
        chat = review_service.view_chat(session, actor, incident, reveal=reveal)
        detail.messages = [
            MessageOut(
                id=m.id,
                sent_at=m.sent_at,
                direction=m.direction,
                msg_type=m.msg_type,
                recalled=m.recalled,
                text="".join(s.text for s in m.segments),
                own=m.own,
                highlight=_spans(m.segments),
            )
            for m in chat.all
        ]
        session.commit()  # the chat.view audit row
    return detail


def _spans(segments: list[Segment]) -> list[tuple[int, int]]:
    spans, at = [], 0
    for s in segments:
        if s.hit:
            spans.append((at, at + len(s.text)))
        at += len(s.text)
    return spans


@router.post("/compliance/incidents/{incident_id}/review", response_model=IncidentOut, tags=[TAG])
def review_incident(
    incident_id: IdPath, data: ReviewIn, session: SessionDep, actor: ReviewActor
) -> IncidentOut:
    """Confirm or dismiss an open incident with a note; status "open" reopens (lead only). Audited."""
    incident = review_service.review(session, actor, incident_id, data.status, data.note)
    session.commit()
    names = q.staff_names(session, {incident.staff_id} if incident.staff_id else set())
    return _out(incident, names.get(incident.staff_id or 0), may_read_chat(actor))


@router.get("/compliance/summary", response_model=SummaryOut, tags=[TAG])
def summary(
    session: SessionDep,
    actor: SummaryActor,
    first: date | None = None,
    last: date | None = None,
    unit: Annotated[int | None, Query(description="org unit id; its whole subtree")] = None,
    category: ComplianceCategory | None = None,
) -> SummaryOut:
    """Incidents per status, category and staff member for a period (default the last 30 days), in scope."""
    f = _filter(first, last, category=category, unit=unit)
    by_staff = [
        StaffCountOut(
            staff_id=row.staff_id,
            name=row.name,
            open=row.counts[IncidentStatus.open],
            confirmed=row.counts[IncidentStatus.confirmed],
            dismissed=row.counts[IncidentStatus.dismissed],
            total=row.total,
        )
        for row in q.per_staff(session, actor, f)
    ]
    return SummaryOut(
        first=f.first,
        last=f.last,
        by_status={s.value: n for s, n in q.status_counts(session, actor, f).items()},
        by_category={c.value: n for c, n in q.category_counts(session, actor, f).items()},
        by_staff=by_staff,
    )


@router.get("/compliance/rules", response_model=list[RuleOut], tags=[TAG])
def list_rules(
    session: SessionDep, actor: RulesActor, category: ComplianceCategory | None = None
) -> list[RuleOut]:
    """Keyword rules by category and name."""
    query = select(SensitiveRule).order_by(SensitiveRule.category, SensitiveRule.name, SensitiveRule.id)
    if category is not None:
        query = query.where(SensitiveRule.category == category)
    return [
        RuleOut(
            id=r.id,
            category=r.category,
            name=r.name,
            terms=[str(t) for t in r.terms],
            all_terms=[str(t) for t in r.all_terms or []],
            not_terms=[str(t) for t in r.not_terms or []],
            whitelist=[str(t) for t in r.whitelist or []],
            severity=r.severity,
            enabled=r.enabled,
            collapse_repeats=r.collapse_repeats,
            source=r.source,
            version=r.version,
        )
        for r in session.scalars(query)
    ]
