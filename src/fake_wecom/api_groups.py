"""Fake handlers: customer groups, group and behaviour statistics, customer transfers (在职/离职继承)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from fake_wecom.models import FakeGroupChat, FakeTransfer
from fake_wecom.registry import Args, FakeError, api, limit_arg, opt_int, opt_str, page, req_str, str_list

if TYPE_CHECKING:
    from fake_wecom.corp import FakeCorp

Out = dict[str, Any]
CN = timezone(timedelta(hours=8))  # WeCom statistics cut days at 00:00 Beijing time
DAY = 86400
TRANSFERS_PER_90_DAYS = 2


def day_start(ts: int) -> int:
    """Epoch seconds of 00:00 (Beijing) of the day holding ts."""
    d = datetime.fromtimestamp(ts, CN)
    return int(datetime(d.year, d.month, d.day, tzinfo=CN).timestamp())


def _noise(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:4], "big")


def _owner_filter(args: Args) -> list[str]:
    owner = args.get("owner_filter") or {}
    return str_list(owner if isinstance(owner, dict) else {}, "userid_list", max_len=100)


@api("externalcontact/groupchat/list")
def groupchat_list(corp: FakeCorp, args: Args, now: float) -> Out:
    """Groups (status_filter 0 all / 1–3 resigned states), optionally of ≤100 owners; 81017 without a filter in a big corp."""
    owners = _owner_filter(args)
    if not owners and len(corp.staff) > corp.groupchat_list_requires_owner_above:
        raise FakeError(
            81017, f"more than {corp.groupchat_list_requires_owner_above} members: owner_filter is required"
        )
    for userid in owners:
        corp.require_staff(userid)
    status = opt_int(args, "status_filter", 0)
    rows = [
        g
        for g in corp.groups.values()
        if not g.dismissed and (not owners or g.owner in owners) and (status == 0 or g.status == status)
    ]
    chunk, next_cursor = page(rows, opt_str(args, "cursor"), limit_arg(args, 100, 1000))
    return {
        "group_chat_list": [{"chat_id": g.chat_id, "status": g.status} for g in chunk],
        "next_cursor": next_cursor,
    }


def _group(corp: FakeCorp, chat_id: str) -> FakeGroupChat:
    group = corp.groups.get(chat_id)
    if group is None or group.dismissed:
        raise FakeError(40050, f"chat_id {chat_id!r}")
    return group


@api("externalcontact/groupchat/get")
def groupchat_get(corp: FakeCorp, args: Args, now: float) -> Out:
    """One group with members (join_time, join_scene, invitor) and admins."""
    group = _group(corp, req_str(args, "chat_id"))
    need_name = bool(opt_int(args, "need_name", 0))
    members = []
    for m in group.members:
        row: Out = {"userid": m.userid, "type": m.type, "join_time": m.join_time, "join_scene": m.join_scene}
        if m.invitor_userid:
            row["invitor"] = {"userid": m.invitor_userid}
        if m.unionid:
            row["unionid"] = m.unionid
        row["group_nickname"] = m.group_nickname
        if need_name:
            row["name"] = m.name
        members.append(row)
    return {
        "group_chat": {
            "chat_id": group.chat_id,
            "name": group.name,
            "owner": group.owner,
            "create_time": group.create_time,
            "notice": group.notice,
            "member_list": members,
            "admin_list": [{"userid": u} for u in group.admin_list],
        }
    }


def group_stat(corp: FakeCorp, owner: str, begin: int, end: int) -> dict[str, int]:
    """groupchat/statistic data of one owner over [begin day, end day]; totals from the groups, activity seeded."""
    last = end + DAY
    groups = [
        g for g in corp.groups.values() if g.owner == owner and g.create_time < last and not g.dismissed
    ]
    members = [m for g in groups for m in g.members if m.join_time < last]
    noise = _noise(corp.seed_value, owner, begin, end)
    chat_has_msg = min(len(groups), noise % (len(groups) + 1))
    member_has_msg = min(len(members), (noise >> 8) % (len(members) + 1))
    return {
        "new_chat_cnt": sum(1 for g in groups if g.create_time >= begin),
        "chat_total": len(groups),
        "chat_has_msg": chat_has_msg,
        "new_member_cnt": sum(1 for m in members if m.join_time >= begin),
        "member_total": len(members),
        "member_has_msg": member_has_msg,
        "msg_total": member_has_msg * (1 + (noise >> 16) % 7),
        "migrate_trainee_chat_cnt": 0,
    }


def _stat_range(args: Args, start_key: str, end_key: str, now: float) -> tuple[int, int]:
    start, end = opt_int(args, start_key, 0), opt_int(args, end_key, 0)
    if not start or not end:
        raise FakeError(40058, f"{start_key} and {end_key} are required")
    start, end = day_start(start), day_start(end)
    if end < start:
        raise FakeError(40058, f"{end_key} is before {start_key}")
    if (end - start) // DAY + 1 > 30:
        raise FakeError(40058, "the range spans more than 30 days")
    if start < day_start(int(now)) - 180 * DAY:
        raise FakeError(40058, "only the last 180 days are available")
    return start, end


@api("externalcontact/groupchat/statistic")
def groupchat_statistic(corp: FakeCorp, args: Args, now: float) -> Out:
    """Per-owner aggregate over ≤30 days, offset/limit paged (limit ≤1000)."""
    begin, end = _stat_range(args, "day_begin_time", "day_end_time", now)
    owners = _owner_filter(args)
    if not owners:
        raise FakeError(40058, "owner_filter.userid_list is required")
    for userid in owners:
        corp.require_staff(userid)
    offset, limit = opt_int(args, "offset", 0), limit_arg(args, 500, 1000)
    rows = [{"owner": o, "data": group_stat(corp, o, begin, end)} for o in owners]
    chunk = rows[offset : offset + limit]
    return {"total": len(rows), "next_offset": offset + len(chunk), "items": chunk}


def behavior_row(corp: FakeCorp, userid: str, day: int) -> dict[str, Any]:
    """One member's get_user_behavior_data row for the day starting at `day` (deterministic per seed)."""
    override = corp.behavior_overrides.get((userid, day))
    if override is not None:
        return {"stat_time": day, **override}
    noise = _noise(corp.seed_value, userid, day)
    new_contacts = sum(
        1 for f in corp.follows_by_user.get(userid, {}).values() if day <= f.createtime < day + DAY
    )
    chat_cnt = noise % 40
    row: dict[str, Any] = {
        "stat_time": day,
        "chat_cnt": chat_cnt,
        "message_cnt": chat_cnt * (1 + (noise >> 6) % 5),
        "negative_feedback_cnt": (noise >> 12) % 3,
        "new_apply_cnt": new_contacts + (noise >> 14) % 2,
        "new_contact_cnt": new_contacts,
    }
    if chat_cnt:  # WeCom returns these only when there was chatting
        row["reply_percentage"] = round(50 + (noise >> 16) % 5000 / 100, 2)
        row["avg_reply_time"] = 1 + (noise >> 20) % 60
    return row


