"""The 标签 page: tag groups and tags with customer counts; create, rename, merge (after a confirm step) and delete.

A tag group is deleted only when empty: its tags are merged or deleted first, so no customer loses
a tag as a side effect of tidying groups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.customers import repository as customer_repo
from siyu.customers import tags
from siyu.customers.schemas import TagCreate, TagGroupCreate, TagGroupUpdate, TagRename
from siyu.errors import Conflict, Invalid, NotFound
from siyu.org.permissions import PermissionRole
from siyu.web.auth import SessionDep, Viewer, require_roles
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, register_nav, render

GROUP_NOT_EMPTY = N_("This tag group still holds %(n)s tag(s): merge or delete them first.")
TAG_ROLES = (PermissionRole.admin, PermissionRole.private_domain_lead, PermissionRole.operator)
TagViewer = Annotated[Viewer, Depends(require_roles(*TAG_ROLES))]
Text = Annotated[str, Form(max_length=200)]

router = APIRouter(include_in_schema=False)
register_nav("tags", N_("Tags"), "/tags", order=30, roles=TAG_ROLES)


def _context(session: Session) -> dict[str, Any]:
    return {"groups": tags.list_groups(session), "counts": tags.tag_counts(session)}


@router.get("/tags", response_class=HTMLResponse)
def tag_page(request: Request, session: SessionDep, _viewer: TagViewer) -> HTMLResponse:
    """Every tag group with its tags and how many customers carry each."""
    return render(request, "tags/tags.html", _context(session), fragment="tag_body")


def _model(build: Callable[[], Any]) -> Any:
    try:
        return build()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "form"
        raise Invalid(f"{where}: {first['msg']}") from None


def _done(request: Request, session: Session, message: str) -> Response:
    session.commit()
    if not request.headers.get("HX-Request"):
        return RedirectResponse("/tags", status_code=303)
    _ = gettext_for(request)
    return render(
        request, "tags/tags.html", _context(session), fragment="tag_body", toasts=[("success", _(message))]
    )


@router.post("/tags/groups")
def create_group(
    request: Request, session: SessionDep, viewer: TagViewer, name: Text = "", exclusive: Text = ""
) -> Response:
    """Add a tag group."""
    data = _model(lambda: TagGroupCreate(name=name.strip(), exclusive=bool(exclusive)))
    tags.create_group(session, viewer.actor, data)
    return _done(request, session, N_("Tag group created"))


@router.post("/tags")
def create_tag(
    request: Request, session: SessionDep, viewer: TagViewer, group_id: Text = "", name: Text = ""
) -> Response:
    """Add a tag to a group."""
    if not group_id.isdigit():
        raise Invalid("group_id: choose a tag group")
    data = _model(lambda: TagCreate(group_id=int(group_id), name=name.strip()))
    tags.create_tag(session, viewer.actor, data)
    return _done(request, session, N_("Tag created"))


@router.post("/tags/{tag_id}/rename")
def rename_tag(
    request: Request, session: SessionDep, viewer: TagViewer, tag_id: int, name: Text = ""
) -> Response:
    """Rename a tag."""
    data = _model(lambda: TagRename(name=name.strip()))
    tags.rename_tag(session, viewer.actor, tag_id, data)
    return _done(request, session, N_("Tag renamed"))


@router.post("/tags/groups/{group_id}/rename")
def rename_group(
    request: Request, session: SessionDep, viewer: TagViewer, group_id: int, name: Text = ""
) -> Response:
    """Rename a tag group."""
    data = _model(lambda: TagGroupUpdate(name=name.strip()))
    tags.update_group(session, viewer.actor, group_id, data)
    return _done(request, session, N_("Tag group renamed"))


@router.post("/tags/groups/{group_id}/delete")
def delete_group(request: Request, session: SessionDep, viewer: TagViewer, group_id: int) -> Response:
    """Delete an empty tag group; one that still holds tags is refused (merge or delete them first)."""
    held = customer_repo.count_tags(session, group_id)
    if held:
        _ = gettext_for(request)
        raise Conflict(_(GROUP_NOT_EMPTY) % {"n": held})
    tags.delete_group(session, viewer.actor, group_id)
    return _done(request, session, N_("Tag group deleted"))


def _tag_names(session: Session, *tag_ids: int) -> dict[int, str]:
    found = customer_repo.get_tags(session, list(tag_ids))
    missing = [t for t in tag_ids if t not in found]
    if missing:
        raise NotFound(f"tag {missing[0]} does not exist")
    return {tag_id: f"{group.name}: {tag.name}" for tag_id, (tag, group) in found.items()}


@router.post("/tags/{tag_id}/merge")
def merge_tag(
    request: Request,
    session: SessionDep,
    viewer: TagViewer,
    tag_id: int,
    target_id: Text = "",
    confirm: Text = "",
) -> Response:
    """Ask to confirm, then (confirm=1) move this tag's customers to the target tag and delete this tag."""
    if not target_id.isdigit():
        raise Invalid("target_id: choose the tag to merge into")
    target = int(target_id)
    if confirm != "1":
        names = _tag_names(session, tag_id, target)
        counts = tags.tag_counts(session)
        merge = {
            "source_id": tag_id,
            "target_id": target,
            "source": names[tag_id],
            "target": names[target],
            "customers": counts.get(tag_id, 0),
        }
        return render(request, "tags/tags.html", {**_context(session), "merge": merge}, fragment="tag_body")
    tags.merge_tags(session, viewer.actor, tag_id, target)
    return _done(request, session, N_("Tags merged"))


@router.post("/tags/{tag_id}/delete")
def delete_tag(request: Request, session: SessionDep, viewer: TagViewer, tag_id: int) -> Response:
    """Delete a tag, untagging its customers."""
    tags.delete_tag(session, viewer.actor, tag_id)
    return _done(request, session, N_("Tag deleted"))
