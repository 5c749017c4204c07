"""Fake handlers: mass sends (群发) with per-staff tasks and per-recipient results, and moments (朋友圈)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fake_wecom import api_groups  # noqa: F401  (registers the group, statistics and transfer handlers)
from fake_wecom.models import FakeMomentJob, FakeMsgTemplate
from fake_wecom.registry import Args, FakeError, api, limit_arg, opt_int, opt_str, page, req_str, str_list

if TYPE_CHECKING:
    from fake_wecom.corp import FakeCorp

Out = dict[str, Any]
REMINDS_PER_DAY = 3


def _last_follower(corp: FakeCorp, ext: str) -> str | None:
    """WeCom pushes a corp mass send to the member who last added (interacted with) the customer."""
    follows = [f for f in corp.follows_by_ext.get(ext, {}).values() if corp.staff[f.userid].visible]
    return max(follows, key=lambda f: (f.createtime, f.userid)).userid if follows else None


@api("externalcontact/add_msg_template")
def add_msg_template(corp: FakeCorp, args: Args, now: float) -> Out:
    """Create a mass-send template; nothing is sent until each member confirms (simulate_confirm_groupmsg)."""
    chat_type = opt_str(args, "chat_type", "single") or "single"
    if chat_type not in ("single", "group"):
        raise FakeError(40058, f"chat_type {chat_type!r}")
    sender = opt_str(args, "sender")
    text = args.get("text") or {}
    content = str(text.get("content", "")) if isinstance(text, dict) else ""
    attachments = list(args.get("attachments") or [])
    if not content and not attachments:
        raise FakeError(40058, "text and attachments are both empty")
    if len(content.encode()) > 4000:
        raise FakeError(40058, "text.content exceeds 4000 bytes")
    if len(attachments) > 9:
        raise FakeError(81017, "at most 9 attachments")
    if sender:
        corp.require_staff(sender)
    recipients: dict[str, list[str]] = {}
    fail_list: list[str] = []
    if chat_type == "single":
        targets = str_list(args, "external_userid", max_len=10_000)
        if not targets and not sender:
            raise FakeError(40058, "external_userid is required without a sender")
        if not targets and sender:
            targets = list(corp.follows_by_user.get(sender, {}))
        for ext in targets:
            owner = (
                sender
                if sender and corp.follow(sender, ext)
                else (None if sender else _last_follower(corp, ext))
            )
            if owner is None:
                fail_list.append(ext)
            else:
                recipients.setdefault(owner, []).append(ext)
    else:
        chat_ids = str_list(args, "chat_id_list", max_len=2000)
        if not sender:
            raise FakeError(40058, "a group mass send needs a sender")
        if not chat_ids:
            chat_ids = [g.chat_id for g in corp.groups.values() if g.owner == sender and not g.dismissed]
        for chat_id in chat_ids:
            group = corp.groups.get(chat_id)
            if group is None or group.dismissed or group.owner != sender:
                fail_list.append(chat_id)
            else:
                recipients.setdefault(sender, []).append(chat_id)
    if not recipients:
        raise FakeError(41048, "no recipient can receive the message")
    msgid = corp.next_id("msg")
    template = FakeMsgTemplate(
        msgid, chat_type, sender or "", 1 if sender else 0, int(now), content, attachments, recipients
    )
    for userid, targets in recipients.items():
        template.tasks[userid] = [0, 0]
        for target in targets:
            template.results[(userid, target)] = [0, 0]
    corp.templates[msgid] = template
    return {"fail_list": fail_list, "msgid": msgid}


def _template(corp: FakeCorp, args: Args) -> FakeMsgTemplate:
    msgid = req_str(args, "msgid")
    template = corp.templates.get(msgid)
    if template is None:
        raise FakeError(40058, f"msgid {msgid!r} does not exist")
    return template


@api("externalcontact/get_groupmsg_list_v2")
def get_groupmsg_list_v2(corp: FakeCorp, args: Args, now: float) -> Out:
    """Templates created in [start_time, end_time] (≤1 month), filter_type 0 corp / 1 personal / 2 all."""
    start, end = opt_int(args, "start_time", 0), opt_int(args, "end_time", 0)
    if not start or not end or end < start:
        raise FakeError(40058, "start_time and end_time are required, end ≥ start")
    if end - start > 31 * 86400:
        raise FakeError(40058, "the time range spans more than one month")
    chat_type = opt_str(args, "chat_type", "single") or "single"
    filter_type, creator = opt_int(args, "filter_type", 2), opt_str(args, "creator")
    rows = [
        t
        for t in corp.templates.values()
        if t.chat_type == chat_type
        and start <= t.create_time <= end
        and (filter_type == 2 or t.create_type == filter_type)
        and (not creator or t.creator == creator)
    ]
    chunk, next_cursor = page(rows, opt_str(args, "cursor"), limit_arg(args, 50, 100))
    return {
        "group_msg_list": [
            {
                "msgid": t.msgid,
                "creator": t.creator,
                "create_time": t.create_time,
                "create_type": t.create_type,
                "text": {"content": t.text},
                "attachments": t.attachments,
            }
            for t in chunk
        ],
        "next_cursor": next_cursor,
    }


@api("externalcontact/get_groupmsg_task")
def get_groupmsg_task(corp: FakeCorp, args: Args, now: float) -> Out:
    """Per-member task: status 0 not sent, 2 sent."""
    template = _template(corp, args)
    rows = list(template.tasks.items())
    chunk, next_cursor = page(rows, opt_str(args, "cursor"), limit_arg(args, 500, 1000))
    return {
        "task_list": [{"userid": u, "status": s, **({"send_time": t} if t else {})} for u, (s, t) in chunk],
        "next_cursor": next_cursor,
    }


@api("externalcontact/get_groupmsg_send_result")
def get_groupmsg_send_result(corp: FakeCorp, args: Args, now: float) -> Out:
    """Per-recipient result of one member: 0 not sent, 1 sent, 2 not a friend, 3 over the receive limit."""
    template = _template(corp, args)
    userid = req_str(args, "userid")
    corp.require_staff(userid)
    rows = [(target, st) for (u, target), st in template.results.items() if u == userid]
    chunk, next_cursor = page(rows, opt_str(args, "cursor"), limit_arg(args, 500, 1000))
    key = "external_userid" if template.chat_type == "single" else "chat_id"
    return {
        "send_list": [
            {key: target, "userid": userid, "status": s, **({"send_time": t} if t else {})}
            for target, (s, t) in chunk
        ],
        "next_cursor": next_cursor,
    }


@api("externalcontact/remind_groupmsg_send")
def remind_groupmsg_send(corp: FakeCorp, args: Args, now: float) -> Out:
    """Remind members who have not sent yet; at most 3 per 24 h per template."""
    template = _template(corp, args)
    recent = [t for t in template.reminders if now - t < 86400]
    if len(recent) >= REMINDS_PER_DAY:
        raise FakeError(45009, f"{template.msgid} was already reminded {REMINDS_PER_DAY} times in 24 h")
    template.reminders.append(now)
    return {}


@api("externalcontact/cancel_groupmsg_send")
def cancel_groupmsg_send(corp: FakeCorp, args: Args, now: float) -> Out:
    """Cancel the tasks members have not confirmed yet."""
    _template(corp, args).cancelled = True
    return {}


@api("externalcontact/add_moment_task")
def add_moment_task(corp: FakeCorp, args: Args, now: float) -> Out:
    """Start an asynchronous moments job → jobid (poll get_moment_task_result)."""
    text = args.get("text") or {}
    content = str(text.get("content", "")) if isinstance(text, dict) else ""
    attachments = list(args.get("attachments") or [])
    if not content and not attachments:
        raise FakeError(40058, "text and attachments are both empty")
    if len(content) > 2000:
        raise FakeError(40058, "text.content exceeds 2000 characters")
    if len(attachments) > 9:
        raise FakeError(81017, "at most 9 attachments")
    visible = args.get("visible_range") or {}
    senders = list((visible.get("sender_list") or {}).get("user_list") or [])
    tag_ids = list((visible.get("external_contact_list") or {}).get("tag_list") or [])
    job = FakeMomentJob(corp.next_id("job"), content, attachments, senders, tag_ids, int(now))
    corp.moment_jobs[job.jobid] = job
    return {"jobid": job.jobid}


def _finish_moment(corp: FakeCorp, job: FakeMomentJob) -> None:
    valid = [
        s
        for s in (job.senders or [s.userid for s in corp.staff.values()])
        if s in corp.staff and not corp.staff[s].resigned
    ]
    job.invalid_sender_list = [s for s in job.senders if s not in valid]
    job.invalid_external_contact_list = []
    job.moment_id = corp.next_id("mom")
    job.publish = {s: 0 for s in valid}
    corp.moments[job.moment_id] = job


@api("externalcontact/get_moment_task_result")
def get_moment_task_result(corp: FakeCorp, args: Args, now: float) -> Out:
    """status 1 started, 2 running, 3 done (with moment_id and the invalid lists)."""
    jobid = req_str(args, "jobid")
    job = corp.moment_jobs.get(jobid)
    if job is None:
        raise FakeError(40058, f"jobid {jobid!r} does not exist")
    job.polls += 1
    if job.polls <= corp.moment_polls_before_done:
        return {"status": 2, "type": "add_moment_task"}
    if not job.moment_id:
        _finish_moment(corp, job)
    return {
        "status": 3,
        "type": "add_moment_task",
        "result": {
            "errcode": 0,
            "errmsg": "ok",
            "moment_id": job.moment_id,
            "invalid_sender_list": {"user_list": job.invalid_sender_list},
            "invalid_external_contact_list": {"tag_list": job.invalid_external_contact_list},
        },
    }


@api("externalcontact/get_moment_task")
def get_moment_task(corp: FakeCorp, args: Args, now: float) -> Out:
    """Per-member publish_status (0 not published, 1 published) of a moment."""
    moment_id = req_str(args, "moment_id")
    job = corp.moments.get(moment_id)
    if job is None:
        raise FakeError(40058, f"moment_id {moment_id!r} does not exist")
    chunk, next_cursor = page(list(job.publish.items()), opt_str(args, "cursor"), limit_arg(args, 500, 1000))
    return {"task_list": [{"userid": u, "publish_status": s} for u, s in chunk], "next_cursor": next_cursor}
