"""The 合规 console: incident list (filters, per-staff counts, trend), incident detail (chat, review, whitelist)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from siyu.compliance import incidents_query as q
from siyu.compliance import review_service
from siyu.compliance.access import REOPEN, REVIEW, ROWS, SUMMARY, TABS, may_read_chat
from siyu.errors import Invalid
from siyu.models import OrgUnit, Staff
from siyu.models.compliance import ComplianceCategory, IncidentStatus, SensitiveIncident, Severity
from siyu.org import repository as org_repo
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.overview_views import chart_json
from siyu.web.render import gettext_for, register_nav, render, wants_fragment

router = APIRouter(include_in_schema=False)
SummaryViewer = Annotated[Viewer, Depends(require_access(SUMMARY))]
RowsViewer = Annotated[Viewer, Depends(require_access(ROWS))]
ReviewViewer = Annotated[Viewer, Depends(require_access(REVIEW))]
register_nav("compliance", N_("Compliance"), "/compliance", order=70, access=SUMMARY)
PAGE_SIZE = 50

CATEGORY_LABELS = {
    ComplianceCategory.abuse: N_("Abusing customers"),
    ComplianceCategory.private_deal: N_("Private deals"),
    ComplianceCategory.diverted_order: N_("Diverted orders"),
    ComplianceCategory.forbidden_promise: N_("Forbidden promises"),
    ComplianceCategory.competitor: N_("Competitor mentions"),
    ComplianceCategory.contact: N_("Contact details"),
    ComplianceCategory.payment: N_("Private payment"),
    ComplianceCategory.link: N_("Outside links"),
    ComplianceCategory.behaviour: N_("Behaviour"),
}
SEVERITY_LABELS = {Severity.low: N_("Low"), Severity.medium: N_("Medium"), Severity.high: N_("High")}
STATUS_LABELS = {
    IncidentStatus.open: N_("Open"),
    IncidentStatus.confirmed: N_("Confirmed"),
    IncidentStatus.dismissed: N_("Dismissed"),
}
DIRECTION_LABELS = {
    "staff_to_customer": N_("Staff"),
    "staff_to_group": N_("Staff in group"),
    "customer_to_staff": N_("Customer"),
    "customer_to_group": N_("Customer in group"),
    "other": N_("Other"),
}
# Detectors named in contract.Finding; an unknown one shows its code.
DETECTOR_LABELS = {
    "keyword": N_("Keyword rule"),
    "phone": N_("Mobile number"),
    "phone_split": N_("Mobile number over two messages"),
    "wechat_id": N_("WeChat ID"),
    "add_contact": N_("Asks to add contact"),
    "bank_card": N_("Bank card"),
    "alipay": N_("Alipay account"),
    "payment_msg": N_("Payment message"),
    "shop_link": N_("Link to another shop"),
    "short_link": N_("Short link"),
    "link": N_("Link"),
    "classifier": N_("Abuse model"),
    "staff_deleted_customer": N_("Staff deleted a customer"),
    "customer_deleted_staff": N_("Customer deleted the staff member"),
    "after_hours": N_("Message outside working hours"),
    "unanswered": N_("Customer left unanswered"),
}
LABELS = {
    "DETECTOR_LABELS": DETECTOR_LABELS,
    "CATEGORY_LABELS": CATEGORY_LABELS,
    "SEVERITY_LABELS": SEVERITY_LABELS,
    "STATUS_LABELS": STATUS_LABELS,
    "DIRECTION_LABELS": DIRECTION_LABELS,
}


def tabs(viewer: Viewer) -> list[tuple[str, str, str]]:
    """(key, label msgid, path) of the compliance tabs this viewer may open."""
    return [(key, label, path) for key, label, path, access in TABS if access.allows(viewer.actor)]


def _day(value: str, where: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _int(value: str, where: str) -> int | None:
    if not value:
        return None
    if not value.strip().isdigit():
        raise Invalid(f"{where}: {value!r} is not an id")
    return int(value)


def _choice(kind: Any, value: str, where: str) -> Any:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not one of {', '.join(kind)}") from None


FILTER_KEYS = ("status", "category", "severity", "staff", "unit", "first", "last", "detector")


def filter_from(params: dict[str, str]) -> q.IncidentFilter:
    """The IncidentFilter of the page's (or the API's) query parameters."""
    return q.make_filter(
        _day(params.get("first", ""), "first"),
        _day(params.get("last", ""), "last"),
        status=_choice(IncidentStatus, params.get("status", ""), "status"),
        category=_choice(ComplianceCategory, params.get("category", ""), "category"),
        severity=_choice(Severity, params.get("severity", ""), "severity"),
        staff_id=_int(params.get("staff", ""), "staff"),
        unit_id=_int(params.get("unit", ""), "unit"),
        detector=params.get("detector") or None,
    )


def trend_chart(f: q.IncidentFilter, series: dict[ComplianceCategory, list[int]], _: Any) -> Any:
    """The daily trend, stacked by category, as an ECharts option for [data-chart]."""
    option = {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll"},
        "grid": {"left": 40, "right": 16, "bottom": 32, "top": 40},
        "xAxis": {"type": "category", "data": [d.isoformat() for d in f.days]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {"name": _(CATEGORY_LABELS[c]), "type": "bar", "stack": "total", "data": data}
            for c, data in series.items()
        ],
    }
    return chart_json(option)


@router.get("/compliance", response_class=HTMLResponse)
def incidents_page(
    request: Request,
    session: SessionDep,
    viewer: SummaryViewer,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Incidents in the viewer's scope: filters, counts by status, per-staff table, daily trend and the list."""
    params = {k: str(request.query_params.get(k) or "").strip()[:40] for k in FILTER_KEYS}
    f = filter_from(params)
    actor = viewer.actor
    rows = q.list_incidents(session, actor, f, page=page, size=PAGE_SIZE) if ROWS.allows(actor) else None
    staff_options = session.execute(
        select(Staff.id, Staff.name).where(org_repo.readable_staff(actor)).order_by(Staff.name).limit(500)
    ).all()
    units = session.execute(
        select(OrgUnit.id, OrgUnit.name, OrgUnit.depth)
        .where(org_repo.readable_units(actor))
        .order_by(OrgUnit.path)
    ).all()
    _ = gettext_for(request)
    series = q.trend(session, actor, f)
    kept = {k: v for k, v in params.items() if v}
    context: dict[str, Any] = {
        **LABELS,
        "tabs": tabs(viewer),
        "tab": "incidents",
        "f": f,
        "params": params,
        "rows": rows,
        "counts": q.status_counts(session, actor, f),
        "per_staff": q.per_staff(session, actor, f),
        "series": series,
        "trend_chart": trend_chart(f, series, _),
        "staff_options": staff_options,
        "units": units,
        "detectors": q.detectors(session, actor),
        "page_url": lambda n: "/compliance?" + urlencode({**kept, "page": n}),
        "may_read": may_read_chat(actor),
    }
    return render(request, "compliance/incidents.html", context)


