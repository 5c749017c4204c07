"""Customer moments (客户朋友圈): create a task on WeCom for staff and customer tags, then track who published.

add_moment_task is asynchronous: poll get_moment_task_result until status 3 gives the moment_id, then
get_moment_task reports publish_status per member; each published member's staff task is closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.channels.wecom.adapter import to_wecom_attachments
from siyu.channels.wecom.errors import RateLimited, WecomError, WecomUnreachable
from siyu.channels.wecom.schemas import MomentTaskRequest
from siyu.db.bulk import any_of
from siyu.db.types import utcnow
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.models import Script, Staff, StaffTask, Tag
from siyu.models.enums import TaskStatus
from siyu.models.wecom import WecomMoment, WecomMomentStaff
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor
from siyu.wecom.credentials import load_app, opened_client
from siyu.wecom.groupmsg_service import _as_utc, finish_tasks

if TYPE_CHECKING:
    from siyu.channels.wecom.client import WecomClient

TASK_KIND = "moments_post"  # the inbox lists it under "Moments posts"
TEXT_MAX = 2000  # add_moment_task text.content (DOC/96351)
POLL_FOR = timedelta(days=7)  # members who have not published after a week are not asked about again
TASK_WINDOW = timedelta(hours=24)


@dataclass
class MomentsSummary:
    """What one moments polling pass did."""

    created: int = 0
    failed: int = 0
    published: int = 0
    tasks_done: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None


def _title(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return (f"发表企业微信朋友圈：{first}" if first else "发表企业微信朋友圈")[:200]


def create_moment(
    session: Session,
    actor: Actor,
    *,
    staff_ids: list[int],
    text: str | None = None,
    script_id: int | None = None,
    tag_ids: list[int] | None = None,
    now: datetime | None = None,
    client: WecomClient | None = None,
) -> WecomMoment:
    """Create a moments task on WeCom for these staff (visible to customers with any of tag_ids) (audited)."""
    now = now or utcnow()
    if not actor.may_write:
        raise Forbidden("WeCom moments: this account may not create moments tasks")
    body, attachments = (text or "").strip(), []
    if script_id is not None:
        script = session.get(Script, script_id)
        if script is None:
            raise NotFound(f"moment: script {script_id} does not exist")
        body = body or script.body.strip()
        attachments = to_wecom_attachments(script.attachments or [])
    if not body and not attachments:
        raise Invalid("moment: give a text or a script with a body")
    if len(body) > TEXT_MAX:
        raise Invalid(f"moment text: at most {TEXT_MAX} characters (WeCom's limit), got {len(body)}")
    wanted = sorted(set(staff_ids))
    if not wanted:
        raise Invalid("moment staff_ids: choose at least one staff member to publish it")
    rows = session.execute(
        select(Staff.id, Staff.wecom_userid).where(
            any_of(session, Staff.id, wanted), org_repo.readable_staff(actor)
        )
    ).all()
    userid_of = {r.id: r.wecom_userid for r in rows}
    missing = [s for s in wanted if s not in userid_of]
    if missing:
        raise NotFound(f"moment staff_ids: staff {missing} do not exist or are outside your scope")
    no_userid = [s for s in wanted if not userid_of[s]]
    if no_userid:
        raise Invalid(
            f"moment staff_ids: staff {no_userid} have no WeCom userid (set it or run the WeCom sync)"
        )
    local_tags = sorted(set(tag_ids or []))
    wecom_tags: list[str] = []
    if local_tags:
        tag_rows = dict(
            session.execute(select(Tag.id, Tag.wecom_tag_id).where(any_of(session, Tag.id, local_tags))).all()
        )
        unknown = [t for t in local_tags if t not in tag_rows]
        if unknown:
            raise NotFound(f"moment tag_ids: tags {unknown} do not exist")
        unlinked = [t for t in local_tags if not tag_rows[t]]
        if unlinked:
            raise Invalid(
                f"moment tag_ids: tags {unlinked} are not WeCom corp tags (sync or push them first)"
            )
        wecom_tags = [str(tag_rows[t]) for t in local_tags]
    request = MomentTaskRequest(
        text=body,
        attachments=attachments,
        sender_userids=[str(userid_of[s]) for s in wanted],
        tag_ids=wecom_tags,
    )
    with opened_client(session, client) as client:
        jobid = client.add_moment_task(request)
    moment = WecomMoment(
        jobid=jobid,
        text=body,
        attachments=attachments or None,
        script_id=script_id,
        tag_ids=local_tags or None,
        status="creating",
        created_at=now,
        created_by_account_id=actor.account_id,
    )
    session.add(moment)
    session.flush()
    tasks = [
        StaffTask(
            kind=TASK_KIND,
            title=_title(body),
            staff_id=s,
            due_at=now + TASK_WINDOW,
            status=TaskStatus.open,
            origin="wecom:moment",
            body=body,
            script_id=script_id,
            idempotency_key=f"wecom-moment:{moment.id}:{s}",
            created_at=now,
        )
        for s in wanted
    ]
    session.add_all(tasks)
    session.flush()
    session.add_all(
        [
            WecomMomentStaff(moment_id=moment.id, staff_id=t.staff_id, task_id=t.id, published=False)
            for t in tasks
        ]
    )
    audit(session, actor, "wecom.moment.create", "wecom_moment", moment.id, {"jobid": jobid, "staff": wanted})
    return moment


def poll_moments(
    session: Session, now: datetime | None = None, *, client: WecomClient | None = None, limit: int = 100
) -> MomentsSummary:
    """Poll WeCom: job results (moment_id) for new tasks, then per-member publish status; tasks closed."""
    now = now or utcnow()
    summary = MomentsSummary()
    moments = list(
        session.scalars(
            select(WecomMoment)
            .where(
                WecomMoment.status.in_(("creating", "published")),
                WecomMoment.created_at >= now - POLL_FOR,
            )
            .order_by(func.coalesce(WecomMoment.checked_at, WecomMoment.created_at), WecomMoment.id)
            .limit(limit)
        )
    )
    if not moments:
        return summary
    if client is None and load_app(session) is None:
        summary.skipped = "WeCom is not configured"
        return summary
    staff_rows = list(
        session.execute(
            select(WecomMomentStaff, Staff.wecom_userid)
            .join(Staff, Staff.id == WecomMomentStaff.staff_id)
            .where(any_of(session, WecomMomentStaff.moment_id, [m.id for m in moments]))
        ).all()
    )
    by_moment: dict[int, list[tuple[WecomMomentStaff, str | None]]] = {}
    for row, userid in staff_rows:
        by_moment.setdefault(row.moment_id, []).append((row, userid))
    finished: list[tuple[int, int | None, datetime]] = []
    with opened_client(session, client) as client:
        for m in moments:
            try:
                _poll_one(client, m, by_moment.get(m.id, []), now, summary, finished)
            except (RateLimited, WecomUnreachable) as exc:
                summary.errors.append(f"{m.jobid}: {exc}")
                break
            except WecomError as exc:
                summary.errors.append(f"{m.jobid}: {exc}")
    summary.tasks_done = finish_tasks(session, finished, now, "published in WeCom (get_moment_task)")
    return summary


def _poll_one(
    client: WecomClient,
    m: WecomMoment,
    members: list[tuple[WecomMomentStaff, str | None]],
    now: datetime,
    summary: MomentsSummary,
    finished: list[tuple[int, int | None, datetime]],
) -> None:
    m.checked_at = now
    if m.moment_id is None:
        result = client.get_moment_task_result(m.jobid)
        if result.status != 3:
            return
        if result.errcode or not result.moment_id:
            m.status, m.error = "failed", f"WeCom errcode {result.errcode}: {result.errmsg}"[:500]
            summary.failed += 1
            return
        m.moment_id, m.status = result.moment_id, "published"
        summary.created += 1
        if result.invalid_sender_list:
            m.error = f"WeCom refused senders: {', '.join(result.invalid_sender_list)}"[:500]
    waiting = {userid: row for row, userid in members if userid and not row.published}
    if not waiting:
        return
    for page in client.iter_moment_task(m.moment_id):
        for task in page.items:
            row = waiting.get(task.userid)
            if row is not None and task.publish_status == 1:
                row.published, row.published_at = True, now
                summary.published += 1
                if row.task_id is not None:
                    finished.append((row.task_id, row.staff_id, now))


def _readable_moment(session: Session, actor: Actor, moment_id: int) -> WecomMoment:
    moment = session.get(WecomMoment, moment_id)
    if moment is None:
        raise NotFound(f"WeCom moment {moment_id} does not exist")
    return moment


def moment_detail(
    session: Session, actor: Actor, moment_id: int
) -> tuple[WecomMoment, list[dict[str, object]]]:
    """One moment and its members in the actor's scope: name, published, task status."""
    moment = _readable_moment(session, actor, moment_id)
    rows = session.execute(
        select(
            WecomMomentStaff.staff_id,
            Staff.name,
            WecomMomentStaff.published,
            WecomMomentStaff.published_at,
            StaffTask.status,
        )
        .join(Staff, Staff.id == WecomMomentStaff.staff_id)
        .outerjoin(StaffTask, StaffTask.id == WecomMomentStaff.task_id)
        .where(WecomMomentStaff.moment_id == moment.id, org_repo.readable_staff(actor))
        .order_by(Staff.name, WecomMomentStaff.staff_id)
    ).all()
    members = [
        {
            "staff_id": r.staff_id,
            "name": r.name,
            "published": bool(r.published),
            "published_at": _as_utc(r.published_at) if r.published_at else None,
            "task_status": str(r.status) if r.status is not None else None,
        }
        for r in rows
    ]
    return moment, members


@dataclass(frozen=True)
class MomentListRow:
    """A moment with its member counts in the actor's scope."""

    moment: WecomMoment
    members: int
    published: int


def list_moments(session: Session, actor: Actor, limit: int = 50) -> list[MomentListRow]:
    """Recent moments with member counts (members in the actor's scope): total and published."""
    counts = (
        select(
            WecomMomentStaff.moment_id.label("moment_id"),
            func.count().label("members"),
            func.sum(case((WecomMomentStaff.published.is_(True), 1), else_=0)).label("published"),
        )
        .join(Staff, Staff.id == WecomMomentStaff.staff_id)
        .where(org_repo.readable_staff(actor))
        .group_by(WecomMomentStaff.moment_id)
        .subquery()
    )
    rows = session.execute(
        select(WecomMoment, counts.c.members, counts.c.published)
        .join(counts, counts.c.moment_id == WecomMoment.id)
        .order_by(WecomMoment.created_at.desc(), WecomMoment.id.desc())
        .limit(limit)
    ).all()
    return [MomentListRow(m, int(members or 0), int(published or 0)) for m, members, published in rows]


def poll_job(session: Session) -> MomentsSummary:
    """Worker job body: one moments polling pass (the worker commits)."""
    return poll_moments(session)
