"""Script library actions: create/edit (variables checked), approval flow, variants, retire, import — audited.

Editing an approved script sends it back to pending review (same id): journeys, experiments and usage
counts keep pointing at one script, and text nobody reviewed is never sent as "approved".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.journeys import scripts_repository as repo
from siyu.journeys.render import check_body, render_body, variables_in
from siyu.journeys.scripts_schemas import SAMPLE_VALUES, ReviewIn, ScriptIn, ScriptOut
from siyu.models import Script, ScriptApproval
from siyu.org.permissions import Actor, PermissionRole
from siyu.web.access import access_for
from siyu.web.i18n import N_

# Operations roles write scripts; only the head of private domain (or an admin) approves them.
SCRIPT_READ = access_for(None)
SCRIPT_WRITE = access_for(
    (
        PermissionRole.admin,
        PermissionRole.private_domain_lead,
        PermissionRole.manager,
        PermissionRole.operator,
    ),
    denied=N_("Only operations roles may write scripts."),
)
SCRIPT_APPROVE = access_for(
    (PermissionRole.admin, PermissionRole.private_domain_lead),
    denied=N_("Only an administrator or the private-domain lead may approve scripts."),
)
_EDITABLE = (ScriptApproval.draft, ScriptApproval.pending, ScriptApproval.approved, ScriptApproval.rejected)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise Forbidden(message)


def may_see_drafts(actor: Actor) -> bool:
    """Whether actor sees scripts that are not approved (writers and approvers do)."""
    return SCRIPT_WRITE.allows(actor) or SCRIPT_APPROVE.allows(actor)


def get_script(session: Session, actor: Actor, script_id: int) -> Script:
    """A script the actor may read (readers without write rights see approved scripts only)."""
    script = repo.get(session, script_id)
    if script is None or (not may_see_drafts(actor) and script.approval != ScriptApproval.approved):
        raise NotFound(f"script {script_id} does not exist")
    return script


def preview(body: str) -> str:
    """The body with the sample values (王女士, 静安嘉里店, 小林, 满199减30券)."""
    return render_body(body, SAMPLE_VALUES)


def to_out(script: Script) -> ScriptOut:
    """The API shape of a script."""
    return ScriptOut(
        id=script.id,
        title=script.title,
        category=script.category,
        scenario=script.scenario,
        body=script.body,
        preview=preview(script.body),
        variables=variables_in(script.body),
        attachments=list(script.attachments or []),
        approval=str(script.approval.value),
        owner_account_id=script.owner_account_id,
        reviewed_by_account_id=script.reviewed_by_account_id,
        reviewed_at=script.reviewed_at,
        review_note=script.review_note,
        parent_id=script.parent_id,
        variant_label=script.variant_label,
        usage_count=script.usage_count,
        created_at=script.created_at,
        updated_at=script.updated_at,
    )


def _check_variant(session: Session, data: ScriptIn, script_id: int | None) -> None:
    if data.parent_id is None or data.variant_label is None:
        return
    parent = repo.get(session, data.parent_id)
    if parent is None:
        raise Invalid(f"parent_id: script {data.parent_id} does not exist")
    if parent.parent_id is not None:
        # Variants hang off one root, so an experiment's arms are always one flat family.
        raise Invalid(
            f"parent_id: script {parent.id} is itself a variant of {parent.parent_id}; use the root"
        )
    if script_id is not None and parent.id == script_id:
        raise Invalid("parent_id: a script cannot be a variant of itself")
    if repo.label_taken(session, parent.id, data.variant_label, script_id):
        raise Conflict(
            f"variant_label {data.variant_label!r} is already used by a variant of script {parent.id}"
        )


def _apply(script: Script, data: ScriptIn) -> None:
    script.title = data.title
    script.category = data.category
    script.scenario = data.scenario
    script.body = data.body
    script.attachments = [a.model_dump(exclude_none=True) for a in data.attachments] or None
    script.parent_id = data.parent_id
    script.variant_label = data.variant_label
    script.search_text = repo.search_text_of(data.title, data.scenario, data.body)


def create_script(session: Session, actor: Actor, data: ScriptIn, now: datetime | None = None) -> Script:
    """A new draft (or pending, with submit) script; the body's variables must be known ones."""
    _require(SCRIPT_WRITE.allows(actor), f"role {actor.role.value!r} may not create scripts")
    check_body(data.body)
    _check_variant(session, data, None)
    at = now or utcnow()
    script = Script(
        approval=ScriptApproval.pending if data.submit else ScriptApproval.draft,
        owner_account_id=actor.account_id,
        usage_count=0,
        created_at=at,
        updated_at=at,
    )
    _apply(script, data)
    session.add(script)
    session.flush()
    audit(
        session,
        actor,
        "script.create",
        "script",
        script.id,
        {"title": script.title, "approval": script.approval.value},
    )
    return script