def _detail_context(
    session: Any, viewer: Viewer, incident: SensitiveIncident, *, reveal: bool = False
) -> dict[str, Any]:
    actor = viewer.actor
    chat = review_service.view_chat(session, actor, incident, reveal=reveal) if may_read_chat(actor) else None
    names = q.staff_names(session, {incident.staff_id} if incident.staff_id else set())
    customers = q.customer_names(session, {incident.customer_id} if incident.customer_id else set())
    reviewer = review_service.reviewer_names(
        session, {incident.reviewer_account_id} if incident.reviewer_account_id else set()
    )
    unit = org_repo.unit_briefs(session, [incident.unit_id] if incident.unit_id else [])
    return {
        **LABELS,
        "tabs": tabs(viewer),
        "tab": "incidents",
        "i": incident,
        "chat": chat,
        "may_read": may_read_chat(actor),
        "may_reveal": actor.may_reveal_phone,
        "staff_name": names.get(incident.staff_id or 0),
        "customer_name": customers.get(incident.customer_id or 0),
        "reviewer_name": reviewer.get(incident.reviewer_account_id or 0),
        "unit_name": unit.get(incident.unit_id or 0, {}).get("name"),
        "history": review_service.history(session, incident.id),
        "may_review": REVIEW.allows(actor),
        "may_reopen": REOPEN.allows(actor),
        "may_whitelist": review_service.may_whitelist(actor, incident),
    }


