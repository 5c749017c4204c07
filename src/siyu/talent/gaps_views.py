"""The /talent/gaps console page: thresholds and unit in the query string, the three sections of findings."""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from siyu.models import OrgUnit
from siyu.org import repository as org_repo
from siyu.performance.kpi_views import STAGE_LABELS
from siyu.talent.access import ASSESS, GAPS
from siyu.talent.gaps import FindingKind, GapThresholds, Section, Severity
from siyu.talent.gaps_service import gap_report, thresholds_from
from siyu.talent.roles_catalog import catalog
from siyu.talent.views import tabs
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import render, request_locale

router = APIRouter(include_in_schema=False)
GapsViewer = Annotated[Viewer, Depends(require_access(GAPS))]
PAGE = "talent/gaps.html"

SECTION_LABELS = {
    Section.missing: N_("Roles missing for the current stage"),
    Section.overloaded: N_("Overloaded people"),
    Section.single_point: N_("Single points of failure"),
}
KIND_LABELS = {
    FindingKind.missing_role: N_("Role without a holder"),
    FindingKind.store_role_missing: N_("Store post unfilled"),
    FindingKind.short_headcount: N_("Short of the starting team"),
    FindingKind.overloaded_customers: N_("Too many customers"),
    FindingKind.overloaded_tasks: N_("Too many open tasks"),
    FindingKind.single_holder: N_("Role held by one person"),
    FindingKind.single_guide_store: N_("Store with one guide"),
    FindingKind.customer_concentration: N_("Customers concentrated on one person"),
}
SEVERITY_LABELS = {Severity.high: N_("High"), Severity.medium: N_("Medium"), Severity.low: N_("Low")}
THRESHOLD_LABELS = {
    "customers_per_guide": N_("Customers per guide above"),
    "open_tasks_per_person": N_("Open tasks per person above"),
    "owner_share_pct": N_("One person's share of a store's customers above, in percent"),
    "min_store_customers": N_("Judge shares only in stores with at least (customers)"),
}
NUMBER_LABELS = {
    "holders": N_("Holders"),
    "recommended": N_("Recommended"),
    "short": N_("Short by"),
    "customers": N_("Customers"),
    "threshold": N_("Threshold"),
    "median": N_("Team median"),
    "open": N_("Open tasks"),
    "overdue": N_("Overdue"),
    "guides": N_("Guides"),
    "owned": N_("Owned"),
    "store_customers": N_("Store customers"),
    "share_pct": N_("Share, percent"),
    "threshold_pct": N_("Threshold, percent"),
}
TOTAL_LABELS = {
    "active_staff": N_("Active staff"),
    "guides": N_("Guides"),
    "stores": N_("Stores"),
    "customers_owned": N_("Customers owned"),
    "open_tasks": N_("Open tasks"),
    "overdue_tasks": N_("Overdue tasks"),
}


def subject_href(subject_type: str, subject_id: int | None, code: str, history: bool) -> str | None:
    """A finding subject's link: role page, the person's history (else their customers), the store's customers."""
    if subject_type == "role":
        return f"/talent/roles/{code}"
    if subject_type == "staff" and subject_id is not None:
        return f"/talent/staff/{subject_id}" if history else f"/customers?owner={subject_id}"
    if subject_type == "unit" and subject_id is not None:
        return f"/customers?store={subject_id}"
    return None


@router.get("/talent/gaps", response_class=HTMLResponse)
def gaps_page(
    request: Request,
    session: SessionDep,
    viewer: GapsViewer,
    unit: Annotated[str, Query(max_length=64)] = "",
    customers_per_guide: Annotated[str, Query(max_length=12)] = "",
    open_tasks_per_person: Annotated[str, Query(max_length=12)] = "",
    owner_share_pct: Annotated[str, Query(max_length=12)] = "",
    min_store_customers: Annotated[str, Query(max_length=12)] = "",
) -> HTMLResponse:
    """Missing roles, overloaded people and single points of failure within the viewer's scope."""
    thresholds = thresholds_from(
        {
            "customers_per_guide": customers_per_guide,
            "open_tasks_per_person": open_tasks_per_person,
            "owner_share_pct": owner_share_pct,
            "min_store_customers": min_store_customers,
        }
    )
    report = gap_report(session, viewer.actor, thresholds, unit or None)
    units = session.execute(
        select(OrgUnit.code, OrgUnit.name, OrgUnit.depth)
        .where(org_repo.readable_units(viewer.actor))
        .order_by(OrgUnit.path)
    ).all()
    defaults = GapThresholds()
    zh = request_locale(request).startswith("zh")
    role_names = {e.code: e.name_zh if zh else e.name_en for e in catalog(session, include_inactive=True)}
    context: dict[str, Any] = {
        "tabs": tabs(viewer),
        "tab": "gaps",
        "zh": zh,
        "report": report,
        "role_names": role_names,
        "sections": [(s, SECTION_LABELS[s], report.section(s)) for s in Section],
        "units": units,
        "chosen_unit": unit,
        "threshold_fields": [
            (f.name, THRESHOLD_LABELS[f.name], getattr(thresholds, f.name), getattr(defaults, f.name))
            for f in fields(GapThresholds)
        ],
        "STAGE_LABELS": STAGE_LABELS,
        "KIND_LABELS": KIND_LABELS,
        "SEVERITY_LABELS": SEVERITY_LABELS,
        "NUMBER_LABELS": NUMBER_LABELS,
        "TOTAL_LABELS": TOTAL_LABELS,
        "subject_href": subject_href,
        "history": ASSESS.allows(viewer.actor),
    }
    return render(request, PAGE, context)
