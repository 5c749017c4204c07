"""Activity and service metrics (tasks, moments, greetings, response times): one grouped query per family."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, case, func, or_, select

from siyu.models import ChatMessage, MessageDirection, Staff, StaffTask, TaskStatus
from siyu.performance.repository import (
    Ctx,
    Facts,
    count_if,
    local_second_of_day,
    plus_seconds,
    seconds_between,
)


def task_facts(ctx: Ctx) -> Facts:
    """Per staff: tasks done, moments posts, greetings, tasks due (not cancelled) and done on time."""
    t = StaffTask
    done_in = and_(t.status == TaskStatus.done, t.done_at >= ctx.start, t.done_at < ctx.end)
    due_in = and_(t.due_at >= ctx.start, t.due_at < ctx.end, t.status != TaskStatus.cancelled)
    on_time = and_(due_in, t.status == TaskStatus.done, t.done_at <= t.due_at)

    query = (
        select(
            t.staff_id,
            Staff.unit_id,
            count_if(done_in),
            count_if(and_(done_in, t.kind.in_(ctx.settings.moments_task_kinds))),
            count_if(and_(done_in, t.kind.in_(ctx.settings.greeting_task_kinds))),
            count_if(due_in),
            count_if(on_time),
        )
        .join(Staff, Staff.id == t.staff_id)
        .where(
            or_(
                and_(t.done_at >= ctx.start, t.done_at < ctx.end),
                and_(t.due_at >= ctx.start, t.due_at < ctx.end),
            )
        )
        .group_by(t.staff_id, Staff.unit_id)
    )
    fields = ("tasks_done", "moments_posts", "greetings_sent", "tasks_due", "tasks_on_time")
    rows = [(r[0], r[1], tuple(int(v or 0) for v in r[2:])) for r in ctx.session.execute(query)]
    return Facts(fields, rows)


def message_facts(ctx: Ctx) -> Facts:
    """Per staff: customer messages in working hours, their reply delays, fast replies, unanswered pairs."""
    c = ChatMessage
    window = timedelta(hours=ctx.settings.reply_window_hours)
    pair = (c.staff_id, c.customer_id)
    # The first staff→customer message after each message of the same staff–customer pair.
    next_reply = func.min(case((c.direction == MessageDirection.staff_to_customer, c.sent_at))).over(
        partition_by=pair,
        order_by=(c.sent_at, c.id),
        rows=(1, None),
    )
    thread = (
        select(
            c.staff_id.label("staff_id"),
            c.customer_id.label("customer_id"),
            c.direction.label("direction"),
            c.sent_at.label("sent_at"),
            next_reply.label("reply_at"),
        )
        .where(
            # IN (all staff) lets both databases read the (staff_id, sent_at) index range by range.
            c.staff_id.in_(select(Staff.id)),
            c.customer_id.is_not(None),
            c.direction.in_((MessageDirection.staff_to_customer, MessageDirection.customer_to_staff)),
            c.sent_at >= ctx.start,
            c.sent_at < ctx.end + window,
        )
        .subquery()
    )
    delay = seconds_between(ctx, thread.c.reply_at, thread.c.sent_at)
    # Thresholds compare timestamps, not float seconds, so a reply at exactly 180 s is counted exactly.
    answered = thread.c.reply_at <= plus_seconds(ctx, thread.c.sent_at, int(window.total_seconds()))
    fast = thread.c.reply_at <= plus_seconds(ctx, thread.c.sent_at, ctx.settings.fast_reply_seconds)
    start_s = ctx.settings.work_start.hour * 3600 + ctx.settings.work_start.minute * 60
    end_s = ctx.settings.work_end.hour * 3600 + ctx.settings.work_end.minute * 60
    second = local_second_of_day(ctx, thread.c.sent_at)
    waiting = (
        select(
            thread.c.staff_id.label("staff_id"),
            thread.c.customer_id.label("customer_id"),
            case((answered, delay)).label("delay"),
            case((answered, 0), else_=1).label("unanswered"),
            case((fast, 1), else_=0).label("fast"),
        )
        .where(
            thread.c.direction == MessageDirection.customer_to_staff,
            thread.c.sent_at >= ctx.start,
            thread.c.sent_at < ctx.end,
            second >= start_s,
            second < end_s,
        )
        .subquery()
    )
    query = (
        select(
            waiting.c.staff_id,
            Staff.unit_id,
            func.count(),
            func.count(waiting.c.delay),
            func.sum(waiting.c.delay),
            func.sum(waiting.c.fast),
            func.count(func.distinct(case((waiting.c.unanswered == 1, waiting.c.customer_id)))),
        )
        .join(Staff, Staff.id == waiting.c.staff_id)
        .group_by(waiting.c.staff_id, Staff.unit_id)
    )
    fields = ("customer_msgs", "answered_msgs", "delay_sum", "fast_replies", "unanswered_customers")
    rows = []
    for r in ctx.session.execute(query):
        rows.append((r[0], r[1], (int(r[2]), int(r[3]), float(r[4] or 0.0), int(r[5] or 0), int(r[6]))))
    return Facts(fields, rows)