@api("externalcontact/get_user_behavior_data")
def get_user_behavior_data(corp: FakeCorp, args: Args, now: float) -> Out:
    """One row per day; several userids → their aggregate (sums, mean reply figures), as WeCom does."""
    userids = str_list(args, "userid", max_len=100)
    if not userids and not args.get("partyid"):
        raise FakeError(40058, "userid and partyid are both empty")
    for userid in userids:
        corp.require_staff(userid)
    start, end = _stat_range(args, "start_time", "end_time", now)
    out = []
    for day in range(start, end + 1, DAY):
        rows = [behavior_row(corp, u, day) for u in userids]
        agg: dict[str, Any] = {"stat_time": day}
        for key in ("chat_cnt", "message_cnt", "negative_feedback_cnt", "new_apply_cnt", "new_contact_cnt"):
            agg[key] = sum(int(r[key]) for r in rows)
        for key in ("reply_percentage", "avg_reply_time"):
            present = [r[key] for r in rows if key in r]
            if present:
                mean = sum(present) / len(present)
                agg[key] = round(mean, 2) if key == "reply_percentage" else round(mean)
        out.append(agg)
    return {"behavior_data": out}


def complete_transfers(corp: FakeCorp, now: float) -> int:
    """Waiting transfers older than transfer_delay_seconds → done; the follow moves to the takeover member."""
    done = 0
    for t in corp.transfers:
        if t.status == 2 and now - t.requested_at >= corp.transfer_delay_seconds:
            old = corp.remove_follow(t.handover_userid, t.external_userid)
            t.status, t.takeover_time = 1, int(t.requested_at + corp.transfer_delay_seconds)
            fields: Any = (
                {
                    "remark": old.remark,
                    "remark_mobiles": list(old.remark_mobiles),
                    "tag_ids": list(old.tag_ids),
                }
                if old
                else {}
            )
            corp.add_follow(
                t.takeover_userid,
                t.external_userid,
                t.takeover_time,
                add_way=202,
                state=old.state if old else "",
                **fields,
            )
            done += 1
    return done


