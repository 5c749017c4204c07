"""Account administration (admin role only): list, create, edit access, disable/enable, unlock, reset password."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from siyu.errors import SiyuError
from siyu.org.permissions import PermissionRole
from siyu.web.auth import AdminDep, SessionDep
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, register_nav, render, wants_fragment
from siyu.web.services import accounts as service

router = APIRouter(prefix="/admin/accounts", include_in_schema=False)

PAGE = "admin/accounts.html"
NOTICES = {
    "created": N_("Account created."),
    "disabled": N_("Account disabled; its sessions have ended."),
    "enabled": N_("Account enabled."),
    "unlocked": N_("Account unlocked."),
    "password": N_("Password reset; the account's other sessions have ended."),
    "updated": N_("Account access changed."),
}

register_nav("accounts", N_("Accounts"), "/admin/accounts", order=900, roles=[PermissionRole.admin])


def _page_context(session: Session, form: service.NewAccountForm | None = None) -> dict[str, object]:
    return {
        "accounts": service.list_accounts(session),
        "units": service.unit_choices(session),
        "form": form or service.NewAccountForm(),
        "errors": {},
        "form_error": None,
    }


def _toasts(request: Request, notice: str | None) -> list[tuple[str, str]]:
    if notice in NOTICES:
        return [("success", gettext_for(request)(NOTICES[notice]))]
    return []


@router.get("", response_class=HTMLResponse)
def accounts_page(
    request: Request, session: SessionDep, _admin: AdminDep, notice: Annotated[str | None, Query()] = None
) -> HTMLResponse:
    """Every account with its role, scope and state, and the create form."""
    return render(request, PAGE, _page_context(session), toasts=_toasts(request, notice))


@router.post("")
def create_account(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    role: Annotated[str, Form(max_length=64)] = "",
    scope: Annotated[str, Form(max_length=64)] = "",
    unit_code: Annotated[str, Form(max_length=200)] = "",
    staff_code: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create an account; field errors come back next to the fields."""
    form = service.NewAccountForm(
        username=username.strip(),
        display_name=display_name.strip(),
        password=password,
        role=role,
        scope=scope,
        unit_code=unit_code.strip(),
        staff_code=staff_code.strip(),
    )
    context = _page_context(session, form)
    context["errors"] = service.validate_new_account(session, form)
    if not context["errors"]:
        try:
            service.create(session, admin.actor, form)
        except SiyuError as exc:  # a rule the form check does not know about: show it above the form
            session.rollback()
            context["form_error"] = gettext_for(request)(exc.message)
        else:
            session.commit()
            if wants_fragment(request):
                # The table changed too: htmx fetches the page's content block again (and pushes the URL).
                location = json.dumps({"path": "/admin/accounts?notice=created", "target": "#content"})
                return Response(status_code=204, headers={"HX-Location": location})
            return RedirectResponse("/admin/accounts?notice=created", status_code=303)
    return render(request, PAGE, context, fragment="create_form", status_code=422)


def _row_action(request: Request, session: SessionDep, account_id: int, notice: str) -> Response:
    session.commit()
    if wants_fragment(request):
        row = service.get_account_row(session, account_id)
        return render(request, PAGE, {"a": row}, fragment="account_row", toasts=_toasts(request, notice))
    return RedirectResponse(f"/admin/accounts?notice={notice}", status_code=303)


@router.post("/{account_id}/disable")
def disable_account(request: Request, session: SessionDep, admin: AdminDep, account_id: int) -> Response:
    """Disable an account and end its sessions."""
    service.set_active(session, admin.actor, account_id, False)
    return _row_action(request, session, account_id, "disabled")


@router.post("/{account_id}/enable")
def enable_account(request: Request, session: SessionDep, admin: AdminDep, account_id: int) -> Response:
    """Enable a disabled account."""
    service.set_active(session, admin.actor, account_id, True)
    return _row_action(request, session, account_id, "enabled")


@router.post("/{account_id}/unlock")
def unlock_account(request: Request, session: SessionDep, admin: AdminDep, account_id: int) -> Response:
    """Clear failed sign-ins and any lock."""
    service.unlock(session, admin.actor, account_id)
    return _row_action(request, session, account_id, "unlocked")


@router.get("/{account_id}/password", response_class=HTMLResponse)
def password_page(request: Request, session: SessionDep, _admin: AdminDep, account_id: int) -> HTMLResponse:
    """The reset-password form for one account."""
    account = service.get_account_row(session, account_id)
    return render(request, "admin/password.html", {"account": account, "errors": {}})


@router.post("/{account_id}/password")
def reset_password(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    account_id: int,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Set a new password for an account."""
    account = service.get_account_row(session, account_id)
    errors = service.password_errors(password)
    if errors:
        context = {"account": account, "errors": errors}
        return render(request, "admin/password.html", context, status_code=422)
    service.reset_password(session, admin.actor, account_id, password, keep_session=admin.session_id)
    session.commit()
    return RedirectResponse("/admin/accounts?notice=password", status_code=303)


def _edit_page(
    request: Request, session: SessionDep, account_id: int, form: service.AccessForm, errors: dict[str, str]
) -> HTMLResponse:
    context = {
        "account": service.get_account_row(session, account_id),
        "form": form,
        "errors": errors,
        "units": service.unit_choices(session),
    }
    return render(request, "admin/edit.html", context, status_code=422 if errors else 200)


@router.get("/{account_id}/edit", response_class=HTMLResponse)
def edit_page(request: Request, session: SessionDep, _admin: AdminDep, account_id: int) -> HTMLResponse:
    """The form to change an account's role, data scope and scope unit."""
    form = service.AccessForm.of(service.get_account_row(session, account_id))
    return _edit_page(request, session, account_id, form, {})


@router.post("/{account_id}/edit")
def edit_account(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    account_id: int,
    role: Annotated[str, Form(max_length=64)] = "",
    scope: Annotated[str, Form(max_length=64)] = "",
    unit_code: Annotated[str, Form(max_length=200)] = "",
    staff_code: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Save the access change (audited); field errors come back next to the fields."""
    form = service.AccessForm(role, scope, unit_code.strip(), staff_code.strip())
    errors = service.access_errors(session, form)
    if errors:
        return _edit_page(request, session, account_id, form, errors)
    service.update_access(session, admin.actor, account_id, form)
    session.commit()
    return RedirectResponse("/admin/accounts?notice=updated", status_code=303)