@router.get("/compliance/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    request: Request, session: SessionDep, viewer: RowsViewer, incident_id: int
) -> HTMLResponse:
    """One incident: the highlighted message in its conversation (audited), rule, status history, review."""
    incident = review_service.get_incident(session, viewer.actor, incident_id)
    context = _detail_context(session, viewer, incident)
    session.commit()  # the chat.view audit row
    return render(request, "compliance/incident.html", context)


@router.post("/compliance/incidents/{incident_id}/reveal", response_class=HTMLResponse)
def reveal_chat(
    request: Request, session: SessionDep, viewer: ReviewViewer, incident_id: int
) -> HTMLResponse:
    """The chat with phone numbers shown, for a role that may reveal them; audited."""
    incident = review_service.get_incident(session, viewer.actor, incident_id)
    context = _detail_context(session, viewer, incident, reveal=True)
    session.commit()
    return render(request, "compliance/incident.html", context, fragment="chat")


@router.post("/compliance/incidents/{incident_id}/review", response_model=None)
def review_incident(
    request: Request,
    session: SessionDep,
    viewer: ReviewViewer,
    incident_id: int,
    status: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Confirm, dismiss or reopen; htmx gets the review panel back."""
    incident = review_service.review(session, viewer.actor, incident_id, status, note)
    session.commit()
    if not wants_fragment(request):
        return RedirectResponse(f"/compliance/incidents/{incident_id}", 303)
    context = _review_context(session, viewer, incident)
    _ = gettext_for(request)
    toast = _("Incident marked %(status)s.") % {"status": _(STATUS_LABELS[incident.status])}
    return render(
        request, "compliance/incident.html", context, fragment="review", toasts=[("success", toast)]
    )


def _review_context(session: Any, viewer: Viewer, incident: SensitiveIncident) -> dict[str, Any]:
    reviewer = review_service.reviewer_names(
        session, {incident.reviewer_account_id} if incident.reviewer_account_id else set()
    )
    return {
        **LABELS,
        "i": incident,
        "reviewer_name": reviewer.get(incident.reviewer_account_id or 0),
        "history": review_service.history(session, incident.id),
        "may_review": REVIEW.allows(viewer.actor),
        "may_reopen": REOPEN.allows(viewer.actor),
        "may_whitelist": review_service.may_whitelist(viewer.actor, incident),
    }


@router.post("/compliance/incidents/{incident_id}/whitelist", response_model=None)
def whitelist_incident(
    request: Request, session: SessionDep, viewer: ReviewViewer, incident_id: int
) -> Response:
    """Excuse the phrase of a dismissed keyword / pattern incident from now on (one click)."""
    phrase = review_service.whitelist(session, viewer.actor, incident_id)
    session.commit()
    if not wants_fragment(request):
        return RedirectResponse(f"/compliance/incidents/{incident_id}", 303)
    incident = review_service.get_incident(session, viewer.actor, incident_id)
    context = {**_review_context(session, viewer, incident), "whitelisted": phrase}
    _ = gettext_for(request)
    toast = _("Whitelisted: %(phrase)s") % {"phrase": phrase}
    return render(
        request, "compliance/incident.html", context, fragment="review", toasts=[("success", toast)]
    )
