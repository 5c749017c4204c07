"""The 客户 pages: the filtered customer list (bulk tags, export) and Customer 360 (/customers/{id})."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select

from siyu.customers import repository as repo
from siyu.customers import service, tags
from siyu.customers.export import FORMATS, write_export
from siyu.errors import Invalid
from siyu.insights.repository import customer_card
from siyu.models import AcquisitionSource, Channel, LifecycleStage, OrgUnit, Staff
from siyu.org import repository as org_repo
from siyu.org.permissions import PermissionRole
from siyu.privacy import mask_phone
from siyu.web.auth import SessionDep, Viewer, require_roles
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, register_nav, render

CUSTOMER_ROLES = tuple(PermissionRole)
CustomerViewer = Annotated[Viewer, Depends(require_roles(*CUSTOMER_ROLES))]
PAGE_SIZE = 50
MESSAGES = 20
TASKS = 20
E = TypeVar("E", bound=StrEnum)

router = APIRouter(include_in_schema=False)
register_nav("customers", N_("Customers"), "/customers", order=20, roles=CUSTOMER_ROLES)

SORT_LABELS = {
    "id": N_("ID"),
    "name": N_("Name"),
    "source": N_("Source"),
    "lifecycle_stage": N_("Stage"),
    "first_seen_at": N_("First seen"),
}
LABELS = {"SORT_LABELS": SORT_LABELS}


def _enum(kind: type[E], value: str | None, where: str) -> E | None:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not one of {', '.join(kind)}") from None


def _int(value: str | None, where: str) -> int | None:
    if not value:
        return None
    if not value.strip().isdigit():
        raise Invalid(f"{where}: {value!r} is not an id")
    return int(value)


def _query(params: dict[str, str]) -> service.CustomerQuery:
    return service.CustomerQuery(
        q=params.get("q") or None,
        phone=params.get("phone") or None,
        tag=params.get("tag") or None,
        source=_enum(AcquisitionSource, params.get("source"), "source"),
        channel=_enum(Channel, params.get("channel"), "channel"),
        owner_staff_id=_int(params.get("owner"), "owner"),
        store_id=_int(params.get("store"), "store"),
        lifecycle_stage=_enum(LifecycleStage, params.get("stage"), "stage"),
    )


FILTER_KEYS = ("q", "phone", "tag", "source", "channel", "owner", "store", "stage")


def _params(source: Any) -> dict[str, str]:
    return {k: str(source.get(k) or "").strip()[:200] for k in (*FILTER_KEYS, "sort", "dir", "cursor")}


def _options(session: Any, viewer: Viewer) -> dict[str, Any]:
    actor = viewer.actor
    stores = session.execute(
        select(OrgUnit.id, OrgUnit.name).where(org_repo.readable_units(actor)).order_by(OrgUnit.path)
    ).all()
    staff = session.execute(
        select(Staff.id, Staff.name).where(org_repo.readable_staff(actor)).order_by(Staff.name).limit(500)
    ).all()
    return {"stores": stores, "staff": staff, "tag_groups": tags.list_groups(session)}


def _results(session: Any, viewer: Viewer, params: dict[str, str]) -> dict[str, Any]:
    sort = params["sort"] or "id"
    desc = params["dir"] == "desc"
    rows, next_cursor = service.sorted_page(
        session,
        viewer.actor,
        _query(params),
        sort=sort,
        desc=desc,
        cursor=params["cursor"] or None,
        limit=PAGE_SIZE,
    )
    ids = [c.id for c in rows]
    phones = repo.first_phones(session, ids)
    return {
        "rows": rows,
        "phones": {i: mask_phone(p) for i, p in phones.items()},
        "row_tags": repo.tags_of(session, ids),
        "owners": repo.staff_names(session, [c.owner_staff_id for c in rows if c.owner_staff_id]),
        "units": repo.unit_names(session, [c.home_store_id for c in rows if c.home_store_id]),
        "params": params,
        "sort": sort,
        "desc": desc,
        "next_cursor": next_cursor,
        "filter_qs": urlencode({k: params[k] for k in FILTER_KEYS if params[k]}),
    }


@router.get("/customers", response_class=HTMLResponse)
def customer_list(request: Request, session: SessionDep, viewer: CustomerViewer) -> HTMLResponse:
    """The customer list; an htmx request (filters, sort, paging) gets only the results table."""
    params = _params(request.query_params)
    context = {**LABELS, **_options(session, viewer), **_results(session, viewer, params)}
    return render(request, "customers/list.html", context, fragment="results")


@router.post("/customers/bulk-tag")
async def bulk_tag(request: Request, session: SessionDep, viewer: CustomerViewer) -> Response:
    """Add or remove one tag on the selected customers (events and an audit row through the tags service)."""
    form = await request.form()
    ids = [_int(str(v), "customer_ids") for v in form.getlist("customer_ids")]
    tag_id = _int(str(form.get("tag_id") or ""), "tag_id")
    action = str(form.get("action") or "add")
    customer_ids = [i for i in ids if i is not None]
    if tag_id is None or not customer_ids or action not in ("add", "remove"):
        raise Invalid("bulk: choose customers, a tag and add or remove")
    change = tags.tag_customers(session, viewer.actor, tag_id, customer_ids, remove=action == "remove")
    session.commit()
    _ = gettext_for(request)
    done = len(change.removed if action == "remove" else change.added)
    message = _("%(n)s customers changed") % {"n": done}
    if not request.headers.get("HX-Request"):
        return RedirectResponse("/customers", status_code=303)
    params = _params(form)
    context = {**LABELS, **_options(session, viewer), **_results(session, viewer, params)}
    return render(request, "customers/list.html", context, fragment="results", toasts=[("success", message)])


@router.get("/customers/export")
def export(
    request: Request,
    session: SessionDep,
    viewer: CustomerViewer,
    fmt: Annotated[str, Query(max_length=8)] = "csv",
) -> StreamingResponse:
    """The current filter as CSV or XLSX, scope-limited, masked unless the role may reveal, audited."""
    if fmt not in FORMATS:
        raise Invalid(f"fmt: {fmt!r} is not one of {', '.join(FORMATS)}")
    query = _query(_params(request.query_params))
    out, _count = write_export(session, viewer.actor, query, fmt)
    session.commit()
    media = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )

    def chunks() -> Any:
        try:
            while block := out.read(64 * 1024):
                yield block
        finally:
            out.close()

    headers = {"Content-Disposition": f'attachment; filename="customers.{fmt}"', "Cache-Control": "no-store"}
    return StreamingResponse(chunks(), media_type=media, headers=headers)


def _profile(session: Any, viewer: Viewer, customer_id: int) -> dict[str, Any]:
    detail = service.customer_detail(session, viewer.actor, customer_id, reveal=False)
    store = repo.unit_names(session, [detail.home_store_id]) if detail.home_store_id else {}
    return {
        **LABELS,
        "c": detail,
        "store_name": store.get(detail.home_store_id or 0),
        "messages": repo.recent_messages(session, customer_id, MESSAGES + 1),
        "msg_offset": 0,
        "msg_page": MESSAGES,
        "tasks": repo.customer_tasks(session, customer_id, TASKS),
        "tag_groups": tags.list_groups(session),
        "may_reveal": viewer.actor.may_reveal_phone,
        "insight": customer_card(session, viewer.actor, customer_id),
    }


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_360(
    request: Request, session: SessionDep, viewer: CustomerViewer, customer_id: int
) -> HTMLResponse:
    """Customer 360; unknown or out-of-scope ids are a 404."""
    return render(request, "customers/detail.html", _profile(session, viewer, customer_id))


@router.get("/customers/{customer_id}/messages", response_class=HTMLResponse)
def more_messages(
    request: Request,
    session: SessionDep,
    viewer: CustomerViewer,
    customer_id: int,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> HTMLResponse:
    """The next page of messages, for the "show more" button."""
    service.get_readable(session, viewer.actor, customer_id)
    context = {
        "c": {"id": customer_id},
        "messages": repo.recent_messages(session, customer_id, MESSAGES + 1, offset),
        "msg_offset": offset,
        "msg_page": MESSAGES,
    }
    return render(request, "customers/detail.html", context, fragment="message_rows")


def _tags_fragment(
    request: Request, session: Any, viewer: Viewer, customer_id: int, note: str
) -> HTMLResponse:
    context = _profile(session, viewer, customer_id)
    _ = gettext_for(request)
    return render(request, "customers/detail.html", context, fragment="tags", toasts=[("success", _(note))])


@router.post("/customers/{customer_id}/tags", response_class=HTMLResponse)
def add_tag(
    request: Request,
    session: SessionDep,
    viewer: CustomerViewer,
    customer_id: int,
    tag_id: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    """Put a tag on the customer."""
    chosen = _int(tag_id, "tag_id")
    if chosen is None:
        raise Invalid("tag_id: choose a tag")
    service.get_readable(session, viewer.actor, customer_id)
    tags.tag_customer(session, viewer.actor, customer_id, [chosen], remove=False)
    session.commit()
    return _tags_fragment(request, session, viewer, customer_id, N_("Tag added"))


@router.post("/customers/{customer_id}/tags/{tag_id}/remove", response_class=HTMLResponse)
def remove_tag(
    request: Request, session: SessionDep, viewer: CustomerViewer, customer_id: int, tag_id: int
) -> HTMLResponse:
    """Take a tag off the customer."""
    service.get_readable(session, viewer.actor, customer_id)
    tags.tag_customer(session, viewer.actor, customer_id, [tag_id], remove=True)
    session.commit()
    return _tags_fragment(request, session, viewer, customer_id, N_("Tag removed"))


@router.post("/customers/{customer_id}/reveal", response_class=HTMLResponse)
def reveal_phone(
    request: Request, session: SessionDep, viewer: CustomerViewer, customer_id: int
) -> HTMLResponse:
    """The full phone for a role that may reveal it; the reveal is audited."""
    detail = service.customer_detail(session, viewer.actor, customer_id, reveal=True)
    session.commit()
    context = {"c": detail, "revealed": True, "may_reveal": True}
    return render(request, "customers/detail.html", context, fragment="phone")