def _transfer(corp: FakeCorp, args: Args, now: float, *, resigned: bool) -> Out:
    handover = corp.require_staff(req_str(args, "handover_userid"))
    takeover = corp.require_staff(req_str(args, "takeover_userid"))
    if handover.resigned != resigned:
        raise FakeError(40003, f"{handover.userid!r} is {'not ' if resigned else ''}resigned")
    if takeover.resigned:
        raise FakeError(40003, f"takeover {takeover.userid!r} has resigned")
    if len(opt_str(args, "transfer_success_msg")) > 200:
        raise FakeError(40058, "transfer_success_msg exceeds 200 characters")
    out = []
    for ext in str_list(args, "external_userid", max_len=100):
        if ext not in corp.contacts:
            errcode = 40096
        elif corp.follow(handover.userid, ext) is None:
            errcode = 84061
        elif (
            any(t.external_userid == ext and t.status == 2 for t in corp.transfers)
            or sum(1 for t in corp.transfers if t.external_userid == ext and now - t.requested_at < 90 * DAY)
            >= TRANSFERS_PER_90_DAYS
        ):
            errcode = 40128
        else:
            errcode = 0
            corp.transfers.append(FakeTransfer(handover.userid, takeover.userid, ext, now, resigned))
        out.append({"external_userid": ext, "errcode": errcode})
    return {"customer": out}


def _transfer_result(corp: FakeCorp, args: Args, now: float, *, resigned: bool) -> Out:
    complete_transfers(corp, now)
    handover, takeover = req_str(args, "handover_userid"), req_str(args, "takeover_userid")
    latest: dict[str, FakeTransfer] = {}
    for t in corp.transfers:
        if t.handover_userid == handover and t.takeover_userid == takeover and t.resigned == resigned:
            latest[t.external_userid] = t
    chunk, next_cursor = page(list(latest.values()), opt_str(args, "cursor"), 1000)
    return {
        "customer": [
            {"external_userid": t.external_userid, "status": t.status, "takeover_time": t.takeover_time}
            for t in chunk
        ],
        "next_cursor": next_cursor,
    }


@api("externalcontact/transfer_customer")
def transfer_customer(corp: FakeCorp, args: Args, now: float) -> Out:
    """On-job transfer of ≤100 customers; per-customer errcode (40128 = transferred twice in 90 days)."""
    return _transfer(corp, args, now, resigned=False)


@api("externalcontact/resigned/transfer_customer")
def resigned_transfer_customer(corp: FakeCorp, args: Args, now: float) -> Out:
    """Transfer of a resigned member's customers."""
    return _transfer(corp, args, now, resigned=True)


@api("externalcontact/transfer_result")
def transfer_result(corp: FakeCorp, args: Args, now: float) -> Out:
    """Status per customer: 1 done, 2 waiting, 3 refused, 4 takeover full."""
    return _transfer_result(corp, args, now, resigned=False)


@api("externalcontact/resigned/transfer_result")
def resigned_transfer_result(corp: FakeCorp, args: Args, now: float) -> Out:
    """Resigned-transfer results."""
    return _transfer_result(corp, args, now, resigned=True)


def utc_month(ts: float) -> tuple[int, int]:
    """(year, month) of ts in Beijing time, for the monthly mass-send cap."""
    d = datetime.fromtimestamp(ts, UTC).astimezone(CN)
    return d.year, d.month


def receive_window(corp: FakeCorp, ts: float) -> tuple[tuple[int | str, int], int]:
    """(window key, cap) of the corp's 群发 receive rule at ts (Beijing calendar)."""
    # month_days is the default of DOC/92135 (key (year, month), as tests preload corp.receipts with);
    # admins may switch to 7 per ISO week or 1 per day.
    d = datetime.fromtimestamp(ts, UTC).astimezone(CN)
    if corp.receive_rule == "day_1":
        return ("day", d.toordinal()), 1
    if corp.receive_rule == "week_7":
        year, week, _ = d.isocalendar()
        return ("week", year * 100 + week), 7
    if corp.receive_rule != "month_days":
        raise ValueError(f"fake corp: receive_rule {corp.receive_rule!r} is not month_days/week_7/day_1")
    return (d.year, d.month), corp.monthly_cap(d.year, d.month)


@api("externalcontact/get_unassigned_list")
def get_unassigned_list(corp: FakeCorp, args: Args, now: float) -> Out:
    """Customers of resigned members not yet transferred (page_size ≤1000, cursor paged)."""
    waiting = {(t.handover_userid, t.external_userid) for t in corp.transfers if t.status == 2}
    rows = [
        f
        for s in corp.staff.values()
        if s.resigned
        for f in corp.follows_by_user.get(s.userid, {}).values()
        if (f.userid, f.external_userid) not in waiting
    ]
    size = opt_int(args, "page_size", 1000)
    if size < 1 or size > 1000:
        raise FakeError(40058, f"page_size {size} is outside 1..1000")
    chunk, next_cursor = page(rows, opt_str(args, "cursor"), size)
    return {
        "info": [
            {"handover_userid": f.userid, "external_userid": f.external_userid, "dimission_time": 0}
            for f in chunk
        ],
        "is_last": not next_cursor,
        "next_cursor": next_cursor,
    }
