"""Behaviour (联系客户统计) and group (群聊统计) snapshots: WeCom keeps 180 days, Siyu keeps the copy."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from siyu.channels.wecom.schemas import WECOM_TZ, epoch_to_day
from siyu.db.bulk import any_of, insert_if_absent
from siyu.models import WecomBehaviorSnapshot, WecomGroupStatSnapshot
from siyu.wecom.contacts import staff_by_userid
from siyu.wecom.sync_service import SyncContext

BEHAVIOUR_DAYS = 180  # how far back WeCom answers
GROUP_STAT_DAYS = 30  # group statistics cost one call per day per 100 owners: a month is enough history
MAX_SPAN = 30  # days per get_user_behavior_data call
OWNERS_PER_CALL = 100


def last_complete_day(now: datetime) -> date:
    """Yesterday in Beijing: WeCom cuts statistics days at Beijing midnight and today is not complete."""
    return now.astimezone(WECOM_TZ).date() - timedelta(days=1)


def missing_ranges(have: set[date], start: date, end: date, span: int = MAX_SPAN) -> list[tuple[date, date]]:
    """Closed ranges of the days in [start, end] not in have, each at most span days long."""
    out: list[tuple[date, date]] = []
    day = start
    while day <= end:
        if day in have:
            day += timedelta(days=1)
            continue
        first = day
        while day <= end and day not in have and (day - first).days < span:
            day += timedelta(days=1)
        out.append((first, day - timedelta(days=1)))
    return out


def _days(start: date, end: date) -> Iterable[date]:
    for n in range((end - start).days + 1):
        yield start + timedelta(days=n)


def _have(
    session: Session, model: type, staff_ids: list[int], start: date, end: date
) -> dict[int, set[date]]:
    rows = session.execute(
        select(model.staff_id, model.day).where(  # type: ignore[attr-defined]
            any_of(session, model.staff_id, staff_ids),  # type: ignore[attr-defined]
            model.day >= start,  # type: ignore[attr-defined]
            model.day <= end,  # type: ignore[attr-defined]
        )
    ).all()
    out: dict[int, set[date]] = {}
    for sid, day in rows:
        out.setdefault(sid, set()).add(day)
    return out


def stage_behaviour(ctx: SyncContext) -> None:
    """get_user_behavior_data once per member (several userids would be summed) for its missing days."""
    s, run = ctx.session, ctx.run
    userids = list(ctx.checkpoint.get("userids", []))
    staff = staff_by_userid(s, userids)
    end = last_complete_day(ctx.clock())
    start = end - timedelta(days=BEHAVIOUR_DAYS - 1)
    have = _have(s, WecomBehaviorSnapshot, [sid for sid, _ in staff.values()], start, end)
    run.progress_total = len(userids)
    for index in range(int(ctx.checkpoint.get("staff_index", 0)), len(userids)):
        userid = userids[index]
        sid = staff[userid][0]
        for first, last in missing_ranges(have.get(sid, set()), start, end):
            rows = ctx.client.get_user_behavior_data([userid], first, last)
            fetched = ctx.clock()
            by_day = {epoch_to_day(r.stat_time): r for r in rows}
            values = []
            # A day WeCom leaves out had no activity: stored as zeros so it is not asked again.
            for day in _days(first, last):
                r = by_day.get(day)
                values.append(
                    {
                        "staff_id": sid,
                        "day": day,
                        "chat_cnt": r.chat_cnt if r else 0,
                        "message_cnt": r.message_cnt if r else 0,
                        "reply_percentage": r.reply_percentage if r else None,
                        "avg_reply_time": r.avg_reply_time if r else None,
                        "negative_feedback_cnt": r.negative_feedback_cnt if r else 0,
                        "new_apply_cnt": r.new_apply_cnt if r else 0,
                        "new_contact_cnt": r.new_contact_cnt if r else 0,
                        "fetched_at": fetched,
                    }
                )
            added = insert_if_absent(s, cast(Table, WecomBehaviorSnapshot.__table__), values, ["id"])
            ctx.count(behaviour_days=len(added))
        run.progress_done = index + 1
        ctx.save(staff_index=index + 1)


def stage_group_stats(ctx: SyncContext) -> None:
    """groupchat/statistic per day for 100 owners at a time, over the missing days of the last month."""
    s, run = ctx.session, ctx.run
    userids = list(ctx.checkpoint.get("userids", []))
    staff = staff_by_userid(s, userids)
    end = last_complete_day(ctx.clock())
    start = end - timedelta(days=GROUP_STAT_DAYS - 1)
    chunks = [userids[i : i + OWNERS_PER_CALL] for i in range(0, len(userids), OWNERS_PER_CALL)]
    run.progress_total = len(chunks) * GROUP_STAT_DAYS
    for chunk in chunks:
        sids = [staff[u][0] for u in chunk]
        have = _have(s, WecomGroupStatSnapshot, sids, start, end)
        for day in _days(start, end):
            # The stored days are the checkpoint: a resumed run skips them.
            if all(day in have.get(sid, ()) for sid in sids):
                run.progress_done = (run.progress_done or 0) + 1
                continue
            data = {}
            offset = 0
            while True:
                page = ctx.client.group_chat_statistic(day, day, chunk, offset=offset)
                data.update({item.owner: item.data for item in page.items})
                if not page.items or not page.next_offset or page.next_offset >= page.total:
                    break
                offset = page.next_offset
            fetched = ctx.clock()
            values = []
            for userid in chunk:
                d = data.get(userid)
                values.append(
                    {
                        "staff_id": staff[userid][0],
                        "day": day,
                        "new_chat_cnt": d.new_chat_cnt if d else 0,
                        "chat_total": d.chat_total if d else 0,
                        "chat_has_msg": d.chat_has_msg if d else 0,
                        "new_member_cnt": d.new_member_cnt if d else 0,
                        "member_total": d.member_total if d else 0,
                        "member_has_msg": d.member_has_msg if d else 0,
                        "msg_total": d.msg_total if d else 0,
                        "fetched_at": fetched,
                    }
                )
            added = insert_if_absent(s, cast(Table, WecomGroupStatSnapshot.__table__), values, ["id"])
            ctx.count(group_stat_days=len(added))
            run.progress_done = (run.progress_done or 0) + 1
            ctx.save()