def update_script(session: Session, actor: Actor, script_id: int, data: ScriptIn) -> Script:
    """Edit a script; an approved one goes back to pending review (its review is cleared)."""
    _require(SCRIPT_WRITE.allows(actor), f"role {actor.role.value!r} may not edit scripts")
    script = get_script(session, actor, script_id)
    if script.approval not in _EDITABLE:
        raise Conflict(f"script {script_id} is {script.approval.value}; retired scripts cannot be edited")
    check_body(data.body)
    _check_variant(session, data, script_id)
    if data.parent_id is not None and repo.variant_counts(session, [script_id]):
        raise Invalid(f"parent_id: script {script_id} has variants of its own, so it cannot become a variant")
    was = script.approval
    _apply(script, data)
    if was == ScriptApproval.approved or data.submit:
        script.approval = ScriptApproval.pending
        script.reviewed_by_account_id = None
        script.reviewed_at = None
        script.review_note = None
    script.updated_at = utcnow()
    session.flush()
    audit(
        session, actor, "script.update", "script", script.id, {"was": was.value, "now": script.approval.value}
    )
    return script


def submit_script(session: Session, actor: Actor, script_id: int) -> Script:
    """Draft or rejected → pending review."""
    _require(SCRIPT_WRITE.allows(actor), f"role {actor.role.value!r} may not submit scripts")
    script = get_script(session, actor, script_id)
    if script.approval not in (ScriptApproval.draft, ScriptApproval.rejected):
        raise Conflict(
            f"script {script_id} is {script.approval.value}; only drafts and rejected scripts are submitted"
        )
    script.approval = ScriptApproval.pending
    script.updated_at = utcnow()
    session.flush()
    audit(session, actor, "script.submit", "script", script.id)
    return script


def review_script(session: Session, actor: Actor, script_id: int, decision: ReviewIn) -> Script:
    """Pending → approved or rejected, by an admin/lead who is not the author; a rejection needs a note."""
    _require(SCRIPT_APPROVE.allows(actor), f"role {actor.role.value!r} may not approve scripts")
    script = get_script(session, actor, script_id)
    if script.approval != ScriptApproval.pending:
        raise Conflict(f"script {script_id} is {script.approval.value}; only pending scripts are reviewed")
    if actor.account_id is not None and script.owner_account_id == actor.account_id:
        # Four eyes: the author's own approval would make the review meaningless.
        raise Forbidden(f"script {script_id}: its author may not review it")
    note = (decision.note or "").strip() or None
    if decision.decision == "reject" and note is None:
        raise Invalid("note: say why the script is rejected")
    script.approval = ScriptApproval.approved if decision.decision == "approve" else ScriptApproval.rejected
    script.reviewed_by_account_id = actor.account_id
    script.reviewed_at = utcnow()
    script.review_note = note
    session.flush()
    audit(session, actor, f"script.{decision.decision}", "script", script.id, {"note": note})
    return script


def retire_script(session: Session, actor: Actor, script_id: int) -> Script:
    """Take a script out of use (it stays for history, usage counts and past sends)."""
    _require(SCRIPT_WRITE.allows(actor), f"role {actor.role.value!r} may not retire scripts")
    script = get_script(session, actor, script_id)
    if script.approval == ScriptApproval.retired:
        raise Conflict(f"script {script_id} is already retired")
    was = script.approval
    script.approval = ScriptApproval.retired
    script.updated_at = utcnow()
    session.flush()
    audit(session, actor, "script.retire", "script", script.id, {"was": was.value})
    return script


def parse_script(raw: dict[str, Any], where: str) -> ScriptIn:
    """Validate one script's fields; errors name where (a form, a JSONL line) and the field."""
    try:
        return ScriptIn.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "script"
        raise Invalid(f"{where}: {field}: {first['msg']}") from None


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote."""

    created: int
    pending: int


def import_jsonl(session: Session, actor: Actor, lines: Iterable[str], source: str) -> ImportResult:
    """One script per JSON line; every line is checked before any is written (all or nothing)."""
    parsed: list[ScriptIn] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source} line {n}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Invalid(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(raw, dict):
            raise Invalid(f"{where}: expected an object")
        data = parse_script(raw, where)
        check_body(data.body, f"{where}: body")
        parsed.append(data)
    created = [create_script(session, actor, data) for data in parsed]
    return ImportResult(len(created), sum(1 for s in created if s.approval == ScriptApproval.pending))


def reindex_search_text(session: Session) -> int:
    """Recompute every script's search_text (after bulk writes that bypassed the service); returns rows changed."""
    rows = session.execute(
        select(Script.id, Script.title, Script.scenario, Script.body, Script.search_text)
    ).all()
    changed = [
        {"id": r.id, "search_text": text}
        for r in rows
        if (text := repo.search_text_of(r.title, r.scenario, r.body)) != r.search_text
    ]
    if changed:
        session.execute(update(Script), changed)  # one executemany by primary key
    return len(changed)
